// The built server with the Stripe stand-in in front of the real SDK, a real store synced from the
// build, and the SMTP sink: everything a purchase touches, as production wires it.
import Stripe from 'stripe';
import { startStripeStandin, type StripeStandin } from '../../scripts/stripe-standin.ts';
import { accountsEnv, SESSION_COOKIE } from './accounts-env.ts';
import { freePort, startServer, type RunningServer } from './server.ts';
import { signUpAndConfirm } from './sign-up.ts';
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts';
import { createTestStore, syncStore, type TestStore } from './store.ts';
import { createVisitor, type Visitor } from './visitor.ts';

export const WEBHOOK_SECRET = 'whsec_test_payments_5d1c9e7a3b';
export const STRIPE_KEY = 'sk_test_payments';

export type PaymentsSite = {
  server: RunningServer;
  /** The SITE_URL the server runs with: Stripe's redirects and the emails' links lead there. */
  siteUrl: string;
  standin: StripeStandin;
  store: TestStore;
  sink: SmtpSink;
  /** The real SDK, pointed at the stand-in (to look at what the site created). */
  stripe: Stripe;
  control(path: string, body?: unknown): Promise<any>;
  stop(): Promise<void>;
};

export function paymentsEnv(options: { databaseUrl: string; smtpUrl: string; stripeApiBase: string }): Record<string, string> {
  return {
    ...accountsEnv(options),
    // Production refuses a Stripe stand-in by design; `test` runs the same build and code.
    NODE_ENV: 'test',
    STRIPE_SECRET_KEY: STRIPE_KEY,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_BASE: options.stripeApiBase,
  };
}

export type PaymentsSiteOptions = {
  /**
   * `'server'`: SITE_URL is the server's own http://127.0.0.1:<port>, so that a real browser
   * follows Stripe's redirect and the emails' links back to it (cookies are then not Secure).
   * Default: https://courses.test, for tests that follow links by their path.
   */
  siteUrl?: 'server';
  /** More settings for the server (e.g. WEB_CONCURRENCY, TRUST_PROXY). */
  env?: Record<string, string>;
  /** The store's DATABASE_URL when it is not a fresh file (a libSQL server). */
  databaseUrl?: string;
};

export async function startPaymentsSite(dist: string, options: PaymentsSiteOptions = {}): Promise<PaymentsSite> {
  const [sink, store, standin] = await Promise.all([
    startSmtpSink(),
    createTestStore({ url: options.databaseUrl }),
    startStripeStandin({ port: 0, webhookUrls: [], webhookSecret: WEBHOOK_SECRET, log: () => {} }),
  ]);
  await syncStore(dist, store.url);
  const env = { ...paymentsEnv({ databaseUrl: store.url, smtpUrl: sink.url, stripeApiBase: standin.url }), ...options.env };
  const port = options.siteUrl === 'server' ? await freePort() : undefined;
  if (port !== undefined) env.SITE_URL = `http://127.0.0.1:${port}`;
  const server = await startServer({ dist, env, port });
  const control = async (path: string, body: unknown = {}) => {
    const response = await fetch(`${standin.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json: any = await response.json();
    if (!response.ok) throw new Error(`${path} -> ${response.status}: ${JSON.stringify(json)}`);
    return json;
  };
  await control('/_standin/config', { webhook_urls: [`${server.url}/api/stripe/webhook`] });
  const stripe = new Stripe(STRIPE_KEY, { host: '127.0.0.1', port: standin.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });
  return {
    server,
    siteUrl: env.SITE_URL!,
    standin,
    store,
    sink,
    stripe,
    control,
    async stop() {
      await server.stop();
      await standin.close();
      await sink.stop();
      store.remove();
    },
  };
}

/** Signs a visitor up and confirms the address from the mail (the real endpoints); returns it signed in. */
export async function signedUpVisitor(site: PaymentsSite, email: string): Promise<Visitor> {
  const visitor = createVisitor(site.server.url);
  await signUpAndConfirm(visitor, site.sink, { email, password: 'correct horse battery staple' });
  if (!visitor.cookie(sessionCookieOf(site))) throw new Error(`no session cookie after confirming ${email}`);
  return visitor;
}

/** The session cookie's name: `__Host-session` on the https SITE_URL, `session` on plain http. */
export function sessionCookieOf(site: PaymentsSite): string {
  return site.siteUrl.startsWith('https:') ? SESSION_COOKIE : 'session';
}

/** The path and query of an absolute URL on the site (Stripe sends the browser to SITE_URL). */
export function sitePath(url: string): string {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}
