// The author's sales tools, end to end on the built server of a fixture site (tests/fixtures/
// courses-sales: codes on site-wide, one course that turns them off, a coming-soon course, a sale
// that ended), with the real `stripe` SDK against the stand-in, a real store and the SMTP sink.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { saleEndsAt } from '../src/catalog/schema.ts';
import { grantCourse } from '../src/server/admin/commands.ts';
import { buildSite } from './support/build.ts';
import { signedUpVisitor, sitePath, startPaymentsSite, type PaymentsSite } from './support/payments.ts';
import { createVisitor, type Visitor } from './support/visitor.ts';

const FIXTURE = 'tests/fixtures/courses-sales';
const AUTHOR = 'author@courses.test';
const PROMO = 'promo-course';
const NO_CODES = 'no-codes-course';
const COMING = 'coming-course';
const ENDED = 'ended-course';

let dist: string;
let site: PaymentsSite;

beforeAll(async () => {
  const build = await buildSite({ coursesDir: FIXTURE });
  if (build.code !== 0) throw new Error(`the sales fixture does not build:\n${build.output}`);
  dist = build.outDir;
  site = await startPaymentsSite(dist, { env: { AUTHOR_EMAIL: AUTHOR } });
  // What an author makes in the Stripe dashboard.
  const make = async (code: string, coupon: Parameters<typeof site.stripe.coupons.create>[0], extra: { max_redemptions?: number } = {}) =>
    site.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: (await site.stripe.coupons.create(coupon)).id }, code, ...extra });
  await make('SAVE25', { percent_off: 25, name: 'A quarter off' });
  await make('FREE100', { percent_off: 100 });
  await make('ONCEONLY', { amount_off: 500, currency: 'usd' }, { max_redemptions: 1 });
  await make('EUROS5', { amount_off: 500, currency: 'eur' });
});
afterAll(async () => {
  await site?.stop();
});

async function query<T = Record<string, unknown>>(sql: string, args: (string | number)[] = []): Promise<T[]> {
  return (await site.store.client.execute({ sql, args })).rows as T[];
}

async function count(table: string): Promise<number> {
  const [row] = await query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(row!.n);
}

async function startCheckout(visitor: Visitor, course: string): Promise<string> {
  const response = await visitor.post('/api/checkout', { course });
  expect(response.status).toBe(303);
  const location = response.headers.get('location')!;
  expect(location.startsWith(site.standin.url)).toBe(true);
  return location.split('/').pop()!;
}

async function pay(sessionId: string, options: { email?: string; promotion_code?: string; deliver?: boolean } = {}): Promise<string> {
  const { redirect } = await site.control(`/_standin/checkout/${sessionId}/pay`, options);
  return sitePath(redirect);
}

async function purchaseOf(sessionId: string) {
  const [row] = await query<{ id: number; user_id: number; amount_minor: number; currency: string; status: string; payment_intent_id: string | null }>(
    'SELECT * FROM purchases WHERE checkout_session_id = ?',
    [sessionId],
  );
  return row;
}

async function hostedPage(sessionId: string): Promise<string> {
  return (await fetch(`${site.standin.url}/c/pay/${sessionId}`)).text();
}

/** What the store and the stand-in hold, to prove that a refused request wrote nothing. */
async function writes(): Promise<string> {
  const sessions = (await site.stripe.checkout.sessions.list({ limit: 100 })).data.length;
  return JSON.stringify([sessions, await count('users'), await count('purchases'), await count('access_ledger'), await count('course_waitlist')]);
}

/** Every message the sink holds for `to` (about `about`, if given) once the server has sent what it will. */
async function settledMail(to: string, about = '') {
  // The sign-up confirmation is not a purchase mail.
  const matching = () => site.sink.messages.filter((m) => m.to.includes(to) && m.text.includes(about) && !m.subject.startsWith('Confirm your email address'));
  const deadline = Date.now() + 10_000;
  while (matching().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  // Anything sent twice would arrive within this grace period too.
  await new Promise((r) => setTimeout(r, 750));
  return matching();
}

/** Where the confirmation page after paying starts the course: its "Start the course" button. */
async function startOf(response: Response): Promise<string | undefined> {
  expect(response.status).toBe(200);
  return /<a class="button" href="([^"]+)">Start the course<\/a>/.exec(await response.text())?.[1];
}

describe('the sale window, read from front matter', () => {
  test('a date alone means the end of that day in UTC; a time needs its offset', () => {
    expect(saleEndsAt('2026-12-31')).toBe(Date.UTC(2027, 0, 1));
    expect(saleEndsAt('2026-12-31T18:00:00+01:00')).toBe(Date.UTC(2026, 11, 31, 17));
    expect(saleEndsAt('2026-12-31T18:00Z')).toBe(Date.UTC(2026, 11, 31, 18));
    expect(saleEndsAt('2026-12-31T18:00')).toBeNull();
    expect(saleEndsAt('2026-02-30')).toBeNull();
    expect(saleEndsAt('next week')).toBeNull();
  });

  test('the manifest carries the sales settings, and the sync stores them', async () => {
    const manifest = JSON.parse(readFileSync(join(dist, 'private/manifest.json'), 'utf8'));
    const bySlug = Object.fromEntries(manifest.courses.map((c: { slug: string }) => [c.slug, c]));
    expect(bySlug[PROMO]).toMatchObject({ promotionCodes: true, comingSoon: false, saleEndsAt: Date.UTC(2099, 6, 1) });
    expect(bySlug[NO_CODES]).toMatchObject({ promotionCodes: false, saleEndsAt: null });
    expect(bySlug[COMING]).toMatchObject({ comingSoon: true });
    expect(bySlug[ENDED]).toMatchObject({ saleEndsAt: Date.UTC(2020, 1, 1) });
    const rows = await query<{ slug: string; coming_soon: number; sale_ends_at: number | null; promotion_codes: number }>(
      'SELECT slug, coming_soon, sale_ends_at, promotion_codes FROM courses ORDER BY position',
    );
    expect(rows.map((r) => [r.slug, r.coming_soon, r.sale_ends_at, r.promotion_codes])).toEqual([
      [PROMO, 0, Date.UTC(2099, 6, 1), 1],
      [NO_CODES, 0, null, 0],
      [COMING, 1, null, 1],
      [ENDED, 0, Date.UTC(2020, 1, 1), 1],
    ]);
    // The sync that loaded the build is on record for the dashboard.
    const [sync] = await query<{ written: number; summary: string }>('SELECT written, summary FROM content_syncs');
    expect(sync!.written).toBeGreaterThan(0);
    expect(JSON.parse(sync!.summary).courses.added).toBe(4);
  });
});

describe('promotion codes', () => {
  test('a code lowers the amount charged, and the purchase records what was charged', async () => {
    const visitor = await signedUpVisitor(site, 'saver@example.com');
    const sessionId = await startCheckout(visitor, PROMO);
    const created = await site.stripe.checkout.sessions.retrieve(sessionId);
    expect(created.allow_promotion_codes).toBe(true);
    expect(created.amount_total).toBe(4000);
    expect(await hostedPage(sessionId)).toContain('name="promotion_code"');

    // Codes are matched without regard to case, as on Stripe's page.
    const success = await pay(sessionId, { promotion_code: 'save25' });
    const session = await site.stripe.checkout.sessions.retrieve(sessionId);
    expect(session).toMatchObject({ amount_subtotal: 4000, amount_total: 3000, payment_status: 'paid', total_details: { amount_discount: 1000 } });
    expect(session.discounts?.[0]?.promotion_code).toMatch(/^promo_/);
    expect(await startOf(await visitor.get(success))).toBe(`/courses/${PROMO}/start-here/`);
    const purchase = await purchaseOf(sessionId);
    expect(purchase).toMatchObject({ amount_minor: 3000, currency: 'USD', status: 'paid' });
    const intent = await site.stripe.paymentIntents.retrieve(purchase!.payment_intent_id!);
    expect(intent.amount).toBe(3000);
    expect((await visitor.get(`/courses/${PROMO}/paid-part/`)).status).toBe(200);
  });

  test('a course that turns codes off gets a checkout without a code field, and a code is refused', async () => {
    const visitor = await signedUpVisitor(site, 'full-price@example.com');
    const sessionId = await startCheckout(visitor, NO_CODES);
    expect((await site.stripe.checkout.sessions.retrieve(sessionId)).allow_promotion_codes).toBeNull();
    expect(await hostedPage(sessionId)).not.toContain('promotion_code');
    await expect(pay(sessionId, { promotion_code: 'SAVE25' })).rejects.toThrow(/does not accept promotion codes/);
    const session = await site.stripe.checkout.sessions.retrieve(sessionId);
    expect(session).toMatchObject({ status: 'open', amount_total: 2500, total_details: { amount_discount: 0 } });
    expect(await purchaseOf(sessionId)).toBeUndefined();
    // Paying without a code is the full price.
    await visitor.get(await pay(sessionId));
    expect(await purchaseOf(sessionId)).toMatchObject({ amount_minor: 2500 });
  });

  test('unknown, used-up and wrong-currency codes are refused on the hosted page, which keeps the price', async () => {
    const first = await startCheckout(await signedUpVisitor(site, 'once-a@example.com'), PROMO);
    await pay(first, { promotion_code: 'ONCEONLY' });
    expect(await purchaseOf(first)).toMatchObject({ amount_minor: 3500 });

    const sessionId = await startCheckout(await signedUpVisitor(site, 'once-b@example.com'), PROMO);
    for (const [code, message] of [
      ['NOSUCHCODE', 'This code is invalid.'],
      ['ONCEONLY', 'This code is no longer available.'],
      ['EUROS5', 'This code is not valid for purchases in USD.'],
    ]) {
      const page = await fetch(`${site.standin.url}/c/pay/${sessionId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ action: 'apply', promotion_code: code! }),
      });
      expect(page.status).toBe(400);
      expect(await page.text()).toContain(message);
    }
    expect(await site.stripe.checkout.sessions.retrieve(sessionId)).toMatchObject({ status: 'open', amount_total: 4000 });
    // Applied on the page, the discount shows before paying.
    const applied = await fetch(`${site.standin.url}/c/pay/${sessionId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ action: 'apply', promotion_code: 'SAVE25' }),
    });
    expect(applied.status).toBe(200);
    const html = await applied.text();
    expect(html).toContain('SAVE25');
    expect(html).toContain('$30.00');
  });

  test('a 100%-off code needs no payment, and fulfilment grants the course for nothing', async () => {
    const visitor = await signedUpVisitor(site, 'free@example.com');
    const sessionId = await startCheckout(visitor, PROMO);
    const success = await pay(sessionId, { promotion_code: 'FREE100' });
    const session = await site.stripe.checkout.sessions.retrieve(sessionId);
    expect(session).toMatchObject({ amount_total: 0, payment_status: 'no_payment_required', status: 'complete', payment_intent: null });
    expect(await startOf(await visitor.get(success))).toBe(`/courses/${PROMO}/start-here/`);
    expect(await purchaseOf(sessionId)).toMatchObject({ amount_minor: 0, status: 'paid', payment_intent_id: null });
    expect((await visitor.get(`/courses/${PROMO}/paid-part/`)).status).toBe(200);
  });
});

describe('purchase emails', () => {
  test('buyer and author each get one email, however many webhooks race the success page', async () => {
    const email = 'racer@example.com';
    const visitor = await signedUpVisitor(site, email);
    const sessionId = await startCheckout(visitor, PROMO);
    await pay(sessionId, { promotion_code: 'SAVE25', deliver: false });
    const events = await site.stripe.events.list({ type: 'checkout.session.completed', limit: 100 });
    const event = events.data.find((e) => (e.data.object as { id: string }).id === sessionId)!;
    const [{ statuses }, ...pages] = await Promise.all([
      site.control(`/_standin/events/${event.id}/deliver`, { times: 10, concurrent: true }),
      ...Array.from({ length: 5 }, () => visitor.get(`/checkout/success?session_id=${sessionId}`)),
    ]);
    expect(statuses).toEqual(Array(10).fill(200));
    expect(await Promise.all(pages.map(startOf))).toEqual(Array(5).fill(`/courses/${PROMO}/start-here/`));
    const purchase = (await purchaseOf(sessionId))!;

    const [buyerMail, ...more] = await settledMail(email);
    expect(more).toEqual([]);
    expect(buyerMail!.subject).toBe('Your course "Promo Course" at Sales Fixture is ready');
    expect(buyerMail!.text).toContain('Thank you for buying "Promo Course".');
    expect(buyerMail!.text).toMatch(new RegExp(`Order number: courses\\.test-${purchase.id}\\r?\\nAmount paid: \\$30, after a discount of \\$10\\r?\\n`));
    expect(buyerMail!.text).toMatch(new RegExp(`Start the course:\\r?\\nhttps://courses\\.test/courses/${PROMO}/start-here/`));
    expect(buyerMail!.text).toContain(`sign in at https://courses.test/login with this email address (${email})`);
    expect(buyerMail!.html).toContain(`href="https://courses.test/courses/${PROMO}/start-here/"`);
    expect(buyerMail!.text).not.toContain('/reset?token=');

    // Other tests' purchases notify the author too: these are the ones about this buyer.
    const authorMail = await settledMail(AUTHOR, email);
    expect(authorMail).toHaveLength(1);
    expect(authorMail[0]!.subject).toBe('New sale at Sales Fixture: Promo Course ($30)');
    expect(authorMail[0]!.text).toContain(`Order number: courses.test-${purchase.id}`);
    expect(authorMail[0]!.text).toContain(`${email} bought "Promo Course" (${PROMO}).`);
    expect(authorMail[0]!.text).toContain('Charged: $30, after a discount of $10, with the promotion code SAVE25.');
    expect(authorMail[0]!.text).toContain(`https://courses.test/admin/members/${purchase.user_id}`);
  });

  test('a guest gets one email: the purchase, the start link and the link to choose a password', async () => {
    const email = 'new-buyer@example.com';
    const guest = createVisitor(site.server.url);
    const sessionId = await startCheckout(guest, NO_CODES);
    const page = await guest.get(await pay(sessionId, { email }));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`<a class="button" href="/courses/${NO_CODES}/intro/">Start the course</a>`);
    const mails = await settledMail(email);
    expect(mails).toHaveLength(1);
    const [mail] = mails;
    expect(mail!.subject).toBe('Your course is ready: set a password for Sales Fixture');
    expect(mail!.text).toContain('Thank you for buying "No Codes Course".');
    expect(mail!.text).toMatch(/Order number: courses\.test-\d+\r?\nAmount paid: \$25\r?\n/);
    // The set-password link comes first: it is the one thing a new account needs.
    expect(/https:\/\/courses\.test(\/\S+)/.exec(mail!.text)![1]).toMatch(/^\/reset\?token=[\w-]{43}&welcome=1$/);
    expect(mail!.text).toContain(`Then start the course here: https://courses.test/courses/${NO_CODES}/intro/`);
    expect(mail!.text).toContain('Later, sign in at https://courses.test/login with this email address');
    const author = await settledMail(AUTHOR, email);
    expect(author).toHaveLength(1);
    expect(author[0]!.text).toContain('The purchase created their account');
    expect(author[0]!.text).toContain('Charged: $25.');
  });
});

describe('a coming-soon course', () => {
  /** Waitlist posts that passed the form check: each counts toward the per-address limit. */
  let counted = 0;
  const join_ = (fields: Record<string, string>, options?: { origin?: string | null }) => createVisitor(site.server.url).post('/api/waitlist', fields, options);

  test('its page has no buy form but a "notify me" form, and the catalogue says "Coming soon"', () => {
    const page = readFileSync(join(dist, `client/courses/${COMING}/index.html`), 'utf8');
    expect(page).not.toContain('action="/api/checkout"');
    expect(page).toContain('<form method="post" action="/api/waitlist"');
    expect(page).toContain(`<input type="hidden" name="course" value="${COMING}">`);
    expect(page).toContain('id="waitlist-joined"');
    expect(page).not.toContain('"offers"');
    const catalogue = readFileSync(join(dist, 'client/index.html'), 'utf8');
    const card = catalogue.split('<li class="card">').find((c) => c.includes(`href="/courses/${COMING}/"`))!;
    expect(card).toContain('Coming soon');
    expect(card).not.toContain('$30');
    expect(readFileSync(join(dist, `client/courses/${PROMO}/index.html`), 'utf8')).toContain('action="/api/checkout"');
  });

  test('checkout refuses it with a clear page and writes nothing, for members and guests', async () => {
    const before = await writes();
    const member = await signedUpVisitor(site, 'eager@example.com');
    const afterSignUp = await writes();
    for (const visitor of [member, createVisitor(site.server.url)]) {
      const response = await visitor.post('/api/checkout', { course: COMING });
      expect(response.status).toBe(409);
      expect(await response.text()).toContain('This course is not on sale yet');
    }
    expect(await writes()).toBe(afterSignUp);
    expect(before).not.toBe(afterSignUp); // the sign-up itself is the only change
  });

  test("a sign-up is stored once, normalised, and answered with the page's confirmation", async () => {
    const response = await join_({ course: COMING, email: '  Fan@Example.COM ' });
    counted++;
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`/courses/${COMING}/#waitlist-joined`);
    const rows = await query<{ course_slug: string; email: string; created_at: number }>('SELECT * FROM course_waitlist');
    expect(rows.map((r) => [r.course_slug, r.email])).toEqual([[COMING, 'fan@example.com']]);

    const again = await join_({ course: COMING, email: 'fan@example.com' });
    counted++;
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe(`/courses/${COMING}/#waitlist-joined`);
    expect(await query('SELECT * FROM course_waitlist')).toEqual(rows);
  });

  test('bad input is refused with a 4xx and stores nothing', async () => {
    const before = await count('course_waitlist');
    const badEmail = await join_({ course: COMING, email: 'not-an-email' });
    expect(badEmail.status).toBe(400);
    expect(await badEmail.text()).toContain('does not look like an email address');
    expect((await join_({ course: '../etc', email: 'a@example.com' })).status).toBe(400);
    expect((await createVisitor(site.server.url).post('/api/waitlist', { course: COMING, email: ['a@example.com', 'b@example.com'] })).status).toBe(400);
    const unknown = await join_({ course: 'no-such-course', email: 'a@example.com' });
    counted++;
    expect(unknown.status).toBe(404);
    const open = await join_({ course: PROMO, email: 'a@example.com' });
    counted++;
    expect(open.status).toBe(409);
    const crossSite = await join_({ course: COMING, email: 'a@example.com' }, { origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    const noOrigin = await join_({ course: COMING, email: 'a@example.com' }, { origin: null });
    expect(noOrigin.status).toBe(403);
    expect((await fetch(`${site.server.url}/api/waitlist`)).status).toBe(405);
    expect(await count('course_waitlist')).toBe(before);
  });

  test('one address is limited to 20 sign-ups an hour', async () => {
    const before = await count('course_waitlist');
    const statuses: number[] = [];
    for (let i = counted; i < 22; i++) statuses.push((await join_({ course: COMING, email: `fan${i}@example.com` })).status);
    // Posts 1..20 from this address pass, the 21st is refused.
    expect(statuses).toEqual([...Array(20 - counted).fill(303), 429, 429]);
    expect(await count('course_waitlist')).toBe(before + 20 - counted);
    const refused = await join_({ course: COMING, email: 'late@example.com' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await count('course_waitlist')).toBe(before + 20 - counted);
  });
});

describe('a sale that ended', () => {
  test('the page built after the end has no buy form; a page built before shows until when', () => {
    const ended = readFileSync(join(dist, `client/courses/${ENDED}/index.html`), 'utf8');
    expect(ended).not.toContain('action="/api/checkout"');
    expect(ended).toContain('This course is no longer on sale');
    const open = readFileSync(join(dist, `client/courses/${PROMO}/index.html`), 'utf8');
    expect(open).toContain('On sale until June 30, 2099 (end of the day, UTC).');
    expect(JSON.parse(/<script type="application\/ld\+json">(.*?)<\/script>/s.exec(open)![1]!).offers.priceValidUntil).toBe('2099-06-30T23:59:59.999Z');
  });

  test('checkout refuses it with a clear page and writes nothing', async () => {
    const member = await signedUpVisitor(site, 'late-buyer@example.com');
    const before = await writes();
    for (const visitor of [member, createVisitor(site.server.url)]) {
      const response = await visitor.post('/api/checkout', { course: ENDED });
      expect(response.status).toBe(410);
      expect(await response.text()).toContain('This course is no longer on sale');
    }
    expect(await writes()).toBe(before);
  });

  test('a member who owns it is still sent to its first lesson', async () => {
    const owner = await signedUpVisitor(site, 'early-bird@example.com');
    // A grant to an address opens once it is verified (decision 0006): this member confirmed it at sign-up.
    const granted = await grantCourse(
      { db: site.store.db, clock: { now: () => Date.now() } },
      { email: 'early-bird@example.com', course: ENDED, reason: 'bought before the sale ended', actor: { userId: null, via: 'cli' } },
    );
    expect(granted.kind).toBe('granted');
    const response = await owner.post('/api/checkout', { course: ENDED });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`/courses/${ENDED}/only-lesson/`);
  });
});
