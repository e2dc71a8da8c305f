/**
 * Stripe stand-in: a local process that speaks the slice of Stripe's REST API
 * this site uses, so the unmodified `stripe` SDK (pointed at it through
 * `host`/`port`/`protocol`) can run checkout, webhooks, refunds and disputes
 * offline and deterministically. Also serves a hosted checkout page, a small
 * index page for people running the demo, and a `/_standin/` control API for
 * tests. See docs/stripe-standin.md; the modules are in scripts/stripe-standin/.
 *
 * This file is the command (`node scripts/stripe-standin.ts --port …`) and the
 * one import path for tests and tools. Only node:* built-ins (and the .env
 * reader) are used, here and in the folder, so it runs with plain `node` (type
 * stripping) before `npm install` has anything to do with it.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { readNodeEnv } from '../src/node/env.ts';
import { DEMO_PROMOTION_CODES } from './stripe-standin/promotions.ts';
import { DEFAULT_PORT, startStripeStandin } from './stripe-standin/server.ts';

export { formatAmount } from './stripe-standin/currencies.ts';
export { DEMO_PROMOTION_CODES } from './stripe-standin/promotions.ts';
export { DEFAULT_PORT, startStripeStandin, type StripeStandin } from './stripe-standin/server.ts';
export { DEFAULT_API_VERSION, type ApiRequest, type Delivery, type SeedPromotionCode, type StandinOptions, type StripeEvent } from './stripe-standin/state.ts';

async function main(argv: string[]): Promise<void> {
  const env = readNodeEnv();
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'public-url': { type: 'string' },
      'webhook-url': { type: 'string', multiple: true },
      'webhook-secret': { type: 'string' },
      state: { type: 'string' },
      'api-version': { type: 'string' },
      'no-demo-codes': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`usage: node scripts/stripe-standin.ts [--port 12111] [--host 127.0.0.1] [--public-url URL]
  [--webhook-url URL]... [--webhook-secret whsec_...] [--state data/stripe-standin.json] [--api-version V]
  [--no-demo-codes]  (without it, the promotion code LAUNCH20 (20% off) exists from the start)
env: STANDIN_PORT STANDIN_HOST STANDIN_PUBLIC_URL STANDIN_WEBHOOK_URL (comma-separated) STRIPE_WEBHOOK_SECRET STANDIN_STATE
`);
    return;
  }
  const portText = values.port ?? env.STANDIN_PORT ?? String(DEFAULT_PORT);
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${portText}`);
  const webhookUrls =
    values['webhook-url'] ??
    (env.STANDIN_WEBHOOK_URL ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const standin = await startStripeStandin({
    port,
    host: values.host ?? env.STANDIN_HOST ?? '127.0.0.1',
    publicUrl: values['public-url'] ?? env.STANDIN_PUBLIC_URL,
    webhookUrls,
    webhookSecret: values['webhook-secret'] ?? env.STRIPE_WEBHOOK_SECRET,
    statePath: values.state ?? env.STANDIN_STATE,
    apiVersion: values['api-version'],
    log: (line) => process.stderr.write(`stripe stand-in: ${line}\n`),
    promotionCodes: values['no-demo-codes'] ? [] : DEMO_PROMOTION_CODES,
  });
  process.stdout.write(`stripe stand-in listening on ${standin.url}\n`);
  const stop = () => {
    standin.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

const isEntry = import.meta.main ?? (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href);
if (isEntry) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`stripe stand-in: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
