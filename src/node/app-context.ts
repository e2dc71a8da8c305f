// The AppContext of a Node process, built once on first use and shared by every Astro page and
// endpoint. Refuses to exist with a bad configuration or an unmigrated store.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { mailTransportOf, parseConfig } from '../server/config.ts';
import type { AppContext } from '../server/context.ts';
import { DEFAULT_PASSWORD_ITERATIONS } from '../server/config.ts';
import { parsePageShell } from '../server/http/page-shell.ts';
import { createHttpMailer } from '../server/email/http-mailer.ts';
import { createLog } from '../server/log.ts';
import { createStripeClient } from '../server/payments/stripe.ts';
import { readNodeEnv } from './env.ts';
import { createOutboxMailer, createSmtpMailer } from './mailers.ts';
import { assertMigrated } from './migrations.ts';
import { openStore } from './store.ts';

// The Node entry and the Astro bundle each have their own copy of this module; the entry's
// context is handed over through a global symbol so the process has one store connection.
const SHARED = Symbol.for('course-store.app-context');
type Shared = { [SHARED]?: AppContext };

let context: Promise<AppContext> | undefined;

export function shareAppContext(app: AppContext): void {
  (globalThis as Shared)[SHARED] = app;
}

export type NodeAppContext = { app: AppContext; close(): void };

export async function createNodeAppContext(env = readNodeEnv()): Promise<NodeAppContext> {
  const config = parseConfig(env);
  const clock = { now: () => Date.now() };
  const log = createLog({ level: config.logLevel, format: config.logFormat }, clock.now);
  const store = await openStore(config.databaseUrl, config.databaseAuthToken, config.databaseSyncUrl);
  try {
    await assertMigrated(store.client);
  } catch (error) {
    store.close();
    throw error;
  }
  const transport = mailTransportOf(config);
  const mailer =
    transport === 'smtp'
      ? createSmtpMailer(config.smtpUrl!, config.mailFrom)
      : transport === 'email-api'
        ? createHttpMailer(config.emailApi!, config.mailFrom)
        : createOutboxMailer(config.mailFrom);
  if (config.passwordIterations < DEFAULT_PASSWORD_ITERATIONS) {
    log.warn('config.weak-password-hashing', { iterations: config.passwordIterations, default: DEFAULT_PASSWORD_ITERATIONS });
  }
  const stripe = config.stripe ? createStripeClient(config.stripe) : null;
  if (!config.stripe) log.warn('config.payments-off', { hint: 'set STRIPE_SECRET_KEY (npm start runs a local Stripe stand-in)' });
  log.info('app.ready', {
    env: config.env,
    store: config.databaseUrl.replace(/\?.*$/, ''),
    mail: transport,
    stripe: config.stripe ? (config.stripe.apiBase?.origin ?? 'api.stripe.com') : 'off',
  });
  const pageShell = loadOnce(async () => parsePageShell(await readFile(resolve(env.DIST_DIR ?? 'dist', 'private/shell.html'), 'utf8')));
  return { app: { db: store.db, config, mailer, stripe, clock, log, pageShell }, close: () => store.close() };
}

/** Loads something once; a failure is not kept, so the next request tries again. */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
}

/**
 * The process's context. A failure (configuration, store) is not cached as a success, but it is
 * reported loudly: the log names what to fix.
 */
export function getAppContext(): Promise<AppContext> {
  const shared = (globalThis as Shared)[SHARED];
  if (shared) return Promise.resolve(shared);
  context ??= createNodeAppContext().then(({ app }) => app, (error: unknown) => {
    context = undefined;
    console.error(error instanceof Error ? error.message : error);
    throw error;
  });
  return context;
}
