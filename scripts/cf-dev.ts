// `npm run cf:dev`: the site as Cloudflare Pages runs it, on this machine: builds for Pages
// (cf-build.ts), migrates the local D1 and loads the build's content into it with the same
// migrations and content sync as production, then runs `wrangler pages dev` on HOST:PORT
// (default localhost:8788). Without STRIPE_SECRET_KEY it also runs the Stripe stand-in and points
// the function at it, like `npm start`. Mail without EMAIL_PROVIDER is written to the log.
import { readNodeEnv } from '../src/node/env.ts';
import { listenAddress } from '../src/server/config.ts';
import { createSupervisor } from './dev-processes.ts';

const shell = readNodeEnv();
const host = shell.HOST || 'localhost';
const port = shell.PORT || '8788';
const env: NodeJS.ProcessEnv = { ...shell, ASTRO_TELEMETRY_DISABLED: '1', WRANGLER_SEND_METRICS: 'false', SITE_URL: shell.SITE_URL || listenAddress(host, port) };
const { run, serve, startStripeStandin } = createSupervisor(env);

await run(['scripts/cf-build.ts', ...(process.argv.includes('--no-build') ? ['--no-build'] : [])]);
await run(['scripts/migrate.ts', '--d1', 'local']);
await run(['scripts/content-sync.ts', '--d1', 'local']);

// The settings the function gets locally: wrangler.toml's production [vars] are overridden for
// development; anything set in the shell (or .dev.vars) is passed on.
const bindings: Record<string, string> = { NODE_ENV: env.NODE_ENV ?? 'development', SITE_URL: env.SITE_URL!, EMAIL_PROVIDER: env.EMAIL_PROVIDER ?? '' };
for (const name of ['SESSION_SECRET', 'EMAIL_API_KEY', 'EMAIL_API_URL', 'MAIL_FROM', 'STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'STRIPE_API_BASE', 'PASSWORD_ITERATIONS', 'LOG_LEVEL', 'LOG_FORMAT', 'DATABASE_URL', 'DATABASE_AUTH_TOKEN']) {
  if (env[name] !== undefined) bindings[name] = env[name]!;
}
let standinUrl: string | undefined;
if (!bindings.STRIPE_SECRET_KEY) {
  const standin = await startStripeStandin(`http://${host}:${port}/api/stripe/webhook`);
  standinUrl = standin.url;
  Object.assign(bindings, standin.settings);
}
const args = ['node_modules/wrangler/bin/wrangler.js', 'pages', 'dev', '--ip', host, '--port', port];
for (const [name, value] of Object.entries(bindings)) args.push('--binding', `${name}=${value}`);
serve(args);
console.log(`\n  Course site on wrangler pages dev: http://${host}:${port}/`);
if (standinUrl) console.log(`  Stripe stand-in (no real payments): ${standinUrl}/`);
console.log('');
