import { describe, expect, it } from 'vitest';
import { ConfigError, DEVELOPMENT_SESSION_SECRET, isLoopbackUrl, parseConfig, type Env } from './config.ts';

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
    for (const url of ['http://localhost:4321', 'http://LOCALHOST', 'https://courses.localhost', 'http://127.0.0.1:8080', 'http://127.9.9.9', 'http://[::1]:4321']) {
      expect(isLoopbackUrl(new URL(url)), url).toBe(true);
    }
    for (const url of ['https://courses.example.com', 'http://192.168.1.2', 'http://0.0.0.0:4321', 'http://[::]:4321', 'http://localhost.example.com', 'http://127.0.0.1.nip.io']) {
      expect(isLoopbackUrl(new URL(url)), url).toBe(false);
    }
  });

  it('uses the development secret only for a loopback SITE_URL', () => {
    expect(parseConfig({}).sessionSecret).toBe(DEVELOPMENT_SESSION_SECRET);
    expect(parseConfig({ SITE_URL: 'http://127.0.0.1:4321', NODE_ENV: 'test' }).sessionSecret).toBe(DEVELOPMENT_SESSION_SECRET);
  });

  it('refuses any other site without SESSION_SECRET, or with the development one, whatever NODE_ENV says', () => {
    for (const NODE_ENV of [undefined, 'development', 'test']) {
      expect(problems({ NODE_ENV, SITE_URL: 'https://courses.example.com' })).toEqual([expect.stringMatching(/^SESSION_SECRET: must be set for a site others can reach/)]);
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
    const production = { NODE_ENV: 'production', SITE_URL: 'https://courses.example.com', SESSION_SECRET: SECRET, DATABASE_URL: 'file:data/app.db', DATABASE_SYNC_URL: 'libsql://courses.example.turso.io' };
    expect(problems(production)).toContain('DATABASE_AUTH_TOKEN: must be set for a remote libsql:// store');
    expect(problems({ ...production, DATABASE_AUTH_TOKEN: 'token' })).not.toContain('DATABASE_AUTH_TOKEN: must be set for a remote libsql:// store');
  });
});
