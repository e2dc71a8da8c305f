// The AppContext, built the same way for Node, for the Worker and for tests: the settings parsed by
// the one schema, the clock and the log, Stripe over fetch, the mail transport the settings name.
// An adapter passes in only what its runtime alone has: the opened store, its own mail transports
// (SMTP and the outbox folder on Node; the send_email binding and the log on Workers) and where
// the page shell comes from.
//
// A newcomer changes this file to add something every handler needs; a runtime's detail belongs
// in src/node/app-context.ts or src/cloudflare/worker.ts.
import { DEFAULT_PASSWORD_ITERATIONS, mailTransportOf, parseConfig, type Config, type Env, type MailTransport, type Runtime } from './config.ts';
import type { AppContext, Clock, Db } from './context.ts';
import { createHttpMailer } from './email/http-mailer.ts';
import type { Mailer } from './email/mailer.ts';
import type { PageShell } from './http/page-shell.ts';
import { createLog, type Log } from './log.ts';
import { createStripeClient } from './payments/stripe.ts';

/** What lasts as long as the process or isolate: plain data only, never an I/O object. */
export type AppBasics = { config: Config; clock: Clock; log: Log };

export function createAppBasics(env: Env, runtime: Runtime): AppBasics {
  const config = parseConfig(env, { runtime });
  const clock = { now: () => Date.now() };
  return { config, clock, log: createLog({ level: config.logLevel, format: config.logFormat }, clock.now) };
}

export type RuntimeParts = {
  db: Db;
  /** The runtime's own transports; the HTTP email API is the core's and needs none. */
  mailers: Partial<Record<Exclude<MailTransport, 'email-api'>, () => Mailer>>;
  pageShell(): Promise<PageShell>;
  replica?: AppContext['replica'];
  isStoreUnreachable?: AppContext['isStoreUnreachable'];
};

export function createAppContext(basics: AppBasics, parts: RuntimeParts): AppContext {
  const { config } = basics;
  const transport = mailTransportOf(config);
  let mailer: Mailer;
  if (transport === 'email-api') mailer = createHttpMailer(config.emailApi!, config.mailFrom);
  else {
    const make = parts.mailers[transport];
    if (!make) throw new Error(`mail transport ${transport} is not available on ${config.runtime}`);
    mailer = make();
  }
  const stripe = config.stripe ? createStripeClient(config.stripe) : null;
  return {
    ...basics,
    db: parts.db,
    mailer,
    stripe,
    pageShell: parts.pageShell,
    ...(parts.replica ? { replica: parts.replica } : {}),
    ...(parts.isStoreUnreachable ? { isStoreUnreachable: parts.isStoreUnreachable } : {}),
  };
}

/** Said once when a process or isolate starts: what it runs with, and what is weaker than production. */
export function announceAppContext(basics: AppBasics, store: string): void {
  const { config, log } = basics;
  if (config.passwordIterations < DEFAULT_PASSWORD_ITERATIONS) {
    log.warn('config.weak-password-hashing', { iterations: config.passwordIterations, default: DEFAULT_PASSWORD_ITERATIONS });
  }
  if (!config.stripe) log.warn('config.payments-off', { hint: 'set STRIPE_SECRET_KEY (npm start and npm run cf:dev run a local Stripe stand-in)' });
  log.info('app.ready', {
    env: config.env,
    runtime: config.runtime,
    store,
    mail: config.emailApi?.provider ?? mailTransportOf(config),
    stripe: config.stripe ? (config.stripe.apiBase?.origin ?? 'api.stripe.com') : 'off',
  });
}
