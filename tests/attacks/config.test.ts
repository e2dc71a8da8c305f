// Attacks on a configuration that fails open. The development session secret is in this
// repository, so anybody can sign sessions with it: it may only ever sign for a site on the
// operator's own machine, whatever NODE_ENV says. Production takes real money only: a test-mode
// key is refused unless a staging site says so, and a payment made in the other mode than the
// key's grants nothing.
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { DEVELOPMENT_SESSION_SECRET } from '../../src/server/config.ts';
import { accountsEnv, SESSION_COOKIE } from '../support/accounts-env.ts';
import { sitePath, startPaymentsSite, type PaymentsSite } from '../support/payments.ts';
import { freePort, startServer } from '../support/server.ts';
import { createTestStore, type TestStore } from '../support/store.ts';
import { createVisitor } from '../support/visitor.ts';

const COURSE = 'python-fundamentals';

let store: TestStore;
beforeAll(async () => {
  store = await createTestStore();
});
afterAll(() => store?.remove());

/** The settings of an operator who left things out: no NODE_ENV, no SESSION_SECRET. */
function careless(extra: Record<string, string | undefined>): Record<string, string> {
  const { NODE_ENV: _env, SESSION_SECRET: _secret, ...rest } = accountsEnv({ databaseUrl: store.url, smtpUrl: 'smtp://127.0.0.1:9' });
  return Object.fromEntries(Object.entries({ ...rest, ...extra }).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

describe('the server refuses to start', () => {
  test('on any site others can reach without SESSION_SECRET, or with the development one, whatever NODE_ENV says; and production on a test-mode key', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        careless({ SITE_URL: 'https://courses.example.com' }),
        /SESSION_SECRET: must be set for a site others can reach \(SITE_URL is https:\/\/courses\.example\.com\)/,
      ],
      [careless({ SITE_URL: 'https://courses.example.com', NODE_ENV: 'test' }), /SESSION_SECRET: must be set for a site others can reach/],
      [careless({ SITE_URL: 'http://192.168.1.20:4321', NODE_ENV: 'development' }), /SESSION_SECRET: must be set for a site others can reach/],
      [careless({ SITE_URL: 'https://courses.example.com', SESSION_SECRET: DEVELOPMENT_SESSION_SECRET }), /SESSION_SECRET: is the development secret/],
      [
        { ...accountsEnv({ databaseUrl: store.url, smtpUrl: 'smtp://127.0.0.1:9' }), STRIPE_ALLOW_TEST_MODE: '' },
        /STRIPE_SECRET_KEY: is a test-mode key .* STRIPE_ALLOW_TEST_MODE=true/,
      ],
      [
        { ...accountsEnv({ databaseUrl: store.url, smtpUrl: 'smtp://127.0.0.1:9' }), STRIPE_ALLOW_TEST_MODE: '', STRIPE_SECRET_KEY: 'rk_test_restricted' },
        /STRIPE_SECRET_KEY: is a test-mode key/,
      ],
      [
        { ...accountsEnv({ databaseUrl: store.url, smtpUrl: 'smtp://127.0.0.1:9' }), STRIPE_SECRET_KEY: 'sk_something_else' },
        /STRIPE_SECRET_KEY: must be a Stripe secret key/,
      ],
    ];
    // One after the other: two cores shared with other tests start few processes at a time.
    for (const [env, expected] of cases) {
      const [result] = await Promise.allSettled([startServer({ dist: inject('dist'), env })]);
      expect(result!.status, String(expected)).toBe('rejected');
      const message = String((result as PromiseRejectedResult).reason);
      expect(message).toMatch(/the server exited with 1/);
      expect(message).toMatch(expected);
    }
  }, 180_000);

  test('but starts where the defaults are safe: a loopback site in development, and a staging site that says so', async () => {
    const port = await freePort();
    for (const start of [
      () => startServer({ dist: inject('dist'), port, env: careless({ SITE_URL: `http://localhost:${port}` }) }),
      () => startServer({ dist: inject('dist'), env: accountsEnv({ databaseUrl: store.url, smtpUrl: 'smtp://127.0.0.1:9' }) }),
    ]) {
      const server = await start();
      try {
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      } finally {
        await server.stop();
      }
    }
  }, 120_000);
});

describe('a session signed with the development secret', () => {
  test('never reaches /admin/ on a site others can reach, even one run without NODE_ENV=production', async () => {
    const now = Date.now();
    const inserted = await store.client.execute({
      sql: "INSERT INTO users (email, password_hash, role, session_version, created_at, updated_at) VALUES ('author@example.com', NULL, 'admin', 1, ?, ?) RETURNING id",
      args: [now, now],
    });
    const adminId = Number(inserted.rows[0]!.id);
    const forged = await new SignJWT({ sv: 1 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(adminId))
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(DEVELOPMENT_SESSION_SECRET));
    const cookie = { cookie: `session=${forged}` };

    // The same forgery works where the development secret is meant to sign: a site on localhost.
    // That is what the attack would do anywhere the secret were used.
    const port = await freePort();
    const local = await startServer({ dist: inject('dist'), port, env: careless({ SITE_URL: `http://localhost:${port}` }) });
    try {
      expect((await fetch(`${local.url}/admin/`, { headers: cookie, redirect: 'manual' })).status).toBe(200);
    } finally {
      await local.stop();
    }

    // A public site run as `test` (not production) with its own secret: the forgery is nobody.
    const before = await store.snapshot();
    const site = await startServer({
      dist: inject('dist'),
      env: { ...careless({ SITE_URL: 'https://courses.example.com', NODE_ENV: 'test' }), SESSION_SECRET: 'an-operator-chosen-secret-7c1e9a3f5b2d8e6a' },
    });
    try {
      const admin = await fetch(`${site.url}/admin/`, { headers: cookie, redirect: 'manual' });
      expect(admin.status).toBe(404);
      expect(await (await fetch(`${site.url}/api/me`, { headers: cookie })).json()).toEqual({ signedIn: false });
    } finally {
      await site.stop();
    }
    expect(await store.snapshot()).toBe(before);
  }, 120_000);
});

describe('a payment in the other mode than the key', () => {
  let site: PaymentsSite;
  beforeAll(async () => {
    // A live key, and a Stripe that answers in test mode (the stand-in's objects all have
    // livemode: false): what a test payment presented to a live site looks like.
    site = await startPaymentsSite(inject('dist'), { env: { STRIPE_SECRET_KEY: 'sk_live_the_real_money_key' } });
  });
  afterAll(async () => {
    await site?.stop();
  });

  test('grants nothing, by the success page or by the webhook, and is logged', async () => {
    const count = async () =>
      (
        await site.store.client.execute(
          'SELECT (SELECT count(*) FROM purchases) AS p, (SELECT count(*) FROM users) AS u, (SELECT count(*) FROM access_ledger) AS l',
        )
      ).rows[0];
    const before = await count();
    const buyer = createVisitor(site.server.url);
    const checkout = await buyer.post('/api/checkout', { course: COURSE });
    expect(checkout.status).toBe(303);
    const sessionId = checkout.headers.get('location')!.split('/').pop()!;
    const { redirect } = await site.control(`/_standin/checkout/${sessionId}/pay`, { email: 'test-card@example.com' });
    expect((await site.stripe.checkout.sessions.retrieve(sessionId)).livemode).toBe(false);
    // The webhook was delivered while paying; it was acknowledged and granted nothing.
    const deliveries = site.standin.deliveries().filter((delivery) => delivery.event_type === 'checkout.session.completed');
    expect(deliveries.map((delivery) => delivery.status)).toEqual([200]);
    const page = await buyer.get(sitePath(redirect));
    expect(page.status).toBe(404);
    expect(buyer.cookie(SESSION_COOKIE)).toBeUndefined();
    expect(await count()).toEqual(before);
    expect(site.server.logs()).toMatch(/"event":"purchase\.wrong-mode","course":"python-fundamentals","livemode":false,"keyLivemode":true/);
  });
});
