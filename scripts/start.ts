// `npm start`: builds the site and serves it on http://localhost:4321 with everything a demo needs,
// on an embedded local store, with no account or key: without STRIPE_SECRET_KEY it also runs the
// local Stripe stand-in and points the site at it. Each step is a child process so that it runs
// exactly as it would by hand.
import { createSupervisor } from './dev-processes.ts';

const host = process.env.HOST ?? 'localhost';
const port = process.env.PORT ?? '4321';
// Links in emails and Stripe's return addresses follow the port the demo runs on.
const env: NodeJS.ProcessEnv = { ...process.env, ASTRO_TELEMETRY_DISABLED: '1', HOST: host, PORT: port, SITE_URL: process.env.SITE_URL ?? `http://${host}:${port}` };
const { run, serve, startStripeStandin } = createSupervisor(env);

if (!process.argv.includes('--no-build')) await run(['node_modules/astro/bin/astro.mjs', 'build']);
// The store is created and brought up to date before the server, which refuses an unmigrated one.
await run(['scripts/migrate.ts']);
// The paid lessons of the build go into the store, from which the lesson gate serves them.
await run(['scripts/content-sync.ts']);
let standinUrl: string | undefined;
if (!env.STRIPE_SECRET_KEY) {
  const standin = await startStripeStandin(`http://${host}:${port}/api/stripe/webhook`);
  standinUrl = standin.url;
  Object.assign(env, standin.settings);
}
serve(['src/node/server.ts']);
console.log(`\n  Course site: http://${host}:${port}/`);
if (standinUrl) console.log(`  Stripe stand-in (no real payments; refunds and disputes): ${standinUrl}/`);
console.log('');
