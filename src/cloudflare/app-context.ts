// What only workerd has, for the core's createAppContext (src/server/app-context.ts): the store (the
// D1 binding `DB`, or a remote libSQL server when DATABASE_URL names one), mail through the
// send_email binding `EMAIL` or, in development, to the log. The bindings and settings come from
// wrangler.jsonc (vars, secrets, bindings).
//
// Everything here is made for one request and dropped with it (worker.ts): workerd does not let a
// request use an I/O object, or wait for a promise, that another request created.
import { createClient } from '@libsql/client/web';
import { drizzle as drizzleLibsql } from 'drizzle-orm/libsql/web';
import { ConfigError, type Config, type Env } from '../server/config.ts';
import type { Db } from '../server/context.ts';
import * as schema from '../server/db/schema.ts';
import type { Mailer } from '../server/email/mailer.ts';
import type { Log } from '../server/log.ts';
import { openD1Store, type D1Binding } from './d1-store.ts';

/** Cloudflare's send_email binding, as much of it as we use (the Email Service's message form). */
export type SendEmailBinding = {
  send(message: { from: string | { email: string; name: string }; to: string; subject: string; text: string; html: string }): Promise<unknown>;
};

/** The Worker's bindings (wrangler.jsonc): D1 as DB, the static files as ASSETS, send_email as EMAIL, and the settings as strings. */
export type WorkerEnv = Record<string, unknown> & {
  DB?: unknown;
  EMAIL?: unknown;
  ASSETS: { fetch(input: Request | string | URL, init?: RequestInit): Promise<Response> };
};

/** The plain-text settings among the bindings (vars and secrets are strings; D1, ASSETS and EMAIL are not). */
export function settingsOf(env: WorkerEnv): Env {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** Refuses at start what would fail at the first email or query: a missing binding. */
export function checkBindings(env: WorkerEnv, config: Config): void {
  const problems: string[] = [];
  if (config.sendEmailBinding && !env.EMAIL) problems.push('EMAIL: EMAIL_PROVIDER is cloudflare; bind send_email as EMAIL (wrangler.jsonc)');
  if (!remoteStoreUrl(config) && !env.DB) problems.push('DB: bind a D1 database as DB (wrangler.jsonc) or set DATABASE_URL to a libsql:// or https:// store');
  if (problems.length > 0) throw new ConfigError(problems);
}

function remoteStoreUrl(config: Config): string | null {
  return /^(libsql|https?|wss?):/.test(config.databaseUrl) ? config.databaseUrl : null;
}

export function describeWorkersStore(config: Config): string {
  return remoteStoreUrl(config)?.replace(/\?.*$/, '') ?? 'd1';
}

/** The store for one request. */
export function openWorkersStore(env: WorkerEnv, config: Config): Db {
  const url = remoteStoreUrl(config);
  if (url) {
    const client = createClient({ url, ...(config.databaseAuthToken ? { authToken: config.databaseAuthToken } : {}) });
    return drizzleLibsql(client, { schema }) as unknown as Db;
  }
  return openD1Store(env.DB as D1Binding);
}

/** `Name <address>` or a bare address, as the Email Service takes a sender. */
export function senderOf(mailFrom: string): string | { email: string; name: string } {
  const match = /^\s*"?([^"<]*?)"?\s*<([^<>\s]+)>\s*$/.exec(mailFrom);
  return match ? (match[1] ? { name: match[1], email: match[2]! } : match[2]!) : mailFrom.trim();
}

/**
 * Mail through Cloudflare's Email Service (the send_email binding): no API key, the sending domain
 * verified in the Cloudflare dashboard. `wrangler dev` sends nothing: it logs the message and
 * writes its text and HTML to files, which the tests read.
 */
export function createSendEmailMailer(binding: SendEmailBinding, mailFrom: string): Mailer {
  const from = senderOf(mailFrom);
  return {
    async send(message) {
      await binding.send({ from, to: message.to, subject: message.subject, text: message.text, html: message.html });
    },
  };
}

/**
 * Development without an email transport: the message is written to the log (wrangler's console),
 * with its first link, as the Node outbox prints it. Production refuses to start without one.
 */
export function createLogMailer(log: Log): Mailer {
  return {
    async send(message) {
      log.info('mail.not-sent', { to: message.to, subject: message.subject, link: /https?:\/\/\S+/.exec(message.text)?.[0] ?? null });
    },
  };
}
