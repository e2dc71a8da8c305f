// Attacks on the success page's sign-in, the one place the site signs someone in without a
// password or a mailed token. Each is sent over HTTP to the built server, with the real `stripe`
// SDK against the Stripe stand-in, as an attacker would: a forged `checkout` cookie, a stranger
// holding the success URL, a replay after the window, and the "timestamps" attack (an old unpaid
// checkout paid for an account that appeared since). Every attack must sign nobody in and leave
// accounts, sessions, mailed tokens and checkout starts as they were. docs/security.md maps them.
import { runScript } from '../support/processes.ts';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { SESSION_COOKIE, TEST_SITE_URL } from '../support/accounts-env.ts';
import { sitePath, startPaymentsSite, type PaymentsSite } from '../support/payments.ts';
import { createVisitor, type Visitor } from '../support/visitor.ts';

const COURSE = 'python-fundamentals';
const FIRST_LESSON = `/courses/${COURSE}/why-python/`;
const PAID_LESSON = `/courses/${COURSE}/comprehensions/`;
const CHECKOUT_COOKIE = '__Host-checkout';

let site: PaymentsSite;
/** Every Checkout Session id this file makes: none may appear whole in the server's log. */
const sessionIds: string[] = [];

beforeAll(async () => {
  site = await startPaymentsSite(inject('dist'), { env: { LOG_LEVEL: 'info' } });
});
afterAll(async () => {
  await site?.stop();
});

async function rows<T = Record<string, unknown>>(sql: string, args: (string | number)[] = []): Promise<T[]> {
  return (await site.store.client.execute({ sql, args })).rows as unknown as T[];
}

async function startCheckout(visitor: Visitor, course = COURSE): Promise<string> {
  const response = await visitor.post('/api/checkout', { course });
  expect(response.status).toBe(303);
  const id = response.headers.get('location')!.split('/').pop()!;
  sessionIds.push(id);
  return id;
}

async function pay(sessionId: string, email: string): Promise<string> {
  const { redirect } = await site.control(`/_standin/checkout/${sessionId}/pay`, { email });
  return sitePath(redirect);
}

/**
 * The success page as `visitor` sees it: signed in or not, the page's status, and whether it is
 * the purchase's confirmation (shown to its owner only, with the full address and the start button).
 */
async function successPage(
  visitor: Visitor,
  path: string,
): Promise<{ signedIn: boolean; status: number; location: string | null; confirmed: boolean; text: string }> {
  const response = await visitor.get(path);
  const text = await response.text();
  return {
    signedIn: visitor.cookie(SESSION_COOKIE) !== undefined,
    status: response.status,
    location: response.headers.get('location'),
    confirmed: text.includes('>Start the course</a>'),
    text,
  };
}

async function admin(args: string[]): Promise<string> {
  const run = await runScript('scripts/admin.ts', args, { env: { DATABASE_URL: site.store.url, SITE_URL: TEST_SITE_URL, PASSWORD_ITERATIONS: '2000' } });
  if (run.code !== 0) throw new Error(`admin ${args.join(' ')} exited with ${run.code}:\n${run.output}`);
  return run.output;
}

describe('the browser secret', () => {
  test('lives in an HttpOnly __Host- cookie, never in a URL; the store keeps only its hash', async () => {
    const buyer = createVisitor(site.server.url);
    const response = await buyer.post('/api/checkout', { course: COURSE });
    const cookie = response.headers.getSetCookie().find((header) => header.startsWith(`${CHECKOUT_COOKIE}=`))!;
    expect(cookie).toMatch(/^__Host-checkout=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=86400; Secure$/);
    const secret = buyer.cookie(CHECKOUT_COOKIE)!;
    const sessionId = response.headers.get('location')!.split('/').pop()!;
    sessionIds.push(sessionId);
    expect(response.headers.get('location')).not.toContain(secret);
    const session = await site.stripe.checkout.sessions.retrieve(sessionId);
    expect(JSON.stringify(session)).not.toContain(secret);
    expect(await rows('SELECT * FROM checkout_starts WHERE browser_secret_hash = ?', [secret])).toEqual([]);
    expect(await rows('SELECT checkout_session_id FROM checkout_starts WHERE checkout_session_id = ?', [sessionId])).toHaveLength(1);
  });
});

describe('signing in as the buyer without the browser that paid', () => {
  test("a forged `checkout` cookie holding the URL's session id signs nobody in, before and after the buyer used it", async () => {
    const buyer = createVisitor(site.server.url);
    const sessionId = await startCheckout(buyer);
    const success = await pay(sessionId, 'forged-victim@example.com');

    const attacker = createVisitor(site.server.url);
    // What the earlier release trusted: a cookie equal to the id in the URL, under either name.
    attacker.cookies.set(CHECKOUT_COOKIE, sessionId);
    attacker.cookies.set('checkout', sessionId);
    let before = await site.store.snapshot();
    const early = await successPage(attacker, success);
    expect(early).toMatchObject({ signedIn: false, status: 200, confirmed: false });
    expect(early.text).toContain('f•••@example.com');
    expect(early.text).not.toContain('forged-victim@example.com');
    expect(await site.store.snapshot()).toBe(before);

    // A secret-shaped guess fares no better.
    attacker.cookies.set(CHECKOUT_COOKIE, 'A'.repeat(43));
    expect(await successPage(attacker, success)).toMatchObject({ signedIn: false, status: 200, confirmed: false });
    expect(await site.store.snapshot()).toBe(before);

    // The buyer's own browser is signed in, once, and shown the confirmation with the lesson to start.
    const own = await successPage(buyer, success);
    expect(own).toMatchObject({ signedIn: true, status: 200, location: null, confirmed: true });
    expect(own.text).toContain(`href="${FIRST_LESSON}"`);
    expect(own.text).toContain('forged-victim@example.com');

    attacker.cookies.set(CHECKOUT_COOKIE, sessionId);
    before = await site.store.snapshot();
    const late = await successPage(attacker, success);
    expect(late).toMatchObject({ signedIn: false, status: 200, confirmed: false });
    expect(late.text).not.toContain('forged-victim@example.com');
    expect(await site.store.snapshot()).toBe(before);
  });

  test('a stranger holding the success URL is only told to sign in', async () => {
    const buyer = createVisitor(site.server.url);
    const success = await pay(await startCheckout(buyer), 'url-victim@example.com');
    const stranger = createVisitor(site.server.url);
    const before = await site.store.snapshot();
    const page = await successPage(stranger, success);
    expect(page).toMatchObject({ signedIn: false, status: 200, confirmed: false });
    expect(page.text).toContain('Get a link by email');
    expect(await site.store.snapshot()).toBe(before);
    // The buyer is not robbed of the sign-in by the stranger's visit.
    expect(await successPage(buyer, success)).toMatchObject({ signedIn: true, status: 200, confirmed: true });
  });
});

describe('replays', () => {
  test("the buyer's browser replaying the success page after signing out is not signed in again", async () => {
    const buyer = createVisitor(site.server.url);
    const success = await pay(await startCheckout(buyer), 'replayer@example.com');
    expect(await successPage(buyer, success)).toMatchObject({ signedIn: true, status: 200, confirmed: true });
    await buyer.post('/api/auth/logout', {});
    expect(buyer.cookie(SESSION_COOKIE)).toBeUndefined();
    const before = await site.store.snapshot();
    expect(await successPage(buyer, success)).toMatchObject({ signedIn: false, status: 200, confirmed: false });
    expect(await site.store.snapshot()).toBe(before);
  });

  test('the success page opened after the window (30 minutes after the purchase) signs nobody in', async () => {
    const buyer = createVisitor(site.server.url);
    const sessionId = await startCheckout(buyer);
    const success = await pay(sessionId, 'late-buyer@example.com');
    // The webhook recorded the purchase at payment; move that 31 minutes into the past.
    await site.store.client.execute({
      sql: 'UPDATE purchases SET created_at = created_at - ? WHERE checkout_session_id = ?',
      args: [31 * 60 * 1000, sessionId],
    });
    const before = await site.store.snapshot();
    const page = await successPage(buyer, success);
    expect(page).toMatchObject({ signedIn: false, status: 200, confirmed: false });
    expect(page.text).toContain('l•••@example.com');
    expect(await site.store.snapshot()).toBe(before);
    expect(await rows('SELECT used_at FROM checkout_starts WHERE checkout_session_id = ?', [sessionId])).toEqual([{ used_at: null }]);
  });
});

describe('the timestamps attack: an old unpaid checkout, paid for an account that appeared since', () => {
  async function attack(victim: string, makeVictimAccount: () => Promise<void>) {
    const attacker = createVisitor(site.server.url);
    const sessionId = await startCheckout(attacker);
    await makeVictimAccount();
    const [account] = await rows<{ id: number; password_hash: string | null; created_by_checkout: string | null }>('SELECT * FROM users WHERE email = ?', [
      victim,
    ]);
    expect(account!.password_hash).toBeNull();
    const sessionsBefore = await rows('SELECT * FROM sessions WHERE user_id = ?', [account!.id]);

    const before = await site.store.snapshot();
    const page = await successPage(attacker, await pay(sessionId, victim));
    expect(page).toMatchObject({ signedIn: false, status: 200, confirmed: false });
    expect(page.text).not.toContain(victim);
    expect(page.text).toContain(`${victim[0]}•••@example.com`);
    // Nothing about accounts, sessions, tokens or checkout starts changed: the victim's account
    // gained a course someone paid for, and nobody a way into it.
    expect(await site.store.snapshot()).toBe(before);
    expect(await rows('SELECT * FROM sessions WHERE user_id = ?', [account!.id])).toEqual(sessionsBefore);
    const [purchase] = await rows<{ user_id: number; created_user: number }>('SELECT * FROM purchases WHERE checkout_session_id = ?', [sessionId]);
    expect(purchase).toMatchObject({ user_id: account!.id, created_user: 0 });
    // The attacker's browser reads nothing: the lesson is only offered to buy, or to sign in to.
    const lesson = await attacker.get(PAID_LESSON);
    expect(lesson.status).toBe(403);
    expect(await lesson.text()).toContain(`/login?next=${encodeURIComponent(PAID_LESSON)}`);
  }

  test('the account was made by `admin grant --create`', async () => {
    await attack('granted-victim@example.com', async () => {
      await admin(['grant', 'granted-victim@example.com', 'running-python-scripts', '--reason', 'gift', '--create']);
    });
  });

  test('the account was made by another guest purchase', async () => {
    await attack('guest-victim@example.com', async () => {
      const victim = createVisitor(site.server.url);
      const success = await pay(await startCheckout(victim, 'running-python-scripts'), 'guest-victim@example.com');
      // The victim's own browser is signed in by their own purchase; that session stays theirs.
      expect(await successPage(victim, success)).toMatchObject({ signedIn: true, status: 200, confirmed: true });
    });
  });
});

describe("the buyer's email from Stripe", () => {
  test('an address the site would refuse records nothing for a guest, and is logged', async () => {
    const guest = createVisitor(site.server.url);
    const sessionId = await startCheckout(guest);
    const before = await site.store.snapshot();
    const page = await successPage(guest, await pay(sessionId, 'buyer@example.c'));
    expect(page).toMatchObject({ signedIn: false, status: 200 });
    expect(page.text).toContain('not one we can use');
    expect(await site.store.snapshot()).toBe(before);
    expect(await rows('SELECT * FROM purchases WHERE checkout_session_id = ?', [sessionId])).toEqual([]);
    expect(site.server.logs()).toContain('"event":"purchase.bad-email"');
  });
});

describe('the log', () => {
  test('names Checkout Sessions by a short prefix, never in full', async () => {
    expect(sessionIds.length).toBeGreaterThan(5);
    const log = site.server.logs();
    expect(log).toContain('"event":"checkout.started"');
    expect(log).toContain('"event":"purchase.recorded"');
    for (const id of sessionIds) {
      expect(log).not.toContain(id);
      expect(log).toContain(`"session":"${id.slice(0, 16)}…"`);
    }
  });
});
