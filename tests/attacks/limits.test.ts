// Attacks on the limits, each as many clients as the attack needs: the site runs behind a trusted
// proxy (TRUST_PROXY), as in production behind Caddy, and each request names its client in
// X-Forwarded-For. Limits must slow the attacker and never lock the owner out of their account.
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { linkIn, SESSION_COOKIE } from '../support/accounts-env.ts';
import { signedUpVisitor, startPaymentsSite, type PaymentsSite } from '../support/payments.ts';
import { createVisitor } from '../support/visitor.ts';

const COURSE = 'python-fundamentals';
const PASSWORD = 'correct horse battery staple';
let site: PaymentsSite;

beforeAll(async () => {
  site = await startPaymentsSite(inject('dist'), { env: { TRUST_PROXY: '127.0.0.1' } });
});
afterAll(async () => {
  await site?.stop();
});

let clients = 0;
/** A client address nobody used yet in this file. */
function freshIPv4(): string {
  clients += 1;
  return `198.51.${clients >> 8}.${clients & 255}`;
}
const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });

function mailsTo(email: string) {
  return site.sink.messages.filter((message) => message.to.includes(email));
}

/** Mail leaves after the answer: waits until `count` mails reached `email`, then a little longer for any extra one. */
async function settleMails(email: string, count: number) {
  for (const deadline = Date.now() + 5_000; mailsTo(email).length < count && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, 300));
}

async function stripeCalls(method: string, path: RegExp): Promise<number> {
  const { requests } = await (await fetch(`${site.standin.url}/_standin/requests`)).json();
  return (requests as { method: string; path: string }[]).filter((request) => request.method === method && path.test(request.path)).length;
}

describe('IPv6', () => {
  test('a client rotating through the addresses of its /64 is one client', async () => {
    const before = await site.store.snapshot();
    const attacker = createVisitor(site.server.url);
    const guess = (address: string, n: number) =>
      attacker.post('/api/auth/login', { email: `nobody${n}@example.com`, password: 'a wrong password' }, from(address));
    // Different emails each time, so only the per-client limit (60 in 15 minutes) can apply.
    const statuses: number[] = [];
    for (let n = 0; n < 61; n++) statuses.push((await guess(`2001:db8:aa:bb:${((n * 7919) & 0xffff).toString(16)}:${n.toString(16)}:1:${n}`, n)).status);
    expect(statuses.slice(0, 60).every((status) => status === 303)).toBe(true);
    expect(statuses[60]).toBe(429);
    // Another address of the same /64, written another way: still that client.
    expect((await guess('2001:0db8:00aa:00bb:ffff:ffff:ffff:ffff', 99)).status).toBe(429);
    // The next /64 is someone else.
    expect((await guess('2001:db8:aa:bc::1', 100)).status).toBe(303);
    expect(await site.store.snapshot()).toBe(before);
  });

  test('IPv4 inside IPv6 is the IPv4 client', async () => {
    const address = freshIPv4();
    const attacker = createVisitor(site.server.url);
    for (let n = 0; n < 60; n++) await attacker.post('/api/auth/login', { email: `mapped${n}@example.com`, password: 'a wrong password' }, from(address));
    expect((await attacker.post('/api/auth/login', { email: 'mapped-x@example.com', password: 'x' }, from(`::ffff:${address}`))).status).toBe(429);
  });
});

describe('guessing a password', () => {
  test('slows the guesser, and never keeps the owner from signing in by emailed link or reset', async () => {
    const email = 'owner-guessed@example.com';
    await signedUpVisitor(site, email);
    const attacker = createVisitor(site.server.url);
    // Thirty wrong passwords from three addresses: within each client's limit, over the account's.
    let slowed = 0;
    for (let n = 0; n < 30; n++) {
      const response = await attacker.post('/api/auth/login', { email, password: `guess ${n}` }, from(`203.0.113.${1 + (n % 3)}`));
      expect(response.status).toBe(303);
      if (response.headers.get('location')!.includes('error=password-attempts')) slowed += 1;
    }
    // The account's ten: the owner's own confirmation, which asked for the password, was one.
    expect(slowed).toBe(21);
    const before = await site.store.snapshot();
    // Even the right password waits now: guessing at this account is slowed to 10 per 15 minutes.
    const owner = createVisitor(site.server.url);
    const home = freshIPv4();
    const waited = await owner.post('/api/auth/login', { email, password: PASSWORD }, from(home));
    expect(waited.headers.get('location')).toBe('/login?error=password-attempts&mode=link');
    expect(owner.cookie(SESSION_COOKIE)).toBeUndefined();
    expect(await site.store.snapshot()).toBe(before);

    // The owner asks for a link, and it signs them in.
    const sent = site.sink.messages.length;
    expect((await owner.post('/api/auth/link-request', { email }, from(home))).headers.get('location')).toBe('/login?notice=link-sent');
    const linkMail = await site.sink.waitFor(email, { after: sent });
    const token = new URL(linkIn(linkMail.text), 'https://courses.test').searchParams.get('token')!;
    const signedIn = await owner.post('/api/auth/link', { token }, from(home));
    expect(signedIn.headers.get('location')).toBe('/account');
    expect(owner.cookie(SESSION_COOKIE)).toBeDefined();

    // A reset works as well.
    const resetSent = site.sink.messages.length;
    await createVisitor(site.server.url).post('/api/auth/reset-request', { email }, from(home));
    const resetLink = linkIn((await site.sink.waitFor(email, { after: resetSent })).text);
    const resetToken = new URL(resetLink, 'https://courses.test').searchParams.get('token')!;
    const reset = await createVisitor(site.server.url).post('/api/auth/reset', { token: resetToken, password: 'a brand new passphrase' }, from(home));
    expect(reset.headers.get('location')).toBe('/account?notice=password-reset');
  });
});

describe('asking for mail to someone else’s address', () => {
  test('cannot fill their inbox: past the daily cap nothing is sent or issued, the answer is the same, and the latest mailed link still works', async () => {
    const email = 'owner-flooded@example.com';
    await signedUpVisitor(site, email);
    const attacker = createVisitor(site.server.url);
    const answers = new Set<string>();
    // Forty requests of both kinds from twenty addresses: each client stays within its own limit.
    for (let n = 0; n < 40; n++) {
      const path = n % 2 ? '/api/auth/reset-request' : '/api/auth/link-request';
      const response = await attacker.post(path, { email }, from(`192.0.2.${1 + (n % 20)}`));
      answers.add(`${path} ${response.status} ${response.headers.get('location')}`);
      await settleMails(email, Math.min(10, mailsTo(email).length + 1));
    }
    // Each form answered the same every time, capped or not.
    expect([...answers].sort()).toEqual(['/api/auth/link-request 303 /login?notice=link-sent', '/api/auth/reset-request 303 /reset?notice=reset-sent']);
    expect(mailsTo(email).length).toBe(10);
    expect(site.server.logs()).toMatch(/"event":"mail\.capped"/);

    // Past the cap, a request writes nothing: no new token replaces the one in the inbox.
    const before = await site.store.snapshot();
    await attacker.post('/api/auth/reset-request', { email }, from(freshIPv4()));
    await attacker.post('/api/auth/link-request', { email }, from(freshIPv4()));
    await settleMails(email, 11);
    expect(mailsTo(email).length).toBe(10);
    expect(await site.store.snapshot()).toBe(before);

    // The owner's latest mail (a reset link) still works.
    const latest = mailsTo(email).at(-1)!;
    const link = new URL(linkIn(latest.text), 'https://courses.test');
    const owner = createVisitor(site.server.url);
    const used =
      link.pathname === '/reset'
        ? await owner.post('/api/auth/reset', { token: link.searchParams.get('token')!, password: 'the owner is back in' }, from(freshIPv4()))
        : await owner.post('/api/auth/link', { token: link.searchParams.get('token')! }, from(freshIPv4()));
    expect(used.status).toBe(303);
    expect(owner.cookie(SESSION_COOKIE)).toBeDefined();
  });
});

describe('making the site call Stripe', () => {
  test('made-up success URLs from one client stop costing Stripe calls once it is limited', async () => {
    const before = await stripeCalls('GET', /^\/v1\/checkout\/sessions\//);
    const attacker = createVisitor(site.server.url);
    const address = freshIPv4();
    const statuses: Record<number, number> = {};
    for (let n = 0; n < 200; n++) {
      const response = await attacker.get(`/checkout/success?session_id=cs_test_${n.toString().padStart(8, '0')}guess`, from(address).headers);
      await response.arrayBuffer();
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    }
    expect(statuses).toEqual({ 404: 80, 429: 120 });
    expect((await stripeCalls('GET', /^\/v1\/checkout\/sessions\//)) - before).toBe(80);
  });

  test('the same unknown session id, from many clients, costs one Stripe call', async () => {
    const before = await stripeCalls('GET', /^\/v1\/checkout\/sessions\//);
    for (let n = 0; n < 200; n++) {
      const response = await createVisitor(site.server.url).get('/checkout/success?session_id=cs_test_seen_in_a_screenshot', from(freshIPv4()).headers);
      expect(response.status).toBe(404);
    }
    expect((await stripeCalls('GET', /^\/v1\/checkout\/sessions\//)) - before).toBe(1);
  });

  test('a client posting /api/checkout in a loop makes 30 Checkout Sessions, not 200', async () => {
    const before = await site.store.snapshot();
    const created = await stripeCalls('POST', /^\/v1\/checkout\/sessions$/);
    const attacker = createVisitor(site.server.url);
    const address = freshIPv4();
    const statuses: Record<number, number> = {};
    for (let n = 0; n < 200; n++) {
      const response = await attacker.post('/api/checkout', { course: COURSE }, from(address));
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    }
    expect(statuses).toEqual({ 303: 30, 429: 170 });
    expect((await stripeCalls('POST', /^\/v1\/checkout\/sessions$/)) - created).toBe(30);
    // Nothing changed but the 30 browser secrets of the 30 checkouts that were started.
    const { checkout_starts: startedBefore, ...restBefore } = JSON.parse(before) as Record<string, unknown[]>;
    const { checkout_starts: startedAfter, ...restAfter } = JSON.parse(await site.store.snapshot()) as Record<string, unknown[]>;
    expect(restAfter).toEqual(restBefore);
    expect(startedAfter!.length - startedBefore!.length).toBe(30);
    // Someone else still buys.
    expect((await createVisitor(site.server.url).post('/api/checkout', { course: COURSE }, from(freshIPv4()))).status).toBe(303);
  });
});
