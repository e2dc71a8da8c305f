// `npm start`: builds the site and serves it on http://localhost:4321 with everything a demo needs,
// on an embedded local store, with no account or key: without STRIPE_SECRET_KEY it also runs the
// local Stripe stand-in and points the site at it. Each step is a child process so that it runs
// exactly as it would by hand, with the settings of the shell over those of .env.
import { readNodeEnv } from '../src/node/env.ts';
import { listenAddress } from '../src/server/config.ts';
import { createSupervisor, ROOT } from './dev-processes.ts';

const shell = readNodeEnv();
const host = shell.HOST || 'localhost';
const port = shell.PORT || '4321';
// Links in emails and Stripe's return addresses follow the port the demo runs on (the rule is
// src/server/config.ts's, which the steps apply themselves).
const env: NodeJS.ProcessEnv = { ...shell, ASTRO_TELEMETRY_DISABLED: '1', HOST: host, PORT: port };
const { run, serve, startStripeStandin } = createSupervisor(env);

if (!process.argv.includes('--no-build')) await run([`${ROOT}/node_modules/astro/bin/astro.mjs`, 'build']);
// The store is created and brought up to date before the server, which refuses an unmigrated one.
await run([`${ROOT}/scripts/migrate.ts`]);
// The paid lessons of the build go into the store, from which the lesson gate serves them.
await run([`${ROOT}/scripts/content-sync.ts`]);
let standinUrl: string | undefined;
if (!env.STRIPE_SECRET_KEY) {
  const standin = await startStripeStandin(new URL('/api/stripe/webhook', listenAddress(host, port)).href);
  standinUrl = standin.url;
  Object.assign(env, standin.settings);
}
serve([`${ROOT}/src/node/server.ts`]);
console.log(`\n  Course site: ${env.SITE_URL || `${listenAddress(host, port)}/`}`);
if (standinUrl) console.log(`  Stripe stand-in (no real payments; refunds and disputes): ${standinUrl}/`);
console.log('');
