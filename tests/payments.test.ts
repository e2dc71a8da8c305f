// Buying a course, end to end: the built server, the real `stripe` SDK against the Stripe
// stand-in (hosted page, signed webhooks, refunds, disputes), a real store synced from the build,
// the SMTP sink. Every test checks the access ledger and what the member can actually read.
import Stripe from 'stripe';
import { runScript } from './support/processes.ts';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { revokeCourse } from '../src/server/admin/commands.ts';
import { linkIn, SESSION_COOKIE } from './support/accounts-env.ts';
import { paymentsEnv, signedUpVisitor, sitePath, startPaymentsSite, WEBHOOK_SECRET, type PaymentsSite } from './support/payments.ts';
import { freePort, startServer } from './support/server.ts';
import { createVisitor, type Visitor } from './support/visitor.ts';

const COURSE = 'python-fundamentals';
const FIRST_LESSON = `/courses/${COURSE}/why-python/`;
const PAID_LESSON = `/courses/${COURSE}/control-flow/`;

let site: PaymentsSite;

beforeAll(async () => {
  site = await startPaymentsSite(inject('dist'));
});
afterAll(async () => {
  await site?.stop();
});

async function query<T = Record<string, unknown>>(sql: string, args: (string | number)[] = []): Promise<T[]> {
  return (await site.store.client.execute({ sql, args })).rows as T[];
}

/** The ledger of a member's purchases of a course, oldest first, as `action:reason`. */
async function ledger(email: string, course = COURSE): Promise<string[]> {
  const rows = await query<{ action: string; reason: string }>(
    `SELECT l.action, l.reason FROM access_ledger l JOIN users u ON u.id = l.user_id
     WHERE u.email = ? AND l.course_slug = ? ORDER BY l.purchase_id, l.seq`,
    [email, course],
  );
  return rows.map((row) => `${row.action}:${row.reason}`);
}

async function purchasesOf(email: string) {
  return query<{
    id: number;
    course_slug: string;
    amount_minor: number;
    currency: string;
    status: string;
    amount_refunded_minor: number;
    created_user: number;
    payment_intent_id: string;
    checkout_session_id: string;
    tax_minor: number;
    subtotal_minor: number | null;
    invoice_id: string | null;
    consent_given: number;
  }>('SELECT p.* FROM purchases p JOIN users u ON u.id = p.user_id WHERE u.email = ? ORDER BY p.id', [email]);
}

/** What the member gets for a paid lesson: 200 (reads it), else sent to the offer (303) or, signed out, offered it (403). */
async function canRead(visitor: Visitor, path = PAID_LESSON): Promise<boolean> {
  const response = await visitor.get(path);
  await response.arrayBuffer();
  if (response.status === 200) return true;
  expect([303, 403]).toContain(response.status);
  return false;
}

/** The success page as `visitor` sees it: its status, its text, and the confirmation's start link (null on any other page). */
async function successPage(visitor: Visitor, path: string): Promise<{ status: number; html: string; start: string | null }> {
  const response = await visitor.get(path);
  const html = await response.text();
  const start = response.status === 200 ? (/<a class="button" href="([^"]+)">Start the course<\/a>/.exec(html)?.[1] ?? null) : null;
  return { status: response.status, html, start };
}

/** Starts a checkout as the visitor; returns the stand-in session id. */
async function startCheckout(visitor: Visitor, course = COURSE, extra: Record<string, string> = {}): Promise<string> {
  const response = await visitor.post('/api/checkout', { course, ...extra });
  expect(response.status).toBe(303);
  const location = response.headers.get('location')!;
  expect(location.startsWith(site.standin.url)).toBe(true);
  return location.split('/').pop()!;
}

async function pay(sessionId: string, options: { email?: string; delayed?: boolean; deliver?: boolean } = {}): Promise<string> {
  const { redirect } = await site.control(`/_standin/checkout/${sessionId}/pay`, options);
  return sitePath(redirect);
}

async function paymentIntentOf(sessionId: string): Promise<string> {
  const session = await site.stripe.checkout.sessions.retrieve(sessionId);
  return session.payment_intent as string;
}

async function eventsOf(type: string, objectId: string): Promise<Stripe.Event[]> {
  const events = await site.stripe.events.list({ type, limit: 100 });
  return events.data.filter((event) => {
    const object = event.data.object as { id: string; payment_intent?: string };
    return object.id === objectId || object.payment_intent === objectId;
  });
}

async function deliver(eventId: string, times = 1, concurrent = false) {
  const { statuses } = await site.control(`/_standin/events/${eventId}/deliver`, { times, concurrent });
  return statuses as (number | null)[];
}

describe('a signed-in member buys a course', () => {
  let visitor: Visitor;
  let sessionId: string;

  test('checkout creates a session with the store price, metadata and prefilled email', async () => {
    visitor = await signedUpVisitor(site, 'buyer@example.com');
    expect(await canRead(visitor)).toBe(false);
    // Price fields in the form are ignored: the store's copy of the course decides.
    sessionId = await startCheckout(visitor, COURSE, { price: '1', amount: '1', currency: 'jpy', unit_amount: '1' });
    const session = await site.stripe.checkout.sessions.retrieve(sessionId, { expand: ['line_items'] });
    expect(session.mode).toBe('payment');
    expect(session.amount_total).toBe(4900);
    expect(session.currency).toBe('usd');
    expect(session.line_items!.data[0]!.price!.unit_amount).toBe(4900);
    expect(session.customer_email).toBe('buyer@example.com');
    expect(session.metadata).toMatchObject({ course: COURSE, course_store_site: 'courses.test' });
    expect(session.metadata!.user_id).toMatch(/^\d+$/);
    expect(session.client_reference_id).toBe(session.metadata!.user_id);
    expect(session.success_url).toBe('https://courses.test/checkout/success?session_id={CHECKOUT_SESSION_ID}');
    expect(session.cancel_url).toBe(`https://courses.test/checkout/cancelled?course=${COURSE}`);
    expect(await purchasesOf('buyer@example.com')).toEqual([]);
  });

  test('a second click within the hour reuses the same session (idempotency key)', async () => {
    expect(await startCheckout(visitor)).toBe(sessionId);
  });

  test('cancelling at Stripe returns to the course page at its notice, which the static page shows by CSS; nothing is recorded', async () => {
    // The button of Stripe's hosted page (the stand-in's) that goes back to the site.
    const hosted = (await site.stripe.checkout.sessions.retrieve(sessionId)).url!;
    const cancelled = await fetch(hosted, { method: 'POST', body: new URLSearchParams({ action: 'cancel' }), redirect: 'manual' });
    expect(cancelled.status).toBe(303);
    const back = new URL(cancelled.headers.get('location')!);
    expect(back.pathname + back.search).toBe(`/checkout/cancelled?course=${COURSE}`);
    // Our redirect adds the fragment, which a URL handed to Stripe might not keep intact.
    const page = await visitor.get(back.pathname + back.search);
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe(`/courses/${COURSE}/#checkout-cancelled`);
    for (const hostile of ['../../admin', '', 'a b', '%2e%2e', 'x'.repeat(300)])
      expect((await visitor.get(`/checkout/cancelled?course=${encodeURIComponent(hostile)}`)).headers.get('location'), hostile).toBe('/');
    const course = await (await visitor.get(`/courses/${COURSE}/`)).text();
    expect(course).toMatch(
      /<p class="notice target-notice" id="checkout-cancelled" role="status">\s*Checkout cancelled: nothing was charged\. The course is here whenever you want it\.\s*<\/p>/,
    );
    expect(await purchasesOf('buyer@example.com')).toEqual([]);
    // Going back is not cancelling the session at Stripe: the buyer may still pay it.
    expect((await site.stripe.checkout.sessions.retrieve(sessionId)).status).toBe('open');
  });

  test('paying fulfils once; the success page confirms the course, where the receipt went, and starts at the first lesson', async () => {
    const success = await pay(sessionId);
    expect(success).toBe(`/checkout/success?session_id=${sessionId}`);
    const page = await successPage(visitor, success);
    expect(page).toMatchObject({ status: 200, start: FIRST_LESSON });
    expect(page.html).toMatch(/<h1>Thank you for your purchase<\/h1>/);
    expect(page.html).toContain('<strong>Python Fundamentals</strong> is yours');
    expect(page.html).toContain('Your receipt is on its way to <strong>buyer@example.com</strong>.');
    expect(page.html).not.toContain('choose your password');
    // The receipt really goes where the page says.
    expect((await site.sink.waitFor('buyer@example.com', { subject: /Python Fundamentals/ })).text).toContain('$49');
    expect(await ledger('buyer@example.com')).toEqual(['grant:purchase']);
    const [purchase] = await purchasesOf('buyer@example.com');
    expect(purchase).toMatchObject({ course_slug: COURSE, amount_minor: 4900, currency: 'USD', status: 'paid', created_user: 0 });
    expect(purchase!.payment_intent_id).toMatch(/^pi_/);
    expect(await canRead(visitor)).toBe(true);
    // The webhook arrived before the success page (the stand-in delivers first); both ran once.
    const [grant] = await query<{ stripe_event_id: string | null; stripe_object_id: string }>('SELECT * FROM access_ledger WHERE purchase_id = ?', [
      purchase!.id,
    ]);
    expect(grant!.stripe_object_id).toBe(sessionId);
    expect(grant!.stripe_event_id).toMatch(/^evt_/);
  });

  test('an owner who presses buy again is sent to the course instead of paying twice', async () => {
    const response = await visitor.post('/api/checkout', { course: COURSE });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(FIRST_LESSON);
  });

  test('the success page is idempotent', async () => {
    const again = await successPage(visitor, `/checkout/success?session_id=${sessionId}`);
    expect(again.start).toBe(FIRST_LESSON);
    expect(await purchasesOf('buyer@example.com')).toHaveLength(1);
  });

  test('the purchase email comes from MAIL_FROM with the site’s name in its subject; its text and HTML parts carry the order number and the amount as the site writes it', async () => {
    const email = 'buyer@example.com';
    const mail = await site.sink.waitFor(email, { subject: /is ready/ });
    const [purchase] = await purchasesOf(email);
    const number = `courses.test-${purchase!.id}`;
    // The price as the course page shows it, so the email cannot drift from the site's format.
    const shown = /Buy for ([^<]+)</.exec(await (await visitor.get(`/courses/${COURSE}/`)).text())?.[1];
    expect(shown).toBe('$49');

    expect(mail.subject).toBe('Your course "Python Fundamentals" at Practical Python Courses is ready');
    expect(mail.from).toBe('courses@courses.test');
    expect(/^From: (.*)$/im.exec(mail.raw)?.[1]?.trim()).toBe('Courses <courses@courses.test>');

    expect(mail.text).toMatch(/^Practical Python Courses\r?\n/);
    expect(mail.text).toMatch(new RegExp(`Order number: ${number.replace('.', '\\.')}\\r?\\nAmount paid: \\$49\\r?\\n`));
    expect(mail.text).toMatch(new RegExp(`Start the course:\\r?\\nhttps://courses\\.test${FIRST_LESSON}`));
    expect(mail.text).not.toMatch(/<[a-z/]/i);

    expect(mail.html).toMatch(new RegExp(`Order number</th><td[^>]*>${number}</td>`));
    expect(mail.html).toMatch(/Amount paid<\/th><td[^>]*>\$49<\/td>/);
    expect(mail.html).toContain(`<a href="https://courses.test${FIRST_LESSON}" style="display: inline-block;`);
    expect(mail.html).toContain('<a href="https://courses.test/" style="color: #1b1f24; text-decoration: none;">Practical Python Courses</a>');
    // Mail clients drop <style>: the look is inline.
    expect(mail.html).not.toContain('<style');
  });

  test('without tax settings the session asks for no tax, and /account/purchases links to a printable receipt from the store', async () => {
    const session = await site.stripe.checkout.sessions.retrieve(sessionId);
    expect(session).toMatchObject({ automatic_tax: { enabled: false }, invoice_creation: null, consent_collection: null, invoice: null });
    const [purchase] = await purchasesOf('buyer@example.com');
    expect(purchase).toMatchObject({ tax_minor: 0, subtotal_minor: 4900, invoice_id: null, consent_given: 0 });
    const page = (await (await visitor.get('/account/purchases')).text()).replaceAll('\u00a0', ' ');
    expect(page).toContain('$49');
    const receiptUrl = /<a href="([^"]+)" data-receipt>Receipt<\/a>/.exec(page)![1]!.replaceAll('&amp;', '&');
    expect(receiptUrl).toBe(`/account/receipt?purchase=${purchase!.id}`);
    const receipt = await visitor.get(receiptUrl);
    expect(receipt.status).toBe(200);
    const text = (await receipt.text()).replaceAll('\u00a0', ' ');
    expect(text).toContain('buyer@example.com');
    expect(text).toMatch(/Total paid<\/th><td>\$49</);
    expect(text).not.toContain('Tax country');
  });
});

describe('a guest buys without an account', () => {
  test('the account is created, the buyer is signed in and mailed a set-password link', async () => {
    const guest = createVisitor(site.server.url);
    const sessionId = await startCheckout(guest);
    // The browser that started the checkout holds a random secret; the store only its hash.
    const secret = guest.cookie('__Host-checkout')!;
    expect(secret).toMatch(/^[\w-]{43}$/);
    const [start] = await query<{ browser_secret_hash: string; used_at: number | null }>('SELECT * FROM checkout_starts WHERE checkout_session_id = ?', [
      sessionId,
    ]);
    expect(start).toMatchObject({ browser_secret_hash: createHash('sha256').update(secret).digest('hex'), used_at: null });
    const success = await pay(sessionId, { email: 'Guest.Buyer@Example.com' });
    expect(success).not.toContain(secret);
    const page = await successPage(guest, success);
    expect(page).toMatchObject({ status: 200, start: FIRST_LESSON });
    expect(page.html).toContain(
      'Your receipt is on its way to <strong>guest.buyer@example.com</strong>, with a link to choose your password so that you can sign in on any device.',
    );
    expect(guest.cookie(SESSION_COOKIE)).toBeTruthy();
    const [used] = await query<{ used_at: number | null }>('SELECT used_at FROM checkout_starts WHERE checkout_session_id = ?', [sessionId]);
    expect(used!.used_at).toBeGreaterThan(0);
    const [user] = await query<{ password_hash: string | null }>('SELECT * FROM users WHERE email = ?', ['guest.buyer@example.com']);
    expect(user!.password_hash).toBeNull();
    expect(await ledger('guest.buyer@example.com')).toEqual(['grant:purchase']);
    expect((await purchasesOf('guest.buyer@example.com'))[0]!.created_user).toBe(1);
    expect(await canRead(guest)).toBe(true);
    // Every page offers to choose a password until there is one.
    expect(await (await guest.get('/api/me')).json()).toMatchObject({ signedIn: true, email: 'guest.buyer@example.com', hasPassword: false });
    expect(await (await guest.get('/account')).text()).toContain('has no password yet');

    const mail = await site.sink.waitFor('guest.buyer@example.com');
    expect(mail.subject).toContain('set a password');
    const link = linkIn(mail.text);
    expect(link).toMatch(/^\/reset\?token=[\w-]{43}&welcome=1$/);
    // The link opens a page about choosing a first password, not resetting one, without the banner
    // that says there is none yet (the page hides it, site.css) saying it twice.
    const choose = await (await guest.get(link)).text();
    expect(choose).toMatch(/<h1>Choose your password<\/h1>/);
    expect(choose).toContain('Choose a password for <strong>guest.buyer@example.com</strong>');
    expect(choose).toMatch(/<form class="form" method="post" action="\/api\/auth\/reset" data-choosing-password>/);
    expect(choose).not.toContain('Reset your password');
    // The link sets a password and signs in.
    const token = new URL(link, 'https://x').searchParams.get('token')!;
    const reset = await createVisitor(site.server.url).post('/api/auth/reset', { token, password: 'a brand new passphrase' });
    expect(reset.status).toBe(303);
    const after = await query<{ password_hash: string | null }>('SELECT * FROM users WHERE email = ?', ['guest.buyer@example.com']);
    expect(after[0]!.password_hash).toMatch(/^pbkdf2/);
  });

  test('a guest whose email has an account that is not signed in is asked to sign in; the purchase is theirs', async () => {
    await signedUpVisitor(site, 'existing@example.com');
    const guest = createVisitor(site.server.url);
    const sessionId = await startCheckout(guest, 'python-for-finance');
    const page = await guest.get(await pay(sessionId, { email: 'existing@example.com' }));
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('e•••@example.com');
    expect(html).toContain('/login?next=%2Fcourses%2Fpython-for-finance%2F');
    expect(guest.cookie(SESSION_COOKIE)).toBeUndefined();
    expect(await ledger('existing@example.com', 'python-for-finance')).toEqual(['grant:purchase']);
    expect((await purchasesOf('existing@example.com'))[0]).toMatchObject({ amount_minor: 7900, currency: 'EUR', created_user: 0 });
  });

  test('the success URL opened in another browser does not sign anyone in', async () => {
    const guest = createVisitor(site.server.url);
    const sessionId = await startCheckout(guest);
    const success = await pay(sessionId, { email: 'leaky@example.com' });
    const stranger = createVisitor(site.server.url);
    const page = await stranger.get(success);
    expect(page.status).toBe(200);
    expect(stranger.cookie(SESSION_COOKIE)).toBeUndefined();
    expect(await page.text()).toContain('l•••@example.com');
    expect(await ledger('leaky@example.com')).toEqual(['grant:purchase']);
  });
});

describe('webhooks and the success page in every order', () => {
  test('the buyer closes the tab before the success page: the webhook alone fulfils', async () => {
    const visitor = await signedUpVisitor(site, 'tab-closer@example.com');
    await pay(await startCheckout(visitor));
    expect(await ledger('tab-closer@example.com')).toEqual(['grant:purchase']);
    expect(await canRead(visitor)).toBe(true);
  });

  test('the webhook never arrives: the success page alone fulfils, and reconcile fixes the rest', async () => {
    await site.control('/_standin/config', { deliver: false });
    try {
      const visitor = await signedUpVisitor(site, 'no-webhook@example.com');
      const first = await startCheckout(visitor);
      const success = await pay(first);
      expect(await ledger('no-webhook@example.com')).toEqual([]);
      expect((await successPage(visitor, success)).start).toBe(FIRST_LESSON);
      expect(await ledger('no-webhook@example.com')).toEqual(['grant:purchase']);

      // Neither webhook nor success page for this one; then a refund of the first the store misses.
      const second = await startCheckout(visitor, 'running-python-scripts');
      await pay(second);
      await site.control('/_standin/refund', { payment_intent: await paymentIntentOf(first) });
      expect(await ledger('no-webhook@example.com', 'running-python-scripts')).toEqual([]);

      const output = await reconcileScript();
      expect(output).toMatch(/recorded purchase \d+: running-python-scripts/);
      expect(output).toMatch(/python-fundamentals\): refunded, access revoke/);
      expect(await ledger('no-webhook@example.com', 'running-python-scripts')).toEqual(['grant:purchase']);
      expect(await ledger('no-webhook@example.com')).toEqual(['grant:purchase', 'revoke:refund']);
      expect(await canRead(visitor)).toBe(false);
      expect(await canRead(visitor, '/courses/running-python-scripts/virtual-environments/')).toBe(true);
      // A second run changes nothing.
      expect(await reconcileScript()).toContain('Nothing to change');
    } finally {
      await site.control('/_standin/config', { deliver: true });
    }
  });

  test('the same event delivered 20 times at once, racing the success page, grants once', async () => {
    const visitor = await signedUpVisitor(site, 'storm@example.com');
    const sessionId = await startCheckout(visitor);
    await pay(sessionId, { deliver: false });
    const [event] = await eventsOf('checkout.session.completed', sessionId);
    // The success page races the deliveries too.
    const [statuses, ...pages] = await Promise.all([
      deliver(event!.id, 20, true),
      ...Array.from({ length: 5 }, () => successPage(visitor, `/checkout/success?session_id=${sessionId}`)),
    ]);
    expect(statuses).toEqual(Array(20).fill(200));
    expect(pages.map((page) => page.start)).toEqual(Array(5).fill(FIRST_LESSON));
    expect(await ledger('storm@example.com')).toEqual(['grant:purchase']);
    expect(await purchasesOf('storm@example.com')).toHaveLength(1);
    expect(await query('SELECT * FROM stripe_events WHERE id = ?', [event!.id])).toHaveLength(1);
  });

  test('a refund whose event arrives before the completion event: grant then revoke, no access', async () => {
    const visitor = await signedUpVisitor(site, 'refund-first@example.com');
    const sessionId = await startCheckout(visitor);
    await pay(sessionId, { deliver: false });
    const intent = await paymentIntentOf(sessionId);
    await site.control('/_standin/refund', { payment_intent: intent, deliver: false });
    const [refunded] = await eventsOf('charge.refunded', intent);
    const [completed] = await eventsOf('checkout.session.completed', sessionId);
    expect(await deliver(refunded!.id)).toEqual([200]);
    expect(await deliver(completed!.id)).toEqual([200]);
    expect(await ledger('refund-first@example.com')).toEqual(['grant:purchase', 'revoke:refund']);
    expect((await purchasesOf('refund-first@example.com'))[0]!.status).toBe('refunded');
    expect(await canRead(visitor)).toBe(false);
  });
});

describe('refunds and disputes', () => {
  test('a partial refund is recorded and keeps access; a full refund revokes it', async () => {
    const visitor = await signedUpVisitor(site, 'refunds@example.com');
    const sessionId = await startCheckout(visitor);
    await visitor.get(await pay(sessionId));
    const intent = await paymentIntentOf(sessionId);
    await site.control('/_standin/refund', { payment_intent: intent, amount: 1000 });
    expect((await purchasesOf('refunds@example.com'))[0]).toMatchObject({ status: 'partially_refunded', amount_refunded_minor: 1000 });
    expect(await ledger('refunds@example.com')).toEqual(['grant:purchase']);
    expect(await canRead(visitor)).toBe(true);

    await site.control('/_standin/refund', { payment_intent: intent });
    expect((await purchasesOf('refunds@example.com'))[0]).toMatchObject({ status: 'refunded', amount_refunded_minor: 4900 });
    expect(await ledger('refunds@example.com')).toEqual(['grant:purchase', 'revoke:refund']);
    expect(await canRead(visitor)).toBe(false);
    // Back to the offer: buying again is possible.
    expect((await visitor.post('/api/checkout', { course: COURSE })).headers.get('location')).toContain(site.standin.url);
  });

  test('a dispute suspends access; won restores it', async () => {
    const visitor = await signedUpVisitor(site, 'dispute-won@example.com');
    const sessionId = await startCheckout(visitor);
    await pay(sessionId);
    const { dispute } = await site.control('/_standin/dispute', { payment_intent: await paymentIntentOf(sessionId) });
    expect(await ledger('dispute-won@example.com')).toEqual(['grant:purchase', 'suspend:dispute_created']);
    expect(await canRead(visitor)).toBe(false);
    await site.control(`/_standin/dispute/${dispute.id}/close`, { outcome: 'won' });
    expect(await ledger('dispute-won@example.com')).toEqual(['grant:purchase', 'suspend:dispute_created', 'restore:dispute_won']);
    expect(await canRead(visitor)).toBe(true);
  });

  test('a lost dispute revokes access', async () => {
    const visitor = await signedUpVisitor(site, 'dispute-lost@example.com');
    const sessionId = await startCheckout(visitor);
    await pay(sessionId);
    const { dispute } = await site.control('/_standin/dispute', { payment_intent: await paymentIntentOf(sessionId) });
    await site.control(`/_standin/dispute/${dispute.id}/close`, { outcome: 'lost' });
    expect(await ledger('dispute-lost@example.com')).toEqual(['grant:purchase', 'suspend:dispute_created', 'revoke:dispute_lost']);
    expect((await purchasesOf('dispute-lost@example.com'))[0]!.status).toBe('dispute_lost');
    expect(await canRead(visitor)).toBe(false);
  });

  test('dispute events delivered in reverse order still end revoked', async () => {
    const visitor = await signedUpVisitor(site, 'dispute-reverse@example.com');
    const sessionId = await startCheckout(visitor);
    await pay(sessionId);
    const intent = await paymentIntentOf(sessionId);
    const { dispute } = await site.control('/_standin/dispute', { payment_intent: intent, deliver: false });
    await site.control(`/_standin/dispute/${dispute.id}/close`, { outcome: 'lost', deliver: false });
    const [closed] = await eventsOf('charge.dispute.closed', intent);
    const [created] = await eventsOf('charge.dispute.created', intent);
    await deliver(closed!.id);
    await deliver(created!.id);
    expect(await ledger('dispute-reverse@example.com')).toEqual(['grant:purchase', 'revoke:dispute_lost']);
    expect(await canRead(visitor)).toBe(false);
  });
});

describe('money that comes back: failed and cancelled refunds, disputes won on appeal, inquiries', () => {
  /** A signed-up member who paid for the course, with the payment's intent. */
  async function paidMember(email: string) {
    const visitor = await signedUpVisitor(site, email);
    const sessionId = await startCheckout(visitor);
    await visitor.get(await pay(sessionId));
    return { visitor, intent: await paymentIntentOf(sessionId) };
  }

  test('a full refund that fails later restores access, with a restore entry', async () => {
    const { visitor, intent } = await paidMember('refund-failed@example.com');
    const { refund } = await site.control('/_standin/refund', { payment_intent: intent });
    expect(await ledger('refund-failed@example.com')).toEqual(['grant:purchase', 'revoke:refund']);
    expect(await canRead(visitor)).toBe(false);

    await site.control(`/_standin/refund/${refund.id}/fail`, { failure_reason: 'expired_or_canceled_card' });
    expect(await ledger('refund-failed@example.com')).toEqual(['grant:purchase', 'revoke:refund', 'restore:refund_failed']);
    expect((await purchasesOf('refund-failed@example.com'))[0]).toMatchObject({ status: 'paid', amount_refunded_minor: 0 });
    expect(await canRead(visitor)).toBe(true);
    // The three events of the failure (charge.refund.updated, refund.updated, refund.failed) restored it once.
    const [row] = await query<{ object: string }>(
      "SELECT stripe_object_id AS object FROM access_ledger WHERE action = 'restore' AND reason = 'refund_failed' AND user_id = (SELECT id FROM users WHERE email = ?)",
      ['refund-failed@example.com'],
    );
    expect(row!.object).toBe(refund.id);

    // Refunded again for good: revoked again.
    await site.control('/_standin/refund', { payment_intent: intent });
    expect(await ledger('refund-failed@example.com')).toEqual(['grant:purchase', 'revoke:refund', 'restore:refund_failed', 'revoke:refund']);
    expect(await canRead(visitor)).toBe(false);
  });

  test('a refund cancelled while it waited for the customer restores access', async () => {
    const { visitor, intent } = await paidMember('refund-cancelled@example.com');
    const { refund } = await site.control('/_standin/refund', { payment_intent: intent, requires_action: true });
    expect(await ledger('refund-cancelled@example.com')).toEqual(['grant:purchase', 'revoke:refund']);
    await site.stripe.refunds.cancel(refund.id);
    await site.standin.idle();
    expect(await ledger('refund-cancelled@example.com')).toEqual(['grant:purchase', 'revoke:refund', 'restore:refund_canceled']);
    expect(await canRead(visitor)).toBe(true);
  });

  test('a lost dispute won on appeal restores access', async () => {
    const { visitor, intent } = await paidMember('dispute-appeal@example.com');
    const { dispute } = await site.control('/_standin/dispute', { payment_intent: intent });
    await site.control(`/_standin/dispute/${dispute.id}/close`, { outcome: 'lost' });
    expect(await canRead(visitor)).toBe(false);
    await site.control(`/_standin/dispute/${dispute.id}/reverse`, {});
    expect(await ledger('dispute-appeal@example.com')).toEqual(['grant:purchase', 'suspend:dispute_created', 'revoke:dispute_lost', 'restore:dispute_won']);
    expect((await purchasesOf('dispute-appeal@example.com'))[0]!.status).toBe('dispute_won');
    expect(await canRead(visitor)).toBe(true);
  });

  test('an inquiry (warning_needs_response) keeps access: it moves no money (docs/payments.md)', async () => {
    const { visitor, intent } = await paidMember('inquiry@example.com');
    const { dispute } = await site.control('/_standin/dispute', { payment_intent: intent, inquiry: true });
    expect(await ledger('inquiry@example.com')).toEqual(['grant:purchase']);
    expect(await canRead(visitor)).toBe(true);
    await site.control(`/_standin/dispute/${dispute.id}/close`, { outcome: 'warning_closed' });
    expect(await ledger('inquiry@example.com')).toEqual(['grant:purchase']);
    expect(await canRead(visitor)).toBe(true);
  });

  test('an admin’s revoke stays: a refund that fails afterwards gives nothing back', async () => {
    const { visitor, intent } = await paidMember('revoked-by-admin@example.com');
    const revoked = await revokeCourse(
      { db: site.store.db, clock: { now: () => Date.now() } },
      { email: 'revoked-by-admin@example.com', course: COURSE, reason: 'abuse', actor: { userId: null, via: 'cli' } },
    );
    expect(revoked.kind).toBe('revoked');
    const { refund } = await site.control('/_standin/refund', { payment_intent: intent });
    await site.control(`/_standin/refund/${refund.id}/fail`, {});
    expect(await ledger('revoked-by-admin@example.com')).toEqual(['grant:purchase', 'revoke:abuse']);
    expect(await canRead(visitor)).toBe(false);
  });
});

describe('currencies and payment methods', () => {
  test('a zero-decimal currency is charged in whole yen', async () => {
    const visitor = await signedUpVisitor(site, 'yen@example.com');
    const sessionId = await startCheckout(visitor, 'running-python-scripts');
    const session = await site.stripe.checkout.sessions.retrieve(sessionId);
    expect(session).toMatchObject({ amount_total: 4900, currency: 'jpy' });
    await visitor.get(await pay(sessionId));
    expect((await purchasesOf('yen@example.com'))[0]).toMatchObject({ amount_minor: 4900, currency: 'JPY' });
    expect(await ledger('yen@example.com', 'running-python-scripts')).toEqual(['grant:purchase']);
  });

  test('a delayed payment shows "processing" (and that an email comes) until it settles; the webhook grants and mails, then the page confirms', async () => {
    const visitor = await signedUpVisitor(site, 'delayed@example.com');
    const sessionId = await startCheckout(visitor);
    const success = await pay(sessionId, { delayed: true });
    expect((await site.stripe.checkout.sessions.retrieve(sessionId)).payment_status).toBe('unpaid');
    const page = await visitor.get(success);
    expect(page.status).toBe(200);
    expect(page.headers.get('refresh')).toBe('15');
    const text = await page.text();
    expect(text).toMatch(/<h1>Payment processing<\/h1>/);
    expect(text).toContain('is being processed by your bank');
    expect(text).toContain('we will email you');
    expect(text).not.toContain('Start the course');
    expect(await ledger('delayed@example.com')).toEqual([]);
    expect(await canRead(visitor)).toBe(false);
    // Only Stripe's async_payment_succeeded event, delivered to the webhook, grants: nobody visits the page meanwhile.
    await site.control(`/_standin/checkout/${sessionId}/async`, { outcome: 'succeeded' });
    expect(await eventsOf('checkout.session.async_payment_succeeded', sessionId)).toHaveLength(1);
    expect(await ledger('delayed@example.com')).toEqual(['grant:purchase']);
    expect(await canRead(visitor)).toBe(true);
    expect((await site.sink.waitFor('delayed@example.com', { subject: /Python Fundamentals/ })).text).toContain('$49');
    expect((await successPage(visitor, success)).start).toBe(FIRST_LESSON);
  });

  test('a failed delayed payment grants nothing', async () => {
    const visitor = await signedUpVisitor(site, 'delayed-failed@example.com');
    const sessionId = await startCheckout(visitor);
    const success = await pay(sessionId, { delayed: true });
    await site.control(`/_standin/checkout/${sessionId}/async`, { outcome: 'failed' });
    expect(await ledger('delayed-failed@example.com')).toEqual([]);
    const page = await visitor.get(success);
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe(`/courses/${COURSE}/`);
  });
});

describe('what is refused', () => {
  test('a forged or missing signature is a 400 and writes nothing', async () => {
    const before = await query('SELECT count(*) AS n FROM purchases');
    const visitor = await signedUpVisitor(site, 'forger@example.com');
    const sessionId = await startCheckout(visitor);
    await pay(sessionId, { deliver: false });
    const [event] = await eventsOf('checkout.session.completed', sessionId);
    const body = JSON.stringify(event);
    const forged = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: 'whsec_someone_else' });
    const url = `${site.server.url}/api/stripe/webhook`;
    for (const headers of [{ 'stripe-signature': forged }, {}, { 'stripe-signature': 't=1,v1=deadbeef' }] as Record<string, string>[]) {
      const response = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
      expect(response.status).toBe(400);
    }
    // A valid signature over a different body (tampered after signing) is refused too.
    const signed = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: WEBHOOK_SECRET });
    const tampered = await fetch(url, {
      method: 'POST',
      body: body.replace('"paid"', '"paid" '),
      headers: { 'content-type': 'application/json', 'stripe-signature': signed },
    });
    expect(tampered.status).toBe(400);
    expect(await query('SELECT count(*) AS n FROM purchases')).toEqual(before);
    expect(await ledger('forger@example.com')).toEqual([]);
  });

  test('a dispute about a charge Stripe does not know is acknowledged and logged, not retried for days', async () => {
    const before = await query('SELECT (SELECT count(*) FROM purchases) AS p, (SELECT count(*) FROM access_ledger) AS l');
    const payload = JSON.stringify({
      id: 'evt_unknown_charge_1',
      object: 'event',
      type: 'charge.dispute.created',
      data: { object: { id: 'dp_unknown_1', object: 'dispute', charge: 'ch_nobody_knows', payment_intent: null, status: 'needs_response' } },
    });
    const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
    const response = await fetch(`${site.server.url}/api/stripe/webhook`, {
      method: 'POST',
      body: payload,
      headers: { 'content-type': 'application/json', 'stripe-signature': signature },
    });
    expect(response.status).toBe(200);
    expect(site.server.logs()).toMatch(/"event":"webhook\.unknown-object","eventId":"evt_unknown_charge_1"/);
    expect(await query('SELECT (SELECT count(*) FROM purchases) AS p, (SELECT count(*) FROM access_ledger) AS l')).toEqual(before);
  });

  test('an event type the site does not handle is acknowledged', async () => {
    const payload = JSON.stringify({ id: 'evt_unhandled_1', object: 'event', type: 'customer.created', data: { object: { id: 'cus_1', object: 'customer' } } });
    const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
    const response = await fetch(`${site.server.url}/api/stripe/webhook`, {
      method: 'POST',
      body: payload,
      headers: { 'content-type': 'application/json', 'stripe-signature': signature },
    });
    expect(response.status).toBe(200);
  });

  test('a session from another site on the same Stripe account is ignored', async () => {
    const foreign = await site.stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 4900, product_data: { name: 'Other site' } } }],
      metadata: { course_store_site: 'blog.example.org', course: COURSE },
      success_url: 'https://blog.example.org/thanks?session_id={CHECKOUT_SESSION_ID}',
    });
    await pay(foreign.id, { email: 'other-site@example.com' });
    const page = await createVisitor(site.server.url).get(`/checkout/success?session_id=${foreign.id}`);
    expect(page.status).toBe(404);
    expect(await query('SELECT * FROM users WHERE email = ?', ['other-site@example.com'])).toEqual([]);
    expect(await query('SELECT * FROM purchases WHERE checkout_session_id = ?', [foreign.id])).toEqual([]);
  });

  test('unknown, unpublished and malformed courses are refused before Stripe is called', async () => {
    await query(
      "INSERT INTO courses (slug, title, price_minor, currency, published, position, content_hash, updated_at) VALUES ('retired-course', 'Retired', 1000, 'USD', 0, 99, 'x', 0)",
    );
    const visitor = createVisitor(site.server.url);
    const sessionsBefore = (await site.stripe.checkout.sessions.list({ limit: 100 })).data.length;
    expect((await visitor.post('/api/checkout', { course: 'no-such-course' })).status).toBe(404);
    expect((await visitor.post('/api/checkout', { course: 'retired-course' })).status).toBe(404);
    expect((await visitor.post('/api/checkout', { course: '../etc' })).status).toBe(400);
    expect((await visitor.post('/api/checkout', {})).status).toBe(400);
    expect((await visitor.post('/api/checkout', { course: COURSE }, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await visitor.get('/api/checkout')).status).toBe(405);
    expect((await site.stripe.checkout.sessions.list({ limit: 100 })).data.length).toBe(sessionsBefore);
  });

  test('unknown and malformed success URLs are a 404', async () => {
    const visitor = createVisitor(site.server.url);
    for (const id of ['', 'cs_test_doesnotexist123', '<script>', 'cs_' + 'a'.repeat(300)]) {
      expect((await visitor.get(`/checkout/success?session_id=${encodeURIComponent(id)}`)).status).toBe(404);
    }
  });
});

describe('when Stripe is unreachable', () => {
  test('checkout shows a clear error and records nothing; a webhook gets a 5xx so Stripe retries', async () => {
    const closedPort = await freePort();
    const server = await startServer({
      dist: inject('dist'),
      env: paymentsEnv({ databaseUrl: site.store.url, smtpUrl: site.sink.url, stripeApiBase: `http://127.0.0.1:${closedPort}` }),
    });
    try {
      const before = await query('SELECT (SELECT count(*) FROM purchases) AS p, (SELECT count(*) FROM users) AS u');
      const response = await createVisitor(server.url).post('/api/checkout', { course: COURSE });
      expect(response.status).toBe(503);
      expect(await response.text()).toContain('Nothing was charged');

      // A validly signed event whose session cannot be read from Stripe right now.
      const payload = JSON.stringify({
        id: 'evt_unreachable_1',
        object: 'event',
        type: 'checkout.session.completed',
        data: { object: { id: 'cs_test_unreachable', object: 'checkout.session' } },
      });
      const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
      const webhook = await fetch(`${server.url}/api/stripe/webhook`, {
        method: 'POST',
        body: payload,
        headers: { 'content-type': 'application/json', 'stripe-signature': signature },
      });
      expect(webhook.status).toBe(500);
      // The log line keeps its own name beside the event's id.
      expect(server.logs()).toMatch(/"event":"webhook\.failed","eventId":"evt_unreachable_1","type":"checkout\.session\.completed"/);
      expect(await query('SELECT * FROM stripe_events WHERE id = ?', ['evt_unreachable_1'])).toEqual([]);
      expect(await query('SELECT (SELECT count(*) FROM purchases) AS p, (SELECT count(*) FROM users) AS u')).toEqual(before);
    } finally {
      await server.stop();
    }
  });
});

async function reconcileScript(): Promise<string> {
  const env = paymentsEnv({ databaseUrl: site.store.url, smtpUrl: site.sink.url, stripeApiBase: site.standin.url });
  const run = await runScript('scripts/stripe-reconcile.ts', [], { env });
  if (run.code !== 0) throw new Error(`reconcile exited with ${run.code}:\n${run.output}`);
  return run.output;
}
