import { describe, expect, it } from 'vitest';
import { type ConfigError, coursesDirOf, DEVELOPMENT_SESSION_SECRET, distDirOf, isLoopbackUrl, parseConfig, type Env, type Runtime } from './config.ts';

const SECRET = 'Zq8vN3kLw1xR7tY5uP0oI9mB2nV6cX4zA';

function problems(env: Env, options: Parameters<typeof parseConfig>[1] = {}): string[] {
  try {
    parseConfig(env, options);
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
}

describe('the session secret fails closed', () => {
  it('knows which addresses are this machine', () => {
    for (const url of [
      'http://localhost:4321',
      'http://LOCALHOST',
      'https://courses.localhost',
      'http://127.0.0.1:8080',
      'http://127.9.9.9',
      'http://[::1]:4321',
    ]) {
      expect(isLoopbackUrl(new URL(url)), url).toBe(true);
    }
    for (const url of [
      'https://courses.example.com',
      'http://192.168.1.2',
      'http://0.0.0.0:4321',
      'http://[::]:4321',
      'http://localhost.example.com',
      'http://127.0.0.1.nip.io',
    ]) {
      expect(isLoopbackUrl(new URL(url)), url).toBe(false);
    }
  });

  it('uses the development secret only for a loopback SITE_URL', () => {
    expect(parseConfig({}).sessionSecret).toBe(DEVELOPMENT_SESSION_SECRET);
    expect(parseConfig({ SITE_URL: 'http://127.0.0.1:4321', NODE_ENV: 'test' }).sessionSecret).toBe(DEVELOPMENT_SESSION_SECRET);
  });

  it('refuses any other site without SESSION_SECRET, or with the development one, whatever NODE_ENV says', () => {
    for (const NODE_ENV of [undefined, 'development', 'test']) {
      expect(problems({ NODE_ENV, SITE_URL: 'https://courses.example.com' })).toEqual([
        expect.stringMatching(/^SESSION_SECRET: must be set for a site others can reach/),
      ]);
      expect(problems({ NODE_ENV, SITE_URL: 'https://courses.example.com', SESSION_SECRET: DEVELOPMENT_SESSION_SECRET })).toEqual([
        'SESSION_SECRET: is the development secret from the repository',
      ]);
      expect(problems({ NODE_ENV, SITE_URL: 'https://courses.example.com', SESSION_SECRET: 'short' })).toEqual([expect.stringMatching(/at least 32 bytes/)]);
      expect(problems({ NODE_ENV, SITE_URL: 'https://courses.example.com', SESSION_SECRET: SECRET })).toEqual([]);
    }
  });

  it('a tool that signs no session needs no secret, and gets none it could sign with', () => {
    const config = parseConfig({ SITE_URL: 'https://courses.example.com' }, { signsSessions: false });
    expect(config.sessionSecret).toBe('');
  });
});

describe('Stripe modes', () => {
  const production = {
    NODE_ENV: 'production',
    SITE_URL: 'https://courses.example.com',
    SESSION_SECRET: SECRET,
    MAIL_FROM: 'Courses <courses@example.com>',
    SMTP_URL: 'smtps://u:p@smtp.example.com:465',
    STRIPE_WEBHOOK_SECRET: 'whsec_x',
  };

  it('production refuses test-mode keys unless a staging site allows them explicitly', () => {
    expect(problems({ ...production, STRIPE_SECRET_KEY: 'sk_live_x' })).toEqual([]);
    expect(problems({ ...production, STRIPE_SECRET_KEY: 'rk_live_x' })).toEqual([]);
    for (const key of ['sk_test_x', 'rk_test_x']) {
      expect(problems({ ...production, STRIPE_SECRET_KEY: key })).toEqual([expect.stringMatching(/^STRIPE_SECRET_KEY: is a test-mode key/)]);
      expect(problems({ ...production, STRIPE_SECRET_KEY: key, STRIPE_ALLOW_TEST_MODE: 'false' })).toEqual([expect.stringMatching(/test-mode key/)]);
      expect(problems({ ...production, STRIPE_SECRET_KEY: key, STRIPE_ALLOW_TEST_MODE: 'true' })).toEqual([]);
    }
    // Development needs no permission for test keys.
    expect(problems({ STRIPE_SECRET_KEY: 'sk_test_x' })).toEqual([]);
  });

  it('knows the mode of the key, and refuses keys of neither mode', () => {
    expect(parseConfig({ STRIPE_SECRET_KEY: 'sk_live_x' }).stripe?.livemode).toBe(true);
    expect(parseConfig({ STRIPE_SECRET_KEY: 'rk_live_x' }).stripe?.livemode).toBe(true);
    expect(parseConfig({ STRIPE_SECRET_KEY: 'sk_test_x' }).stripe?.livemode).toBe(false);
    expect(problems({ STRIPE_SECRET_KEY: 'sk_x' })).toEqual([expect.stringMatching(/^STRIPE_SECRET_KEY: must be a Stripe secret key/)]);
  });
});

describe('each refusal', () => {
  const PRODUCTION: Env = {
    NODE_ENV: 'production',
    SITE_URL: 'https://courses.example.com',
    SESSION_SECRET: SECRET,
    MAIL_FROM: 'Courses <courses@example.com>',
    SMTP_URL: 'smtps://u:p@smtp.example.com:465',
    STRIPE_SECRET_KEY: 'sk_live_x',
    STRIPE_WEBHOOK_SECRET: 'whsec_x',
  };
  const WORKERS = { ...PRODUCTION, SMTP_URL: undefined, EMAIL_PROVIDER: 'resend', EMAIL_API_KEY: 're_x' };

  // [what, settings, runtime, the problems named: all of them, and only them]
  const TABLE: [string, Env, Runtime, RegExp | RegExp[]][] = [
    ['an unknown NODE_ENV', { NODE_ENV: 'staging' }, 'node', /^NODE_ENV: /],
    ['no processes at all', { WEB_CONCURRENCY: '0' }, 'node', /^WEB_CONCURRENCY: must be a whole number from 1 to 64 \(got "0"\)$/],
    ['a WEB_CONCURRENCY that is a word', { WEB_CONCURRENCY: 'two' }, 'node', /^WEB_CONCURRENCY: must be a whole number from 1 to 64 \(got "two"\)$/],
    ['a fraction of a process', { WEB_CONCURRENCY: '1.5' }, 'node', /^WEB_CONCURRENCY: must be a whole number/],
    ['a negative WEB_CONCURRENCY', { WEB_CONCURRENCY: '-2' }, 'node', /^WEB_CONCURRENCY: must be a whole number/],
    ['more processes than a machine holds', { WEB_CONCURRENCY: '65' }, 'node', /^WEB_CONCURRENCY: must be a whole number from 1 to 64/],
    ['a DIST_DIR of spaces', { DIST_DIR: '   ' }, 'node', /^DIST_DIR: must name a folder \(unset, it is dist\)$/],
    ['a COURSES_DIR with a NUL byte', { COURSES_DIR: 'courses\0/x' }, 'node', /^COURSES_DIR: must name a folder \(unset, it is courses\)$/],
    ['a SITE_URL that is not http(s)', { SITE_URL: 'ftp://courses.example.com' }, 'node', /^SITE_URL: /],
    ['a DATABASE_URL of no known kind', { DATABASE_URL: 'postgres://x' }, 'node', /^DATABASE_URL: must start with file:/],
    ['a DATABASE_SYNC_URL that is a file', { DATABASE_SYNC_URL: 'file:x.db' }, 'node', /^DATABASE_SYNC_URL: must be a libsql/],
    ['a COOKIE_DOMAIN with a scheme', { COOKIE_DOMAIN: 'https://example.com' }, 'node', /^COOKIE_DOMAIN: must be a bare domain/],
    ['an SMTP_URL of another scheme', { SMTP_URL: 'http://smtp.example.com' }, 'node', /^SMTP_URL: must be an smtp/],
    ['two AUTHOR_EMAIL addresses', { AUTHOR_EMAIL: 'a@example.com, b@example.com' }, 'node', /^AUTHOR_EMAIL: must be one email address/],
    ['a PORT out of range', { PORT: '70000' }, 'node', /^PORT: /],
    ['an unknown LOG_LEVEL', { LOG_LEVEL: 'verbose' }, 'node', /^LOG_LEVEL: /],
    ['an unknown LOG_FORMAT', { LOG_FORMAT: 'xml' }, 'node', /^LOG_FORMAT: /],
    ['too few PASSWORD_ITERATIONS', { PASSWORD_ITERATIONS: '10' }, 'node', /^PASSWORD_ITERATIONS: /],
    ['a MAIL_OUTBOX that is not a yes or no', { MAIL_OUTBOX: 'maybe' }, 'node', /^MAIL_OUTBOX: /],
    ['a STRIPE_SECRET_KEY that is a publishable key', { STRIPE_SECRET_KEY: 'pk_live_x' }, 'node', /^STRIPE_SECRET_KEY: must be a Stripe secret key/],
    [
      'a STRIPE_WEBHOOK_SECRET without whsec_',
      { STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_WEBHOOK_SECRET: 'x' },
      'node',
      /^STRIPE_WEBHOOK_SECRET: must be a webhook signing secret/,
    ],
    ['a webhook secret without a key', { STRIPE_WEBHOOK_SECRET: 'whsec_x' }, 'node', /^STRIPE_SECRET_KEY: must be set when STRIPE_WEBHOOK_SECRET is/],
    ['an unknown EMAIL_PROVIDER', { EMAIL_PROVIDER: 'mailchimp', EMAIL_API_KEY: 'x' }, 'node', /^EMAIL_PROVIDER: /],
    ['an email provider without its key', { EMAIL_PROVIDER: 'resend' }, 'node', /^EMAIL_PROVIDER, EMAIL_API_KEY: set both or neither/],
    ['the send_email binding on Node', { EMAIL_PROVIDER: 'cloudflare' }, 'node', /^EMAIL_PROVIDER: `cloudflare` .* only exists on Workers/],
    ['SMTP on Workers', { ...WORKERS, SMTP_URL: 'smtps://u:p@smtp.example.com:465' }, 'workers', /^SMTP_URL: Workers cannot send SMTP/],
    ['a file store on Workers', { ...WORKERS, DATABASE_URL: 'file:data/app.db' }, 'workers', /^DATABASE_URL: Workers have no files/],
    [
      'a replica on Workers',
      { ...WORKERS, DATABASE_URL: 'libsql://db.example.com', DATABASE_AUTH_TOKEN: 't', DATABASE_SYNC_URL: 'libsql://db.example.com' },
      'workers',
      /^DATABASE_SYNC_URL: an embedded replica needs a filesystem/,
    ],
    ['production without a session secret', { ...PRODUCTION, SESSION_SECRET: undefined }, 'node', /^SESSION_SECRET: must be set/],
    ['a short session secret', { ...PRODUCTION, SESSION_SECRET: 'short' }, 'node', /^SESSION_SECRET: must be at least 32 bytes/],
    ['a predictable session secret', { ...PRODUCTION, SESSION_SECRET: 'ab'.repeat(20) }, 'node', /^SESSION_SECRET: is too predictable/],
    ['production over http', { ...PRODUCTION, SITE_URL: 'http://courses.example.com' }, 'node', /^SITE_URL: must be https in production/],
    [
      'production with no way to send mail',
      { ...PRODUCTION, SMTP_URL: undefined },
      'node',
      /^SMTP_URL \(or EMAIL_PROVIDER and EMAIL_API_KEY\): must be set in production/,
    ],
    [
      'production Workers with no way to send mail',
      { ...WORKERS, EMAIL_PROVIDER: undefined, EMAIL_API_KEY: undefined },
      'workers',
      /^EMAIL_PROVIDER: must be set in production/,
    ],
    [
      'an email API over http in production',
      { ...PRODUCTION, SMTP_URL: undefined, EMAIL_PROVIDER: 'resend', EMAIL_API_KEY: 're_x', EMAIL_API_URL: 'http://mail.example.com' },
      'node',
      /^EMAIL_API_URL: must be https in production/,
    ],
    [
      'the development outbox in production',
      { ...PRODUCTION, MAIL_OUTBOX: 'true' },
      'node',
      /^MAIL_OUTBOX: the development outbox cannot be used in production/,
    ],
    ['production without MAIL_FROM', { ...PRODUCTION, MAIL_FROM: undefined }, 'node', /^MAIL_FROM: must be set in production/],
    [
      'production without Stripe',
      { ...PRODUCTION, STRIPE_SECRET_KEY: undefined, STRIPE_WEBHOOK_SECRET: undefined },
      'node',
      [/^STRIPE_SECRET_KEY: must be set in production/, /^STRIPE_WEBHOOK_SECRET: must be set in production/],
    ],
    ['production without the webhook secret', { ...PRODUCTION, STRIPE_WEBHOOK_SECRET: undefined }, 'node', /^STRIPE_WEBHOOK_SECRET: must be set in production/],
    [
      'production pointed at the Stripe stand-in',
      { ...PRODUCTION, STRIPE_API_BASE: 'http://127.0.0.1:12111' },
      'node',
      /^STRIPE_API_BASE: points the site at a development Stripe stand-in/,
    ],
    ['production with a test-mode key', { ...PRODUCTION, STRIPE_SECRET_KEY: 'sk_test_x' }, 'node', /^STRIPE_SECRET_KEY: is a test-mode key/],
    [
      'a remote libsql store without its token',
      { ...PRODUCTION, DATABASE_URL: 'libsql://db.example.com' },
      'node',
      /^DATABASE_AUTH_TOKEN: must be set for a remote libsql/,
    ],
  ];

  it.each(TABLE)('%s', (_, env, runtime, problem) => {
    expect(problems(env, { runtime })).toEqual([problem].flat().map((one) => expect.stringMatching(one)));
  });

  it('the settings each refusal starts from are themselves accepted', () => {
    expect(problems(PRODUCTION)).toEqual([]);
    expect(problems(WORKERS, { runtime: 'workers' })).toEqual([]);
    expect(problems({})).toEqual([]);
  });
});

describe('the folders and the processes', () => {
  it('default to dist, courses and one process; an empty value is unset', () => {
    expect(parseConfig({})).toMatchObject({ distDir: 'dist', coursesDir: 'courses', webConcurrency: 1 });
    expect(parseConfig({ DIST_DIR: '', COURSES_DIR: '', WEB_CONCURRENCY: '' })).toMatchObject({ distDir: 'dist', coursesDir: 'courses', webConcurrency: 1 });
    expect(parseConfig({ DIST_DIR: '/srv/courses/current/dist', COURSES_DIR: 'content', WEB_CONCURRENCY: ' 4 ' })).toMatchObject({
      distDir: '/srv/courses/current/dist',
      coursesDir: 'content',
      webConcurrency: 4,
    });
  });

  it('are read alone by the build with the same default and refusal', () => {
    expect(coursesDirOf({})).toBe('courses');
    expect(coursesDirOf({ COURSES_DIR: 'tests/fixtures/demo-courses', SESSION_SECRET: 'short' })).toBe('tests/fixtures/demo-courses');
    expect(distDirOf({ DIST_DIR: 'out', NODE_ENV: 'production' })).toBe('out');
    expect(() => coursesDirOf({ COURSES_DIR: ' ' })).toThrow('COURSES_DIR: must name a folder (unset, it is courses)');
    expect(() => distDirOf({ DIST_DIR: '\t' })).toThrow('DIST_DIR: must name a folder (unset, it is dist)');
  });
});

describe('an embedded replica', () => {
  it('syncs every second unless told otherwise', () => {
    const replica = { DATABASE_URL: 'file:data/app.db', DATABASE_SYNC_URL: 'libsql://courses.example.turso.io' };
    expect(parseConfig(replica).databaseSyncIntervalMs).toBe(1000);
    expect(parseConfig({ ...replica, DATABASE_SYNC_INTERVAL: '0.25' }).databaseSyncIntervalMs).toBe(250);
    expect(problems({ ...replica, DATABASE_SYNC_INTERVAL: '0' })).toEqual(['DATABASE_SYNC_INTERVAL: must be at least 0.05 (seconds)']);
  });

  it('is a local file: a sync URL beside a remote store is a mistake, said', () => {
    expect(problems({ DATABASE_URL: 'libsql://a.example.turso.io', DATABASE_SYNC_URL: 'libsql://b.example.turso.io' })).toEqual([
      'DATABASE_SYNC_URL: only with a file: DATABASE_URL, the local replica (for the primary alone, put its address in DATABASE_URL)',
    ]);
  });

  it("needs the primary's token in production", () => {
    const production = {
      NODE_ENV: 'production',
      SITE_URL: 'https://courses.example.com',
      SESSION_SECRET: SECRET,
      DATABASE_URL: 'file:data/app.db',
      DATABASE_SYNC_URL: 'libsql://courses.example.turso.io',
    };
    expect(problems(production)).toContain('DATABASE_AUTH_TOKEN: must be set for a remote libsql:// store');
    expect(problems({ ...production, DATABASE_AUTH_TOKEN: 'token' })).not.toContain('DATABASE_AUTH_TOKEN: must be set for a remote libsql:// store');
  });
});
