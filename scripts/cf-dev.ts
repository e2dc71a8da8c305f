// `npm run cf:dev`: the site as Cloudflare Pages runs it, on this machine: builds for Pages
// (cf-build.ts), migrates the local D1 and loads the build's content into it with the same
// migrations and content sync as production, then runs `wrangler pages dev` on HOST:PORT
// (default localhost:8788). Without STRIPE_SECRET_KEY it also runs the Stripe stand-in and points
// the function at it, like `npm start`. Mail without EMAIL_PROVIDER is written to the log.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const host = process.env.HOST ?? 'localhost';
const port = process.env.PORT ?? '8788';
const env: NodeJS.ProcessEnv = { ...process.env, ASTRO_TELEMETRY_DISABLED: '1', WRANGLER_SEND_METRICS: 'false', SITE_URL: process.env.SITE_URL ?? `http://${host}:${port}` };
const children = new Set<ChildProcess>();
let stopping = false;

function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit', env });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited with ${code}`))));
  });
}

function serve(args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
  children.add(child);
  child.stdout!.pipe(process.stdout);
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (!stopping) {
      console.error(`${args.join(' ')} stopped (${signal ?? code}); stopping everything`);
      stop(1);
    }
  });
  return child;
}

function stop(code = 0) {
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  process.exitCode = code;
}
process.on('SIGINT', () => stop());
process.on('SIGTERM', () => stop());

await run(['scripts/cf-build.ts', ...(process.argv.includes('--no-build') ? ['--no-build'] : [])]);
await run(['scripts/migrate.ts', '--d1', 'local']);
await run(['scripts/content-sync.ts', '--d1', 'local']);

// The settings the function gets locally: wrangler.toml's production [vars] are overridden for
// development; anything set in the shell (or .dev.vars) is passed on.
const bindings: Record<string, string> = { NODE_ENV: env.NODE_ENV ?? 'development', SITE_URL: env.SITE_URL!, EMAIL_PROVIDER: env.EMAIL_PROVIDER ?? '' };
for (const name of ['SESSION_SECRET', 'EMAIL_API_KEY', 'EMAIL_API_URL', 'MAIL_FROM', 'STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'STRIPE_API_BASE', 'PASSWORD_ITERATIONS', 'LOG_LEVEL', 'DATABASE_URL', 'DATABASE_AUTH_TOKEN']) {
  if (env[name] !== undefined) bindings[name] = env[name]!;
}
let standinUrl: string | undefined;
if (!bindings.STRIPE_SECRET_KEY) {
  const standinPort = env.STANDIN_PORT ?? '12111';
  standinUrl = `http://127.0.0.1:${standinPort}`;
  const webhookSecret = `whsec_${randomBytes(24).toString('hex')}`;
  Object.assign(bindings, { STRIPE_SECRET_KEY: 'sk_test_local_standin', STRIPE_API_BASE: standinUrl, STRIPE_WEBHOOK_SECRET: webhookSecret });
  const standin = serve(['scripts/stripe-standin.ts', '--port', standinPort, '--webhook-url', `http://${host}:${port}/api/stripe/webhook`, '--webhook-secret', webhookSecret, '--state', 'data/stripe-standin.json']);
  await new Promise<void>((resolve) => standin.stdout!.once('data', () => resolve()));
}
const args = ['node_modules/wrangler/bin/wrangler.js', 'pages', 'dev', '--ip', host, '--port', port];
for (const [name, value] of Object.entries(bindings)) args.push('--binding', `${name}=${value}`);
serve(args);
console.log(`\n  Course site on wrangler pages dev: http://${host}:${port}/`);
if (standinUrl) console.log(`  Stripe stand-in (no real payments): ${standinUrl}/`);
console.log('');
