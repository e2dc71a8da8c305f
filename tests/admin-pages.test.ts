// The web admin under /admin/, against the built server in production mode on a store loaded by
// the real content sync: who may see it (only admins; everyone else gets the site's 404, for every
// page and action), the origin check, bad input, each action's ledger and audit rows and its effect
// on reading a paid lesson, the dashboard's money per currency, the CSV exports, the password
// email, and signing a member out everywhere.
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { appendLedger } from '../src/server/access/ledger.ts';
import { grantCourse, makeAdmin } from '../src/server/admin/commands.ts';
import { accountsEnv, linkIn } from './support/accounts-env.ts';
import { startServer, type RunningServer } from './support/server.ts';
import { signUpAndConfirm } from './support/sign-up.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { createTestStore, syncStore, type TestStore } from './support/store.ts';
import { createVisitor, type Visitor } from './support/visitor.ts';

const COURSE = 'python-fundamentals';
const PAID_LESSON = `/courses/${COURSE}/control-flow/`;
const ADMIN_EMAIL = 'author@example.com';
const ADMIN_PASSWORD = 'a long admin passphrase';
const MEMBER_PASSWORD = 'correct horse battery staple';

let server: RunningServer;
let sink: SmtpSink;
let store: TestStore;
let admin: Visitor;
let adminId: number;
let notFoundBody: string;

const clock = { now: () => Date.now() };

async function rows<T = Record<string, unknown>>(sql: string, args: (string | number | null)[] = []): Promise<T[]> {
  return (await store.client.execute({ sql, args })).rows as unknown as T[];
}

/** Every row an admin action may write, to prove that a refused one wrote nothing. */
async function written(): Promise<string> {
  const dump: Record<string, unknown[]> = {};
  for (const table of ['users', 'purchases', 'access_ledger', 'audit_log', 'auth_tokens'])
    dump[table] = (await store.client.execute(`SELECT * FROM ${table} ORDER BY 1`)).rows;
  return JSON.stringify(dump);
}

/** A member who signed up and confirmed the address from the mail: signed in and verified. */
async function signUp(email: string): Promise<Visitor> {
  const visitor = createVisitor(server.url);
  await signUpAndConfirm(visitor, sink, { email, password: MEMBER_PASSWORD });
  return visitor;
}

/** A member who signed up and left the confirmation mail unopened: their password waits for it. */
async function signUpUnconfirmed(email: string): Promise<Visitor> {
  const visitor = createVisitor(server.url);
  expect((await visitor.post('/api/auth/signup', { email, password: MEMBER_PASSWORD })).headers.getSetCookie()).toEqual([]);
  expect((await visitor.post('/api/auth/login', { email, password: MEMBER_PASSWORD })).headers.get('location')).toBe('/login?error=invalid-credentials');
  return visitor;
}

async function userId(email: string): Promise<number> {
  const [row] = await rows<{ id: number }>('SELECT id FROM users WHERE email = ?', [email]);
  return Number(row!.id);
}

async function canRead(visitor: Visitor, path = PAID_LESSON): Promise<boolean> {
  const response = await visitor.get(path);
  await response.arrayBuffer();
  return response.status === 200;
}

const MONTH_A = Date.parse('2026-09-14T10:00:00Z');
const MONTH_B = Date.parse('2026-10-02T08:30:00Z');

/**
 * A paid purchase as fulfilment records it (the purchase row and its ledger `grant`), then what
 * Stripe's refund and dispute events leave: the status, the refunded amount, the ledger entry.
 */
async function paidPurchase(input: {
  email: string;
  course: string;
  amount: number;
  currency: string;
  at: number;
  status?: string;
  refunded?: number;
  access?: 'revoke' | 'suspend';
  reason?: string;
}): Promise<number> {
  const user = await userId(input.email);
  const n = Math.random().toString(36).slice(2, 10);
  const result = await store.client.execute({
    sql: `INSERT INTO purchases (user_id, course_slug, source, checkout_session_id, payment_intent_id, amount_minor, currency, amount_refunded_minor, status, created_user, livemode, created_at, updated_at)
      VALUES (?, ?, 'stripe', ?, ?, ?, ?, ?, ?, 0, 0, ?, ?) RETURNING id`,
    args: [user, input.course, `cs_test_${n}`, `pi_test_${n}`, input.amount, input.currency, input.refunded ?? 0, input.status ?? 'paid', input.at, input.at],
  });
  const purchaseId = Number(result.rows[0]!.id);
  await appendLedger(store.db, {
    purchaseId,
    userId: user,
    courseSlug: input.course,
    action: 'grant',
    reason: 'purchase',
    stripeObjectId: `cs_test_${n}`,
    now: input.at,
  });
  if (input.access)
    await appendLedger(store.db, {
      purchaseId,
      userId: user,
      courseSlug: input.course,
      action: input.access,
      reason: input.reason ?? 'refund',
      now: input.at + 1000,
    });
  return purchaseId;
}

beforeAll(async () => {
  const dist = inject('dist');
  [sink, store] = await Promise.all([startSmtpSink(), createTestStore()]);
  await syncStore(dist, store.url);
  // The admin is made the way `npm run admin -- create-admin` makes one.
  const made = await makeAdmin(
    { db: store.db, clock },
    { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, iterations: 2000, actor: { userId: null, via: 'cli' } },
  );
  expect(made.kind).toBe('created');
  adminId = await userId(ADMIN_EMAIL);
  server = await startServer({ dist, env: accountsEnv({ databaseUrl: store.url, smtpUrl: sink.url }) });
  admin = createVisitor(server.url);
  expect((await admin.post('/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).status).toBe(303);
  notFoundBody = await (await fetch(`${server.url}/no-such-page-here`)).text();
});
afterAll(async () => {
  await server?.stop();
  await sink?.stop();
  store?.remove();
});

const PAGES = [
  '/admin',
  '/admin/',
  '/admin/members',
  '/admin/members?q=example',
  '/admin/members/1',
  '/admin/members.csv',
  '/admin/purchases',
  '/admin/purchases?course=python-fundamentals&status=paid&from=2026-01-01&to=2026-12-31',
  '/admin/purchases.csv',
  '/admin/courses',
  `/admin/courses/${COURSE}`,
  '/admin/audit',
];
const ACTIONS = ['grant', 'revoke', 'password-email', 'sign-out'];

describe('who may see the admin', () => {
  test('anonymous visitors and members get the site’s 404 for every page and every action, and nothing is written', async () => {
    const member = await signUp('curious@example.com');
    const memberId = await userId('curious@example.com');
    const anonymous = createVisitor(server.url);
    expect(notFoundBody).toContain('Page not found');
    const before = await written();
    for (const visitor of [anonymous, member]) {
      for (const path of [...PAGES, '/admin/nothing', `/admin/members/${memberId}/grant`]) {
        const response = await visitor.get(path);
        expect(response.status, path).toBe(404);
        expect(response.headers.get('cache-control')).toBe('private, no-store');
        expect(response.headers.get('x-robots-tag')).toBe('noindex');
        // The same page as any unknown address: nothing says that an admin exists here.
        expect(await response.text(), path).toBe(notFoundBody);
      }
      for (const action of ACTIONS) {
        const response = await visitor.post(`/admin/members/${memberId}/${action}`, { course: COURSE, reason: 'gift', note: 'free' });
        expect(response.status, action).toBe(404);
        expect(await response.text()).toBe(notFoundBody);
      }
      expect((await visitor.post('/admin/', {})).status).toBe(404);
    }
    expect(await written()).toBe(before);
    expect(await canRead(member)).toBe(false);
  });

  test('an admin sees every page, private and unindexed; unknown admin addresses are 404', async () => {
    for (const path of PAGES) {
      const response = await admin.get(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('cache-control')).toBe('private, no-store');
      expect(response.headers.get('x-robots-tag')).toBe('noindex');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      const body = await response.text();
      if (!path.endsWith('.csv')) expect(body).toContain('<nav class="admin-nav" aria-label="Admin">');
    }
    for (const path of [
      '/admin/nothing',
      '/admin/members/999999',
      '/admin/members/abc',
      '/admin/courses/no-such-course',
      '/admin/members/1/unknown-action',
      '/admin/audit/1',
    ]) {
      expect((await admin.get(path)).status, path).toBe(404);
    }
    // The account page links an admin (only) to the admin.
    expect(await (await admin.get('/account')).text()).toContain('<a href="/admin/">');
    expect(await (await (await signUp('plain@example.com')).get('/account')).text()).not.toContain('href="/admin/"');
    // A page is not posted to; an action is not opened.
    expect((await admin.post('/admin/members', {})).status).toBe(405);
    expect((await admin.get(`/admin/members/${adminId}/grant`)).status).toBe(405);
  });

  test('an admin made a member again gets the 404 at once, with the same session', async () => {
    const email = 'deputy@example.com';
    await makeAdmin({ db: store.db, clock }, { email, password: ADMIN_PASSWORD, iterations: 2000, actor: { userId: null, via: 'cli' } });
    const deputy = createVisitor(server.url);
    expect((await deputy.post('/api/auth/login', { email, password: ADMIN_PASSWORD })).status).toBe(303);
    expect((await deputy.get('/admin/')).status).toBe(200);
    await store.client.execute({ sql: "UPDATE users SET role = 'member' WHERE email = ?", args: [email] });
    const response = await deputy.get('/admin/');
    expect(response.status).toBe(404);
    expect(await response.text()).toBe(notFoundBody);
  });

  test('an admin’s action posted from another site (or with no Origin) is refused and writes nothing', async () => {
    await signUp('target@example.com');
    const target = await userId('target@example.com');
    const before = await written();
    for (const action of ACTIONS) {
      for (const origin of ['https://evil.example', null, 'null']) {
        const response = await admin.post(`/admin/members/${target}/${action}`, { course: COURSE, reason: 'gift' }, { origin });
        expect(response.status, `${action} from ${origin}`).toBe(403);
        expect(response.headers.get('cache-control')).toBe('private, no-store');
      }
    }
    expect(await written()).toBe(before);
  });
  test('the grant to a new email, as an attack: a visitor, a member and a cross-site post riding the admin’s session are refused, and no account, grant or mail is made', async () => {
    const member = await signUp('schemer@example.com');
    const anonymous = createVisitor(server.url);
    const before = await written();
    const sent = sink.messages.length;
    const fields = { email: 'accomplice@example.com', course: COURSE, reason: 'gift' };
    for (const visitor of [anonymous, member]) {
      const response = await visitor.post('/admin/members/grant', fields);
      expect(response.status).toBe(404);
      expect(await response.text()).toBe(notFoundBody);
    }
    for (const origin of ['https://evil.example', null, 'null']) {
      const response = await admin.post('/admin/members/grant', fields, { origin });
      expect(response.status, `from ${origin}`).toBe(403);
      expect(response.headers.get('cache-control')).toBe('private, no-store');
    }
    expect(await written()).toBe(before);
    expect(await rows('SELECT id FROM users WHERE email = ?', ['accomplice@example.com'])).toEqual([]);
    expect(sink.messages.slice(sent).filter((message) => message.to.includes('accomplice@example.com'))).toEqual([]);
    expect(await canRead(member)).toBe(false);
  });
});

describe('actions', () => {
  test('bad input gets a 400 that says what is wrong, and changes nothing', async () => {
    const member = await signUp('typo@example.com');
    const id = await userId('typo@example.com');
    const before = await written();
    const cases: [Record<string, string | string[]>, string][] = [
      [{ course: COURSE, reason: 'because' }, 'Choose a reason from the list.'],
      [{ course: COURSE }, 'Choose a reason from the list.'],
      [{ course: COURSE, reason: 'other' }, 'Say why in the note'],
      [{ course: COURSE, reason: 'other', note: '   ' }, 'Say why in the note'],
      [{ course: COURSE, reason: 'gift', note: 'x'.repeat(201) }, 'The note is too long'],
      [{ course: COURSE, reason: 'gift', note: 'two\nlines' }, 'line breaks'],
      [{ course: '../etc', reason: 'gift' }, 'Choose a course from the list.'],
      [{ course: 'no-such-course', reason: 'gift' }, 'The store has no such course.'],
      [{ course: [COURSE, 'python-for-finance'], reason: 'gift' }, 'Something in the form is missing or not valid.'],
    ];
    for (const [fields, message] of cases) {
      const response = await admin.post(`/admin/members/${id}/grant`, fields);
      expect(response.status, JSON.stringify(fields)).toBe(400);
      expect(await response.text()).toContain(message);
    }
    const revoke = await admin.post(`/admin/members/${id}/revoke`, { course: COURSE, reason: 'gift' });
    expect(revoke.status).toBe(400);
    // Not a form a browser sends.
    const json = await admin.post(`/admin/members/${id}/grant`, JSON.stringify({ course: COURSE, reason: 'gift' }), {
      headers: { 'content-type': 'application/json' },
    });
    expect(json.status).toBe(415);
    expect((await admin.post('/admin/members/999999/grant', { course: COURSE, reason: 'gift' })).status).toBe(404);
    expect(await written()).toBe(before);
    expect(await canRead(member)).toBe(false);

    for (const path of [
      '/admin/purchases?status=lost',
      '/admin/purchases?from=2026-02-30',
      '/admin/purchases?course=..%2F',
      '/admin/purchases.csv?to=yesterday',
      '/admin/members?page=0',
      '/admin/audit?page=-1',
      '/admin/purchases?status=paid&status=refunded',
    ]) {
      expect((await admin.get(path)).status, path).toBe(400);
    }
  });

  test('grant and revoke: ledger and audit rows as the command line writes them, and the member reads the lesson, then cannot', async () => {
    const member = await signUpUnconfirmed('gifted@example.com');
    const id = await userId('gifted@example.com');
    expect(await canRead(member)).toBe(false);

    const grant = await admin.post(`/admin/members/${id}/grant`, { course: COURSE, reason: 'gift', note: 'conference prize' });
    expect(grant.status).toBe(303);
    expect(grant.headers.get('location')).toBe(`/admin/members/${id}?notice=granted`);
    const page = await (await admin.get(grant.headers.get('location')!)).text();
    expect(page).toContain('Course granted.');
    expect(page).toContain('conference prize');
    // A grant is for the address: it opens once the member proves it with the link mailed at
    // sign-up (docs/decisions/0006-email-verification.md).
    expect(await canRead(member)).toBe(false);
    const confirmation = await sink.waitFor('gifted@example.com');
    expect(confirmation.subject).toContain('Confirm your email address');
    const token = new URL(linkIn(confirmation.text), 'https://x').searchParams.get('token')!;
    expect((await member.post('/api/auth/verify', { token, password: MEMBER_PASSWORD })).headers.get('location')).toBe('/account?notice=email-verified');
    expect(await canRead(member)).toBe(true);

    const [purchase] = await rows<{ id: number; source: string; status: string; amount_minor: number }>('SELECT * FROM purchases WHERE user_id = ?', [id]);
    expect(purchase).toMatchObject({ source: 'grant', status: 'granted', amount_minor: 0 });
    const ledger = await rows('SELECT purchase_id, seq, action, reason, actor_user_id, note FROM access_ledger WHERE user_id = ? ORDER BY id', [id]);
    expect(ledger).toEqual([{ purchase_id: purchase!.id, seq: 1, action: 'grant', reason: 'gift', actor_user_id: adminId, note: 'conference prize' }]);
    const audit = await rows<{ detail: string }>(
      'SELECT actor_user_id, via, action, subject_user_id, course_slug, reason, detail FROM audit_log WHERE subject_user_id = ? ORDER BY id',
      [id],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_user_id: adminId, via: 'web', action: 'grant', subject_user_id: id, course_slug: COURSE, reason: 'gift' });
    expect(JSON.parse(audit[0]!.detail)).toEqual({ purchaseId: purchase!.id, note: 'conference prize' });

    // The same grant again: nothing written.
    const before = await written();
    const again = await admin.post(`/admin/members/${id}/grant`, { course: COURSE, reason: 'support' });
    expect(again.headers.get('location')).toBe(`/admin/members/${id}?notice=already-owned`);
    expect(await written()).toBe(before);

    const revoke = await admin.post(`/admin/members/${id}/revoke`, { course: COURSE, reason: 'other', note: 'asked to close the account' });
    expect(revoke.status).toBe(303);
    expect(revoke.headers.get('location')).toBe(`/admin/members/${id}?notice=revoked`);
    expect(await canRead(member)).toBe(false);
    const revoked = await rows('SELECT seq, action, reason, actor_user_id, note FROM access_ledger WHERE user_id = ? ORDER BY id', [id]);
    expect(revoked[1]).toEqual({ seq: 2, action: 'revoke', reason: 'other', actor_user_id: adminId, note: 'asked to close the account' });
    const revokeAudit = await rows('SELECT actor_user_id, via, action, course_slug, reason FROM audit_log WHERE subject_user_id = ? ORDER BY id', [id]);
    expect(revokeAudit[1]).toEqual({ actor_user_id: adminId, via: 'web', action: 'revoke', course_slug: COURSE, reason: 'other' });

    const nothing = await admin.post(`/admin/members/${id}/revoke`, { course: COURSE, reason: 'mistake' });
    expect(nothing.headers.get('location')).toBe(`/admin/members/${id}?notice=not-owned`);

    // The web and the command line share the function: a CLI grant is the same rows with `cli` and no actor.
    await grantCourse({ db: store.db, clock }, { email: 'gifted@example.com', course: COURSE, reason: 'support', actor: { userId: null, via: 'cli' } });
    const [cli] = await rows('SELECT actor_user_id, via, action, reason FROM audit_log WHERE subject_user_id = ? ORDER BY id DESC LIMIT 1', [id]);
    expect(cli).toEqual({ actor_user_id: null, via: 'cli', action: 'grant', reason: 'support' });
    expect(await canRead(member)).toBe(true);

    const log = await (await admin.get('/admin/audit')).text();
    expect(log).toContain(ADMIN_EMAIL);
    // Each action in words, with what its detail recorded, and no JSON.
    expect(log).toContain(`Gave ${COURSE} to gifted@example.com (grant #${purchase!.id}). Note: “conference prize”.`);
    expect(log).toContain(`Took ${COURSE} away from gifted@example.com (purchase or grant #${purchase!.id}). Note: “asked to close the account”.`);
    expect(log).not.toContain('{&quot;');
    expect(log).not.toContain('purchaseId');
  });

  test('grant to a new email from the members page: an account without a password, the grant, and the set-password mail that lets its owner in', async () => {
    const email = 'newcomer@example.com';
    expect(await (await admin.get('/admin/members')).text()).toContain('<form class="form" method="post" action="/admin/members/grant">');
    const sent = sink.messages.length;
    const response = await admin.post('/admin/members/grant', { email: ' NewComer@Example.com ', course: COURSE, reason: 'gift', note: 'podcast guest' });
    expect(response.status).toBe(303);
    const id = await userId(email);
    expect(response.headers.get('location')).toBe(`/admin/members/${id}?notice=granted-new-account`);
    expect(await (await admin.get(response.headers.get('location')!)).text()).toContain('Account created, without a password, and course granted.');
    expect(await rows('SELECT password_hash, role, email_verified_at FROM users WHERE id = ?', [id])).toEqual([
      { password_hash: null, role: 'member', email_verified_at: null },
    ]);
    expect(await rows('SELECT source, status FROM purchases WHERE user_id = ?', [id])).toEqual([{ source: 'grant', status: 'granted' }]);
    const audit = await rows<{ detail: string }>(
      'SELECT actor_user_id, via, action, course_slug, reason, detail FROM audit_log WHERE subject_user_id = ? ORDER BY id',
      [id],
    );
    expect(audit.map(({ detail, ...row }) => row)).toEqual([
      { actor_user_id: adminId, via: 'web', action: 'grant', course_slug: COURSE, reason: 'gift' },
      { actor_user_id: adminId, via: 'web', action: 'password-email', course_slug: null, reason: null },
    ]);
    expect(JSON.parse(audit[0]!.detail)).toMatchObject({ createdUser: true, note: 'podcast guest' });

    // The mail a guest purchase's new account gets: a link that sets a password, for 7 days.
    const mail = await sink.waitFor(email, { after: sent });
    expect(mail.subject).toBe('Your account at Practical Python Courses: set a password');
    expect(mail.text).toContain('for 7 days');
    const link = linkIn(mail.text);
    expect(link).toMatch(/^\/reset\?token=[\w-]{43}&welcome=1$/);
    const newcomer = createVisitor(server.url);
    expect(await canRead(newcomer)).toBe(false);
    const token = new URL(link, 'https://x').searchParams.get('token')!;
    expect((await newcomer.post('/api/auth/reset', { token, password: MEMBER_PASSWORD })).headers.get('location')).toBe('/account?notice=password-reset');
    expect(await canRead(newcomer)).toBe(true);

    // The same email again: the account exists and owns the course, so nothing is written or sent.
    const before = await written();
    const again = await admin.post('/admin/members/grant', { email, course: COURSE, reason: 'support' });
    expect(again.headers.get('location')).toBe(`/admin/members/${id}?notice=already-owned`);
    expect(await written()).toBe(before);

    // A member who has an account is granted as from their page, and mailed nothing.
    await signUp('known@example.com');
    const known = await userId('known@example.com');
    const knownSent = sink.messages.length;
    const granted = await admin.post('/admin/members/grant', { email: 'known@example.com', course: COURSE, reason: 'support' });
    expect(granted.headers.get('location')).toBe(`/admin/members/${known}?notice=granted`);
    expect(await rows('SELECT action FROM audit_log WHERE subject_user_id = ?', [known])).toEqual([{ action: 'grant' }]);
    expect(sink.messages.length).toBe(knownSent);

    // Bad input: a 400 that says what is wrong, and nothing written.
    const unchanged = await written();
    for (const [fields, message] of [
      [{ email: 'not an email', course: COURSE, reason: 'gift' }, 'Enter a valid email address.'],
      [{ course: COURSE, reason: 'gift' }, 'Enter a valid email address.'],
      [{ email: 'someone@example.com', course: 'no-such-course', reason: 'gift' }, 'The store has no such course.'],
      [{ email: 'someone@example.com', course: COURSE, reason: 'other' }, 'Say why in the note'],
    ] as const) {
      const refused = await admin.post('/admin/members/grant', fields);
      expect(refused.status, JSON.stringify(fields)).toBe(400);
      expect(await refused.text()).toContain(message);
    }
    expect(await written()).toBe(unchanged);
    expect((await admin.get('/admin/members/grant')).status).toBe(405);
  });

  test('sign out everywhere ends the member’s existing sessions, with an audit row', async () => {
    const member = await signUp('roaming@example.com');
    const id = await userId('roaming@example.com');
    expect(((await (await member.get('/api/me')).json()) as { signedIn: boolean }).signedIn).toBe(true);
    const response = await admin.post(`/admin/members/${id}/sign-out`, {});
    expect(response.headers.get('location')).toBe(`/admin/members/${id}?notice=signed-out`);
    expect(((await (await member.get('/api/me')).json()) as { signedIn: boolean }).signedIn).toBe(false);
    const [audit] = await rows('SELECT actor_user_id, via, action FROM audit_log WHERE subject_user_id = ?', [id]);
    expect(audit).toEqual({ actor_user_id: adminId, via: 'web', action: 'sign-out-everywhere' });
    // The admin's own session is untouched.
    expect((await admin.get('/admin/')).status).toBe(200);
  });

  test('the password email: a reset link that works for a member with a password, a set-password link for one without, limited per member', async () => {
    await signUp('forgetful@example.com');
    const id = await userId('forgetful@example.com');
    const sent = sink.messages.length;
    const response = await admin.post(`/admin/members/${id}/password-email`, {});
    expect(response.headers.get('location')).toBe(`/admin/members/${id}?notice=password-email-sent`);
    const mail = await sink.waitFor('forgetful@example.com', { after: sent });
    expect(mail.subject).toBe('Reset your password for Practical Python Courses');
    expect(mail.text).toContain('works once, for 60 minutes');
    const link = linkIn(mail.text);
    expect(link).toMatch(/^\/reset\?token=[\w-]{43}$/);
    expect(mail.html).toContain(`https://courses.test${link}`);
    const reset = createVisitor(server.url);
    const form = await (await reset.get(link)).text();
    expect(form).toContain('Choose a new password for <strong>forgetful@example.com</strong>');
    const [audit] = await rows<{ detail: string }>('SELECT actor_user_id, via, action, detail FROM audit_log WHERE subject_user_id = ?', [id]);
    expect(audit).toMatchObject({ actor_user_id: adminId, via: 'web', action: 'password-email' });
    expect(JSON.parse(audit!.detail).hasPassword).toBe(true);

    // A member whose account a purchase or a grant created has no password: a 7-day set-password link.
    await grantCourse(
      { db: store.db, clock },
      { email: 'guest@example.com', course: COURSE, reason: 'gift', create: true, actor: { userId: null, via: 'cli' } },
    );
    const guest = await userId('guest@example.com');
    const guestSent = sink.messages.length;
    await admin.post(`/admin/members/${guest}/password-email`, {});
    const guestMail = await sink.waitFor('guest@example.com', { after: guestSent });
    expect(guestMail.subject).toContain('set a password');
    expect(guestMail.text).toContain('for 7 days');
    const [token] = await rows<{ expires_at: number; created_at: number; purpose: string }>('SELECT * FROM auth_tokens WHERE user_id = ? ORDER BY id DESC', [
      guest,
    ]);
    expect(token!.purpose).toBe('reset');
    expect(Number(token!.expires_at) - Number(token!.created_at)).toBe(7 * 86_400_000);

    // The daily mail cap of an address (10) holds for the admin too: once it is reached, the
    // password email is refused and writes nothing.
    let limited: Response | undefined;
    let before = '';
    for (let n = 0; n < 12 && !limited; n++) {
      before = await written();
      const sentBefore = sink.messages.length;
      const response = await admin.post(`/admin/members/${id}/password-email`, {});
      if (response.headers.get('location')!.includes('error=')) limited = response;
      else await sink.waitFor('forgetful@example.com', { after: sentBefore });
    }
    expect(limited?.headers.get('location')).toBe(`/admin/members/${id}?error=rate-limited`);
    expect(sink.messages.filter((message) => message.to.includes('forgetful@example.com')).length).toBe(10);
    expect(await (await admin.get(limited!.headers.get('location')!)).text()).toContain('Too many emails to this member today');
    expect(await written()).toBe(before);
  });
});

describe('what the admin reads', () => {
  test('the dashboard: revenue per course, month and currency, refunds taken off, disputes and members', async () => {
    for (const email of ['usd1@example.com', 'usd2@example.com', 'eur1@example.com', 'jpy1@example.com']) await signUp(email);
    await paidPurchase({ email: 'usd1@example.com', course: COURSE, amount: 4900, currency: 'USD', at: MONTH_A });
    await paidPurchase({
      email: 'usd2@example.com',
      course: COURSE,
      amount: 4900,
      currency: 'USD',
      at: MONTH_A + 60_000,
      status: 'refunded',
      refunded: 4900,
      access: 'revoke',
    });
    await paidPurchase({
      email: 'usd1@example.com',
      course: 'running-python-scripts',
      amount: 3900,
      currency: 'USD',
      at: MONTH_B,
      status: 'partially_refunded',
      refunded: 1000,
    });
    await paidPurchase({
      email: 'eur1@example.com',
      course: 'python-for-finance',
      amount: 7900,
      currency: 'EUR',
      at: MONTH_B,
      status: 'disputed',
      access: 'suspend',
      reason: 'dispute_created',
    });
    await paidPurchase({ email: 'jpy1@example.com', course: 'running-python-scripts', amount: 4900, currency: 'JPY', at: MONTH_B });

    const body = await (await admin.get('/admin/')).text();
    const cell = (attribute: string) => new RegExp(`${attribute}>([^<]+)<`).exec(body)?.[1];
    // USD: 4900 + 4900 + 3900 charged, 4900 + 1000 refunded. Never summed with EUR or JPY.
    expect(cell('data-revenue="USD"')).toBe('$78');
    expect(cell('data-revenue="EUR"')).toBe('€79');
    expect(cell('data-revenue="JPY"')).toBe('¥4,900');
    expect(cell(`data-month-revenue="2026-09 ${COURSE} USD"`)).toBe('$49');
    expect(cell('data-month-revenue="2026-10 running-python-scripts USD"')).toBe('$29');
    expect(cell('data-month-revenue="2026-10 running-python-scripts JPY"')).toBe('¥4,900');
    // Sold without tax: nothing collected, revenue is what was charged less refunds.
    expect(cell('data-tax="USD"')).toBe('$0');
    // The revenue chart: one per currency, drawn on the server as one image with a title and a
    // description, bars in proportion, and the same figures as a table; no script.
    const start = body.indexOf('<figure class="admin-chart" id="revenue-chart-usd">');
    expect(start).toBeGreaterThan(0);
    const usd = body.slice(start, body.indexOf('</figure>', start));
    expect(usd).toContain('<svg role="img" aria-labelledby="revenue-chart-usd-title revenue-chart-usd-desc"');
    expect(usd).toContain('<title id="revenue-chart-usd-title">Revenue per month in USD</title>');
    expect(usd).toContain(
      '<desc id="revenue-chart-usd-desc">Bar chart of the revenue (charged, less refunds and tax) of 2 months, from September 2026 to October 2026. The best month is September 2026, with $49.</desc>',
    );
    const barHeight = (month: string) => Number(new RegExp(`data-month="${month}"[^>]*height="(\\d+)"`).exec(usd)?.[1]);
    expect(barHeight('2026-09')).toBe(120);
    expect(barHeight('2026-10')).toBe(Math.round((2900 / 4900) * 120));
    expect(cell('data-chart="USD 2026-09"')).toBe('$49');
    expect(cell('data-chart="USD 2026-10"')).toBe('$29');
    expect(cell('data-chart="EUR 2026-10"')).toBe('€79');
    expect(cell('data-chart="JPY 2026-10"')).toBe('¥4,900');
    expect(body.slice(body.indexOf('<main'), body.indexOf('</main>'))).not.toContain('<script');
    expect(body).toMatch(/<th scope="row">EUR<\/th>(?:<td[^>]*>[^<]*<\/td>){5}<td class="num">1 \(€79\)<\/td>/);
    // Refunds and open disputes list the purchases.
    expect(body.slice(body.indexOf('id="refunds"'))).toContain('usd2@example.com');
    expect(body.slice(body.indexOf('id="disputes"'))).toContain('eur1@example.com');
    const [counted] = await rows<{ n: number }>('SELECT count(*) AS n FROM users');
    const accounts = counted!.n;
    expect(body).toContain(`<strong>${accounts}</strong> accounts`);
    expect(body).toContain('Last content change:');
    expect(body).toMatch(/Python Fundamentals<\/a><br \/><small>python-fundamentals<\/small><\/th>\s*<td>published/);

    const purchases = await (await admin.get('/admin/purchases?status=disputed')).text();
    expect(purchases).toContain('eur1@example.com');
    expect(purchases).not.toContain('usd1@example.com');
    expect(purchases).toMatch(/href="https:\/\/dashboard\.stripe\.com\/test\/payments\/pi_test_\w+"/);
    expect(purchases).toMatch(/cs_test_\w+/);
    const september = await (await admin.get('/admin/purchases?from=2026-09-01&to=2026-09-30')).text();
    expect(september).toContain('usd2@example.com');
    expect(september).not.toContain('jpy1@example.com');

    const member = await (await admin.get(`/admin/members/${await userId('usd2@example.com')}`)).text();
    expect(member).toMatch(/<td>revoke<\/td><td>refund/);
    expect(member).toContain('refunded $49');
  });

  test('the CSV exports: header, rows, RFC 4180 quoting and the formula guard, with the page’s filters', async () => {
    await store.client.execute({
      sql: 'INSERT INTO users (email, session_version, role, created_at, updated_at) VALUES (?, 1, ?, ?, ?)',
      args: ['=cmd@example.com', 'member', MONTH_A, MONTH_A],
    });
    await store.client.execute({ sql: 'UPDATE courses SET title = ? WHERE slug = ?', args: ['Finance, "for real"', 'python-for-finance'] });
    await paidPurchase({ email: '=cmd@example.com', course: 'python-for-finance', amount: 7900, currency: 'EUR', at: MONTH_A });

    const response = await admin.get('/admin/purchases.csv?course=python-for-finance');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="purchases-\d{4}-\d{2}-\d{2}\.csv"$/);
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    const csv = await response.text();
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(
      'purchase_id,created_at,email,course,course_title,source,status,access,amount,amount_refunded,currency,tax,net_of_tax,tax_country,buyer_tax_ids,invoice_id,checkout_session_id,payment_intent_id,livemode',
    );
    expect(lines.at(-1)).toBe('');
    const body = lines.slice(1, -1);
    expect(body.every((line) => line.includes(',python-for-finance,'))).toBe(true);
    const guarded = body.find((line) => line.includes('cmd@example.com'))!;
    expect(guarded).toMatch(
      /^\d+,2026-09-14T10:00:00\.000Z,'=cmd@example\.com,python-for-finance,"Finance, ""for real""",stripe,paid,active,79\.00,0\.00,EUR,0\.00,79\.00,,,,cs_test_\w+,pi_test_\w+,false$/,
    );
    const disputed = body.find((line) => line.includes('eur1@example.com'))!;
    expect(disputed).toContain(',stripe,disputed,suspended,79.00,0.00,EUR,');

    const members = await (await admin.get('/admin/members.csv?q=cmd')).text();
    expect(members.split('\r\n')).toEqual([
      'user_id,created_at,email,role,has_password,email_verified,active_courses,purchases',
      expect.stringMatching(/^\d+,2026-09-14T10:00:00\.000Z,'=cmd@example\.com,member,false,false,1,1$/),
      '',
    ]);
    const all = await (await admin.get('/admin/members.csv')).text();
    expect(all).toContain(`,${ADMIN_EMAIL},admin,true,`);
  });

  test('members search, a member’s page, courses and a course’s waitlist', async () => {
    const found = await (await admin.get('/admin/members?q=GIFTED')).text();
    expect(found).toContain('gifted@example.com');
    expect(found).not.toContain('usd1@example.com');
    // A search is text, not a pattern.
    expect(await (await admin.get('/admin/members?q=%25')).text()).toContain('0 accounts');

    await store.client.execute({
      sql: 'INSERT INTO course_waitlist (course_slug, email, created_at) VALUES (?, ?, ?)',
      args: [COURSE, 'waiting@example.com', MONTH_B],
    });
    const courses = await (await admin.get('/admin/courses')).text();
    const row = courses.slice(courses.indexOf('<small>python-fundamentals</small>'));
    expect(row.slice(0, row.indexOf('</tr>'))).toMatch(/<td class="num">1<\/td>\s*$/);
    const course = await (await admin.get(`/admin/courses/${COURSE}`)).text();
    expect(course).toContain('waiting@example.com');
    expect(course).toContain('Waitlist (1)');
    expect(course).toContain('free preview');

    // Escaping: an email with markup is text on every page.
    await store.client.execute({
      sql: 'INSERT INTO users (email, session_version, role, created_at, updated_at) VALUES (?, 1, ?, ?, ?)',
      args: ['"><script>x</script>@example.com', 'member', MONTH_A, MONTH_A],
    });
    const list = await (await admin.get('/admin/members?q=script')).text();
    expect(list).not.toContain('<script>x</script>');
    expect(list).toContain('&#34;&#62;&#60;script&#62;x&#60;/script&#62;@example.com');
  });
});
