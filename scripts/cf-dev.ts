// `npm run cf:dev`: the site as Cloudflare runs it, on this machine: builds for the Worker (astro
// build, then what cf-build.ts adds), migrates the local D1 and loads the build's content into it
// with the same migrations and content sync as production, then runs `wrangler dev` (workerd, the
// Worker with its static assets) on HOST:PORT (default localhost:8787). Without STRIPE_SECRET_KEY
// it also runs the Stripe stand-in and points the Worker at it, like `npm start`. Mail without
// EMAIL_PROVIDER is written to the log with its link; EMAIL_PROVIDER=cloudflare tries the
// send_email binding, which wrangler simulates (it logs each message and writes its text to a file).
import { join, resolve } from 'node:path';
import { readNodeEnv } from '../src/node/env.ts';
import { distDirOf, listenAddress } from '../src/server/config.ts';
import { createSupervisor, ROOT } from './dev-processes.ts';

const shell = readNodeEnv();
const host = shell.HOST || 'localhost';
const port = shell.PORT || '8787';
const env: NodeJS.ProcessEnv = {
  ...shell,
  ASTRO_TELEMETRY_DISABLED: '1',
  WRANGLER_SEND_METRICS: 'false',
  // Request.cf (the visitor's country and such) is nothing the site uses; fetching it costs seconds.
  CLOUDFLARE_CF_FETCH_ENABLED: shell.CLOUDFLARE_CF_FETCH_ENABLED ?? 'false',
  SITE_URL: shell.SITE_URL || listenAddress(host, port),
};
// Without a key the stand-in runs (below); the build's pages must let the buy form reach its checkout page.
if (!env.STRIPE_SECRET_KEY) env.STRIPE_API_BASE = `http://127.0.0.1:${env.STANDIN_PORT ?? '12111'}`;
const dist = resolve(distDirOf(env));
const { run, serve, startStripeStandin, stop } = createSupervisor(env);

// The build is the long step. What does not need it runs meanwhile: loading wrangler and the
// store's code (seconds of compiling), starting the local D1 (a workerd) and migrating it, and the
// Stripe stand-in. Only the content sync and `wrangler dev` wait for the build's output.
const build = process.argv.includes('--no-build') ? Promise.resolve() : run([`${ROOT}/node_modules/astro/bin/astro.mjs`, 'build', '--outDir', dist]);
build.catch(() => {}); // awaited below, after the D1 is open
const standin = env.STRIPE_SECRET_KEY ? undefined : startStripeStandin(`http://${host}:${port}/api/stripe/webhook`);
standin?.catch(() => {});
let stripeStandin: Awaited<typeof standin>;
try {
  const [{ finishCloudflareBuild }, { migrateD1, openD1, readBundleForD1 }, { formatSummary, syncContent }] = await Promise.all([
    import('./cf-build.ts'),
    import('./cf-d1.ts'),
    import('../src/server/content/sync.ts'),
  ]);
  // What `npm run db:migrate -- --d1 local`, `npm run cf:build` and `npm run content:sync -- --d1
  // local` do, on one opening of the local D1 (each opening starts workerd: seconds).
  const d1 = await openD1({ remote: false });
  try {
    const applied = await migrateD1(d1.db);
    await build;
    finishCloudflareBuild(dist, env.STRIPE_API_BASE || undefined);
    const summary = await syncContent(d1.db, await readBundleForD1(join(dist, 'private')), Date.now());
    console.log(`Store ${d1.describe}: ${applied} migration(s) applied; content synced:\n${formatSummary(summary)}`);
  } finally {
    await d1.close();
  }
  stripeStandin = await standin;
} catch (error) {
  console.error(`npm run cf:dev: ${error instanceof Error ? error.message : String(error)}`);
  stop(1);
  process.exit(1);
}

// The settings the Worker gets locally: wrangler.jsonc's production vars are overridden for
// development; anything set in the shell (or .dev.vars) is passed on.
const vars: Record<string, string> = { NODE_ENV: env.NODE_ENV ?? 'development', SITE_URL: env.SITE_URL!, EMAIL_PROVIDER: env.EMAIL_PROVIDER ?? '' };
for (const name of [
  'SESSION_SECRET',
  'EMAIL_API_KEY',
  'EMAIL_API_URL',
  'MAIL_FROM',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'STRIPE_API_BASE',
  'PASSWORD_ITERATIONS',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'DATABASE_URL',
  'DATABASE_AUTH_TOKEN',
]) {
  if (env[name] !== undefined) vars[name] = env[name]!;
}
let standinUrl: string | undefined;
if (stripeStandin) {
  standinUrl = stripeStandin.url;
  Object.assign(vars, stripeStandin.settings);
}
const args = ['node_modules/wrangler/bin/wrangler.js', 'dev', '--ip', host, '--port', port];
for (const [name, value] of Object.entries(vars)) args.push('--var', `${name}:${value}`);
serve(args);
console.log(`\n  Course site on wrangler dev: http://${host}:${port}/`);
if (standinUrl) console.log(`  Stripe stand-in (no real payments): ${standinUrl}/`);
console.log('');
