// Every setting of the site, parsed once at start from a plain record of strings (process.env on
// Node, the Pages environment on Cloudflare). Development works with no setting at all; production
// refuses to start on anything weak or meant for development, and lists every problem at once so
// that a deploy is fixed in one go. What protects a site reachable by others is decided by its
// SITE_URL, not by NODE_ENV: a forgotten NODE_ENV must not open it (fail closed).
import { z } from 'zod';

/** Known only to this repository: a store signed with it can be forged by anyone who reads it. */
export const DEVELOPMENT_SESSION_SECRET = 'development-only-session-secret-do-not-use-in-production';

/** OWASP's 2023 figure for PBKDF2-HMAC-SHA256; see docs/decisions/0001-password-hashing.md. */
export const DEFAULT_PASSWORD_ITERATIONS = 600_000;

/** The HTTP email APIs whose request shape src/server/email/http-mailer.ts speaks. */
export const EMAIL_PROVIDERS = ['resend', 'postmark'] as const;
export type EmailProvider = (typeof EMAIL_PROVIDERS)[number];
/** Cloudflare's Email Service through the Worker's `send_email` binding named EMAIL. */
export const SEND_EMAIL_PROVIDER = 'cloudflare';

/**
 * Where the settings are read. Workers have no SMTP (no outgoing TCP mail) and no filesystem, so
 * there the store is a D1 binding or a remote libSQL server and mail goes through an email API.
 */
export type Runtime = 'node' | 'workers';

const boolean = z.enum(['1', '0', 'true', 'false', 'yes', 'no', '']).transform((value) => value === '1' || value === 'true' || value === 'yes');

const optional = (schema: z.ZodString | z.ZodURL) => z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

/** More processes than this is a typo, not a machine: each Node process holds a few hundred MB. */
export const MAX_WEB_CONCURRENCY = 64;

/** A folder, relative to the working directory or absolute; unset or empty is the default. */
const folder = (fallback: string) =>
  z.preprocess(
    (value) => (value === '' ? undefined : value),
    z
      .string()
      .refine((value) => value.trim() !== '' && !value.includes('\0'), `must name a folder (unset, it is ${fallback})`)
      .default(fallback),
  );

/**
 * The settings the build reads too (src/catalog/, scripts/cf-build.ts): the build has none of the
 * server's secrets to check, so it reads each of these alone (coursesDirOf, distDirOf), with the
 * same default and the same refusal as the server.
 */
const folderSettings = {
  /** The build the Node server serves and the tools read (client/, server/, private/). */
  DIST_DIR: folder('dist'),
  /** The author's courses, read by the build and `npm run check`. */
  COURSES_DIR: folder('courses'),
};

const envSchema = z.object({
  ...folderSettings,
  /** Node processes sharing the port (src/node/cluster.ts); 1: no cluster. */
  WEB_CONCURRENCY: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z
      .string()
      .trim()
      .refine((value) => /^[0-9]+$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_WEB_CONCURRENCY, {
        error: (issue) => `must be a whole number from 1 to ${MAX_WEB_CONCURRENCY} (got ${JSON.stringify(issue.input)})`,
      })
      .transform(Number)
      .default(1),
  ),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Unset: the address the Node server listens on, http://HOST:PORT (development). */
  SITE_URL: optional(z.url({ protocol: /^https?$/ })),
  DATABASE_URL: z
    .string()
    .regex(/^(file:|libsql:|https?:|wss?:)/, 'must start with file:, libsql:, http(s): or ws(s):')
    .default('file:data/app.db'),
  DATABASE_AUTH_TOKEN: optional(z.string()),
  /** A libSQL primary that a local `file:` store replicates (an embedded replica). */
  DATABASE_SYNC_URL: optional(z.string().regex(/^(libsql:|https?:|wss?:)/, 'must be a libsql:// or http(s):// URL')),
  /** With DATABASE_SYNC_URL: seconds between the replica's own syncs (a "no" syncs at once too). */
  DATABASE_SYNC_INTERVAL: z.coerce.number().min(0.05, 'must be at least 0.05 (seconds)').max(3600, 'must be at most 3600 (seconds)').default(1),
  /** Unset: the development secret, but only for a SITE_URL on this machine (see isLoopbackUrl). */
  SESSION_SECRET: optional(z.string()),
  /** Only when the site is served on several subdomains that must share the session. */
  COOKIE_DOMAIN: optional(z.string().regex(/^[a-z0-9.-]+$/i, 'must be a bare domain name')),
  SMTP_URL: optional(z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')),
  MAIL_FROM: z.string().min(3).default('Courses <courses@localhost>'),
  /** Where the author is told of each purchase. Unset: no notification. */
  AUTHOR_EMAIL: optional(z.string().regex(/^[^\s@<>,]+@[^\s@<>,]+\.[^\s@<>,]+$/, 'must be one email address such as author@example.com')),
  HOST: z.string().default('localhost'),
  PORT: z.coerce.number().int().min(1).max(65535).default(4321),
  /** Addresses of the reverse proxy whose X-Forwarded-* headers are believed (comma-separated). */
  TRUST_PROXY: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean),
    ),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** Unset: readable lines in development, JSON lines otherwise (production, tests). */
  LOG_FORMAT: z.preprocess((value) => (value === '' ? undefined : value), z.enum(['json', 'text']).optional()),
  /** Total PBKDF2 iterations for new password hashes. Lower only in tests. */
  PASSWORD_ITERATIONS: z.coerce.number().int().min(1000).max(10_000_000).default(DEFAULT_PASSWORD_ITERATIONS),
  /** Whether a development mailer may write to data/outbox/ instead of sending. */
  MAIL_OUTBOX: boolean.optional(),
  /** sk_live_/sk_test_ or a restricted rk_live_/rk_test_ key. Without it, checkout answers that payments are off. */
  STRIPE_SECRET_KEY: optional(z.string().regex(/^(sk|rk)_(live|test)_/, 'must be a Stripe secret key (sk_live_..., sk_test_..., rk_live_... or rk_test_...)')),
  /** Production with a test-mode key: only a staging site, which says so with this. */
  STRIPE_ALLOW_TEST_MODE: boolean.optional(),
  /** The signing secret of the webhook endpoint (whsec_...). */
  STRIPE_WEBHOOK_SECRET: optional(z.string().regex(/^whsec_/, 'must be a webhook signing secret (whsec_...)')),
  /** Where the Stripe API is, for the local stand-in (http://127.0.0.1:12111). Unset: api.stripe.com. */
  STRIPE_API_BASE: optional(z.url({ protocol: /^https?$/ })),
  /** An HTTP email API, or `cloudflare`: the Worker's own send_email binding (EMAIL, no key). */
  EMAIL_PROVIDER: z.preprocess((value) => (value === '' ? undefined : value), z.enum([...EMAIL_PROVIDERS, SEND_EMAIL_PROVIDER] as const).optional()),
  EMAIL_API_KEY: optional(z.string()),
  /** Only to reach the provider somewhere else than its public address (a local sink in tests). */
  EMAIL_API_URL: optional(z.url({ protocol: /^https?$/ })),
});

export type Env = Record<string, string | undefined>;

export type Config = {
  env: 'development' | 'production' | 'test';
  /** DIST_DIR as given (the Node adapter resolves it against the working directory). */
  distDir: string;
  /** COURSES_DIR as given. */
  coursesDir: string;
  /** How many Node processes serve the site (WEB_CONCURRENCY). */
  webConcurrency: number;
  production: boolean;
  siteUrl: URL;
  databaseUrl: string;
  databaseAuthToken: string | undefined;
  databaseSyncUrl: string | undefined;
  /** How often an embedded replica syncs on its own. */
  databaseSyncIntervalMs: number;
  sessionSecret: string;
  cookieDomain: string | undefined;
  smtpUrl: string | undefined;
  mailFrom: string;
  /** The author's address for purchase notifications, or undefined for none. */
  authorEmail: string | undefined;
  host: string;
  port: number;
  trustProxy: string[];
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  logFormat: 'json' | 'text';
  passwordIterations: number;
  stripe: StripeSettings | null;
  emailApi: EmailApiSettings | null;
  /** Mail goes through the Worker's send_email binding (EMAIL_PROVIDER=cloudflare). */
  sendEmailBinding: boolean;
  runtime: Runtime;
};

export type EmailApiSettings = { provider: EmailProvider; apiKey: string; apiUrl: URL | undefined };

export type StripeSettings = {
  secretKey: string;
  webhookSecret: string | undefined;
  /** Set when the API is somewhere other than api.stripe.com (the development stand-in). */
  apiBase: URL | undefined;
  /** Written into every Checkout Session's metadata; sessions without it are another site's. */
  siteId: string;
  /** The key's mode: a payment whose `livemode` differs was made in the other mode and grants nothing. */
  livemode: boolean;
};

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`The configuration is not usable:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const encoder = new TextEncoder();

/**
 * Whether the site's address names this machine (localhost, 127.0.0.0/8, ::1): only then can the
 * development secret, which anybody can read in this repository, sign its sessions.
 */
export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname.toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '[::1]';
}

/** sk_live_ and rk_live_ keys act on real money; sk_test_ and rk_test_ on Stripe's test mode. */
export function isLiveStripeKey(key: string): boolean {
  return /^(sk|rk)_live_/.test(key);
}

export type ParseOptions = {
  runtime?: Runtime;
  /**
   * False for the command-line tools that sign no session (the admin tool): they need no
   * SESSION_SECRET, and get none they could use.
   */
  signsSessions?: boolean;
};

/** The address a browser on this machine reaches the Node server at: the default SITE_URL. */
export function listenAddress(host = 'localhost', port: string | number = 4321): string {
  const name = host === '' || host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${name}:${port}`;
}

function folderSetting(name: keyof typeof folderSettings, env: Env): string {
  const result = folderSettings[name].safeParse(env[name]);
  if (!result.success) throw new ConfigError(result.error.issues.map((issue) => `${name}: ${issue.message}`));
  return result.data;
}

/** COURSES_DIR alone, for the build and the course check, which have no server settings to check. */
export function coursesDirOf(env: Env): string {
  return folderSetting('COURSES_DIR', env);
}

/** DIST_DIR alone, for the build scripts (Cloudflare's output, D1's content sync). */
export function distDirOf(env: Env): string {
  return folderSetting('DIST_DIR', env);
}

/** Reads the settings, or throws a ConfigError naming every problem. */
export function parseConfig(env: Env, options: ParseOptions = {}): Config {
  const runtime = options.runtime ?? 'node';
  const signsSessions = options.signsSessions ?? true;
  const present = Object.fromEntries(Object.entries(env).filter(([key]) => key in envSchema.shape));
  const result = envSchema.safeParse(present);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || 'settings'}: ${issue.message}`));
  }
  const values = result.data;
  const siteUrl = new URL(values.SITE_URL ?? listenAddress(values.HOST, values.PORT));
  const config: Config = {
    env: values.NODE_ENV,
    distDir: values.DIST_DIR,
    coursesDir: values.COURSES_DIR,
    webConcurrency: values.WEB_CONCURRENCY,
    production: values.NODE_ENV === 'production',
    siteUrl,
    databaseUrl: values.DATABASE_URL,
    databaseAuthToken: values.DATABASE_AUTH_TOKEN,
    databaseSyncUrl: values.DATABASE_SYNC_URL,
    databaseSyncIntervalMs: Math.round(values.DATABASE_SYNC_INTERVAL * 1000),
    sessionSecret: values.SESSION_SECRET ?? (signsSessions && isLoopbackUrl(siteUrl) ? DEVELOPMENT_SESSION_SECRET : ''),
    cookieDomain: values.COOKIE_DOMAIN,
    smtpUrl: values.SMTP_URL,
    mailFrom: values.MAIL_FROM,
    authorEmail: values.AUTHOR_EMAIL,
    host: values.HOST,
    port: values.PORT,
    trustProxy: values.TRUST_PROXY,
    logLevel: values.LOG_LEVEL,
    logFormat: values.LOG_FORMAT ?? (values.NODE_ENV === 'development' ? 'text' : 'json'),
    passwordIterations: values.PASSWORD_ITERATIONS,
    stripe: values.STRIPE_SECRET_KEY
      ? {
          secretKey: values.STRIPE_SECRET_KEY,
          webhookSecret: values.STRIPE_WEBHOOK_SECRET,
          apiBase: values.STRIPE_API_BASE ? new URL(values.STRIPE_API_BASE) : undefined,
          siteId: siteUrl.host,
          livemode: isLiveStripeKey(values.STRIPE_SECRET_KEY),
        }
      : null,
    emailApi:
      values.EMAIL_PROVIDER && values.EMAIL_PROVIDER !== SEND_EMAIL_PROVIDER && values.EMAIL_API_KEY
        ? { provider: values.EMAIL_PROVIDER, apiKey: values.EMAIL_API_KEY, apiUrl: values.EMAIL_API_URL ? new URL(values.EMAIL_API_URL) : undefined }
        : null,
    sendEmailBinding: values.EMAIL_PROVIDER === SEND_EMAIL_PROVIDER,
    runtime,
  };

  const problems: string[] = [];
  if (values.STRIPE_WEBHOOK_SECRET && !values.STRIPE_SECRET_KEY) problems.push('STRIPE_SECRET_KEY: must be set when STRIPE_WEBHOOK_SECRET is');
  if (config.sendEmailBinding) {
    if (runtime !== 'workers') problems.push('EMAIL_PROVIDER: `cloudflare` (the send_email binding) only exists on Workers');
  } else if (Boolean(values.EMAIL_PROVIDER) !== Boolean(values.EMAIL_API_KEY)) problems.push('EMAIL_PROVIDER, EMAIL_API_KEY: set both or neither');
  if (values.DATABASE_SYNC_URL && runtime !== 'workers' && !values.DATABASE_URL.startsWith('file:')) {
    problems.push('DATABASE_SYNC_URL: only with a file: DATABASE_URL, the local replica (for the primary alone, put its address in DATABASE_URL)');
  }
  if (runtime === 'workers') {
    if (values.SMTP_URL) problems.push('SMTP_URL: Workers cannot send SMTP; set EMAIL_PROVIDER and EMAIL_API_KEY instead');
    if (values.DATABASE_URL?.startsWith('file:') && env.DATABASE_URL)
      problems.push('DATABASE_URL: Workers have no files; use the D1 binding DB or a libsql:// / https:// store');
    if (values.DATABASE_SYNC_URL) problems.push('DATABASE_SYNC_URL: an embedded replica needs a filesystem, which Workers do not have');
  }
  const secret = config.sessionSecret;
  const loopback = isLoopbackUrl(siteUrl);
  if (!signsSessions) {
    // The tool signs nothing; a secret it was given is still checked below like the server's.
  } else if (!values.SESSION_SECRET && config.production) problems.push('SESSION_SECRET: must be set in production');
  else if (!values.SESSION_SECRET && !loopback) {
    problems.push(`SESSION_SECRET: must be set for a site others can reach (SITE_URL is ${siteUrl.origin}); the development secret is only for localhost`);
  }
  if (values.SESSION_SECRET) {
    if (encoder.encode(secret).length < 32) problems.push('SESSION_SECRET: must be at least 32 bytes (e.g. `openssl rand -base64 48`)');
    else if (secret === DEVELOPMENT_SESSION_SECRET && (config.production || !loopback))
      problems.push('SESSION_SECRET: is the development secret from the repository');
    else if (config.production && new Set(secret).size < 12)
      problems.push('SESSION_SECRET: is too predictable (too few distinct characters); generate a random one');
  }
  if (config.production) {
    if (config.siteUrl.protocol !== 'https:') problems.push(`SITE_URL: must be https in production (is ${config.siteUrl.origin})`);
    if (runtime === 'workers') {
      if (!config.emailApi && !config.sendEmailBinding)
        problems.push('EMAIL_PROVIDER: must be set in production (`cloudflare` with the send_email binding, or an email API with EMAIL_API_KEY)');
    } else if (!config.smtpUrl && !config.emailApi) {
      problems.push('SMTP_URL (or EMAIL_PROVIDER and EMAIL_API_KEY): must be set in production (the development outbox only writes files)');
    }
    if (values.EMAIL_API_URL && !values.EMAIL_API_URL.startsWith('https:')) problems.push('EMAIL_API_URL: must be https in production');
    if (values.MAIL_OUTBOX) problems.push('MAIL_OUTBOX: the development outbox cannot be used in production');
    if (!env.MAIL_FROM) problems.push('MAIL_FROM: must be set in production (e.g. "Courses <courses@example.com>")');
    if (!config.stripe) problems.push('STRIPE_SECRET_KEY: must be set in production');
    if (!config.stripe?.webhookSecret) problems.push('STRIPE_WEBHOOK_SECRET: must be set in production (the whsec_ of the webhook endpoint)');
    if (values.STRIPE_API_BASE) problems.push('STRIPE_API_BASE: points the site at a development Stripe stand-in; unset it in production');
    if (config.stripe && !config.stripe.livemode && !values.STRIPE_ALLOW_TEST_MODE) {
      problems.push(
        'STRIPE_SECRET_KEY: is a test-mode key (sk_test_/rk_test_), which takes no real money; use the live key, or set STRIPE_ALLOW_TEST_MODE=true on a staging site',
      );
    }
    const remote = config.databaseSyncUrl ?? config.databaseUrl;
    if (remote.startsWith('libsql:') && !config.databaseAuthToken && !/^libsql:\/\/(localhost|127\.0\.0\.1)/.test(remote)) {
      problems.push('DATABASE_AUTH_TOKEN: must be set for a remote libsql:// store');
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

export type MailTransport = 'smtp' | 'email-api' | 'send-email' | 'outbox';

/**
 * Where mail goes: SMTP (Node), else an email API, else the send_email binding (Workers), when
 * configured; otherwise (development only) the runtime's outbox (a folder on Node, the log on Workers).
 */
export function mailTransportOf(config: Config): MailTransport {
  return config.smtpUrl ? 'smtp' : config.emailApi ? 'email-api' : config.sendEmailBinding ? 'send-email' : 'outbox';
}
