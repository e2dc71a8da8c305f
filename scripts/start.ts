// `npm start`: builds the site and serves it on http://localhost:4321 with everything a demo needs,
// on an embedded local store, with no account or key: without STRIPE_SECRET_KEY it also runs the
// local Stripe stand-in and points the site at it. Each step is a child process so that it runs
// exactly as it would by hand.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const host = process.env.HOST ?? 'localhost';
const port = process.env.PORT ?? '4321';
// Links in emails and Stripe's return addresses follow the port the demo runs on.
const env: NodeJS.ProcessEnv = { ...process.env, ASTRO_TELEMETRY_DISABLED: '1', HOST: host, PORT: port, SITE_URL: process.env.SITE_URL ?? `http://${host}:${port}` };
const children = new Set<ChildProcess>();

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

function serve(command: string, args: string[], stdio: StdioOptions = 'inherit'): ChildProcess {
  const child = spawn(command, args, { stdio, env });
  children.add(child);
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (!stopping) {
      console.error(`${command} ${args.join(' ')} stopped (${signal ?? code}); stopping everything`);
      stop(1);
    }
  });
  return child;
}

let stopping = false;
function stop(code = 0) {
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  process.exitCode = code;
}
process.on('SIGINT', () => stop());
process.on('SIGTERM', () => stop());

if (!process.argv.includes('--no-build')) await run(process.execPath, ['node_modules/astro/bin/astro.mjs', 'build']);
// The store is created and brought up to date before the server, which refuses an unmigrated one.
await run(process.execPath, ['scripts/migrate.ts']);
// The paid lessons of the build go into the store, from which the lesson gate serves them.
await run(process.execPath, ['scripts/content-sync.ts']);
let standinUrl: string | undefined;
if (!env.STRIPE_SECRET_KEY) {
  const port = env.STANDIN_PORT ?? '12111';
  standinUrl = `http://127.0.0.1:${port}`;
  // A fresh signing secret each start: both processes get it from here, nobody else knows it.
  const webhookSecret = `whsec_${randomBytes(24).toString('hex')}`;
  Object.assign(env, { STRIPE_SECRET_KEY: 'sk_test_local_standin', STRIPE_API_BASE: standinUrl, STRIPE_WEBHOOK_SECRET: webhookSecret });
  const standin = serve(process.execPath, [
    'scripts/stripe-standin.ts',
    '--port', port,
    '--webhook-url', `http://${env.HOST}:${env.PORT}/api/stripe/webhook`,
    '--webhook-secret', webhookSecret,
    '--state', 'data/stripe-standin.json',
  ], ['ignore', 'pipe', 'inherit']);
  // Wait for its "listening" line, so the first checkout never meets a closed port.
  standin.stdout!.pipe(process.stdout);
  await new Promise<void>((resolve) => standin.stdout!.once('data', () => resolve()));
}
serve(process.execPath, ['src/node/server.ts']);
console.log(`\n  Course site: http://${env.HOST}:${env.PORT}/`);
if (standinUrl) console.log(`  Stripe stand-in (no real payments; refunds and disputes): ${standinUrl}/`);
console.log('');
