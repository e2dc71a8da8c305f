// The AppContext of a Workers isolate, built from the Pages environment on the first request and
// kept for the isolate's life: the store (the D1 binding `DB`, or a remote libSQL server when
// DATABASE_URL names one), the settings parsed by the same schema as on Node (with the Workers
// rules: no SMTP, no files), mail through an HTTP email API, Stripe with fetch and SubtleCrypto.
import { createClient } from '@libsql/client/web';
import { drizzle as drizzleLibsql } from 'drizzle-orm/libsql/web';
import { ConfigError, DEFAULT_PASSWORD_ITERATIONS, parseConfig, type Env } from '../server/config.ts';
import type { AppContext, Db } from '../server/context.ts';
import { openD1Store, type D1Binding } from './d1-store.ts';
import * as schema from '../server/db/schema.ts';
import { createHttpMailer } from '../server/email/http-mailer.ts';
import type { Mailer } from '../server/email/mailer.ts';
import { parsePageShell } from '../server/http/page-shell.ts';
import { createLog, type Log } from '../server/log.ts';
import { createStripeClient } from '../server/payments/stripe.ts';

/** The bindings of the Pages project (wrangler.toml): D1 as DB, the static files as ASSETS. */
export type PagesEnv = Record<string, unknown> & {
  DB?: unknown;
  ASSETS: { fetch(input: Request | string | URL, init?: RequestInit): Promise<Response> };
};

/** The plain-text settings among the bindings (vars and secrets are strings; D1 and ASSETS are not). */
export function settingsOf(env: PagesEnv): Env {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

export type WorkersStore = 'd1' | 'libsql';

export function openWorkersStore(env: PagesEnv, settings: Env): { db: Db; kind: WorkersStore } {
  const url = settings.DATABASE_URL;
  if (url && /^(libsql|https?|wss?):/.test(url)) {
    const client = createClient({ url, ...(settings.DATABASE_AUTH_TOKEN ? { authToken: settings.DATABASE_AUTH_TOKEN } : {}) });
    return { db: drizzleLibsql(client, { schema }) as unknown as Db, kind: 'libsql' };
  }
  if (!env.DB) throw new ConfigError(['DB: bind a D1 database as DB (wrangler.toml) or set DATABASE_URL to a libsql:// or https:// store']);
  return { db: openD1Store(env.DB as D1Binding), kind: 'd1' };
}

/**
 * Development without an email API: the message is written to the log (wrangler's console), with
 * its first link, as the Node outbox prints it. Production refuses to start without an API.
 */
function logMailer(log: Log): Mailer {
  return {
    async send(message) {
      log.info('mail.not-sent', { to: message.to, subject: message.subject, link: /https?:\/\/\S+/.exec(message.text)?.[0] ?? null });
    },
  };
}

export function createWorkersAppContext(env: PagesEnv, shellHtml: string): AppContext {
  const settings = settingsOf(env);
  const config = parseConfig(settings, { runtime: 'workers' });
  const clock = { now: () => Date.now() };
  const log = createLog({ level: config.logLevel, format: config.logFormat }, clock.now);
  const { db, kind } = openWorkersStore(env, settings);
  const mailer = config.emailApi ? createHttpMailer(config.emailApi, config.mailFrom) : logMailer(log);
  const stripe = config.stripe ? createStripeClient(config.stripe) : null;
  if (config.passwordIterations < DEFAULT_PASSWORD_ITERATIONS) {
    log.warn('config.weak-password-hashing', { iterations: config.passwordIterations, default: DEFAULT_PASSWORD_ITERATIONS });
  }
  const shell = parsePageShell(shellHtml);
  log.info('app.ready', {
    env: config.env,
    runtime: 'workers',
    store: kind === 'd1' ? 'd1' : config.databaseUrl.replace(/\?.*$/, ''),
    mail: config.emailApi?.provider ?? 'log',
    stripe: config.stripe ? (config.stripe.apiBase?.origin ?? 'api.stripe.com') : 'off',
  });
  return { db, config, mailer, stripe, clock, log, pageShell: async () => shell };
}
