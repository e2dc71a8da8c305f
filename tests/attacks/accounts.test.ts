// Attacks on accounts, email addresses and mailed tokens (issue 15: attacks 3, 4, 8 and the
// sign-up that answered "email taken"), each written as the attacker would try it, over HTTP
// against the built server with the Stripe stand-in and the SMTP sink. Each asserts that the
// attack fails and that the store did not change where it must not (docs/security.md).
import { runScript } from '../support/processes.ts';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { linkIn } from '../support/accounts-env.ts';
import { signUpAndConfirm } from '../support/sign-up.ts';
import { sitePath, startPaymentsSite, type PaymentsSite } from '../support/payments.ts';
import { createVisitor, type Visitor } from '../support/visitor.ts';

const COURSE = 'python-fundamentals';
const PAID_LESSON = `/courses/${COURSE}/control-flow/`;
const SQUATTER_PASSWORD = 'squatters own passphrase';
const OWNER_PASSWORD = 'the real owners passphrase';
const OPERATOR_PASSWORD = 'the operators admin passphrase';

let site: PaymentsSite;

beforeAll(async () => {
  site = await startPaymentsSite(inject('dist'));
});
afterAll(async () => {
  await site?.stop();
});

async function query<T = Record<string, unknown>>(sql: string, args: (string | number | null)[] = []): Promise<T[]> {
  return (await site.store.client.execute({ sql, args })).rows as T[];
}

type UserRow = { id: number; email: string; password_hash: string | null; session_version: number; email_verified_at: number | null; role: string };
async function userOf(email: string): Promise<UserRow | undefined> {
  return (await query<UserRow>('SELECT * FROM users WHERE email = ?', [email]))[0];
}

/** Everything the store knows about one address, to compare before and after an attempt. */
async function accountState(email: string): Promise<string> {
  const user = await userOf(email);
  if (!user) return 'none';
  const [purchases, tokens, sessions] = await Promise.all([
    query('SELECT * FROM purchases WHERE user_id = ? ORDER BY id', [user.id]),
    query('SELECT id, purpose, used_at, expires_at FROM auth_tokens WHERE user_id = ? ORDER BY id', [user.id]),
    query('SELECT * FROM sessions WHERE user_id = ? ORDER BY id', [user.id]),
  ]);
  return JSON.stringify({ user, purchases, tokens, sessions });
}

function visitor(): Visitor {
  return createVisitor(site.server.url);
}

/**
 * Signs `email` up through the form: nobody is signed in, and the password chosen stays pending
 * until the mailed confirmation, so signing in with it straight away fails like a wrong password.
 */
async function signUp(email: string, password: string): Promise<{ visitor: Visitor; response: Response }> {
  const v = visitor();
  const response = await v.post('/api/auth/signup', { email, password });
  expect(response.headers.getSetCookie()).toEqual([]);
  const signIn = await v.post('/api/auth/login', { email, password });
  expect(signIn.headers.get('location')).toBe('/login?error=invalid-credentials');
  expect(sessionCookies(signIn)).toEqual([]);
  return { visitor: v, response };
}

/**
 * A squatter who signed up before sign-up passwords waited for the confirmation: those releases
 * made the password usable at once, so such an account, unverified and with its squatter signed
 * in, may be in any store that was upgraded. Made here as they made it (the sign-up's password
 * moved where they stored it), then signed in with it.
 */
async function squatterFromEarlierRelease(email: string, password: string): Promise<{ visitor: Visitor; response: Response }> {
  const v = visitor();
  const response = await v.post('/api/auth/signup', { email, password });
  await query('UPDATE users SET password_hash = pending_password_hash, pending_password_hash = NULL WHERE email = ?', [email]);
  expect((await v.post('/api/auth/login', { email, password })).headers.get('location')).toBe('/account');
  return { visitor: v, response };
}

/** The session cookies an answer sets (a refused form also sets the short-lived typed-email one, holding what was typed). */
function sessionCookies(response: Response): string[] {
  return response.headers.getSetCookie().filter((cookie) => /^(__Host-)?session=/.test(cookie));
}

async function signedIn(v: Visitor): Promise<boolean> {
  return ((await (await v.get('/api/me')).json()) as { signedIn: boolean }).signedIn;
}

async function canRead(v: Visitor, path = PAID_LESSON): Promise<boolean> {
  const response = await v.get(path);
  await response.arrayBuffer();
  return response.status === 200;
}

async function passwordWorks(email: string, password: string): Promise<boolean> {
  const response = await visitor().post('/api/auth/login', { email, password });
  return response.status === 303 && !response.headers.get('location')!.includes('error=');
}

/**
 * The first mail to `to` received after `mark` (an index into the sink's messages) whose subject
 * matches: mails leave after the response, so an earlier one (the confirmation sent at sign-up)
 * may arrive after a later request.
 */
async function mailTo(to: string, mark: number, subject: RegExp = /./) {
  let after = mark;
  for (;;) {
    const mail = await site.sink.waitFor(to, { after });
    if (subject.test(mail.subject)) return mail;
    after = site.sink.messages.indexOf(mail) + 1;
  }
}

function tokenOf(link: string): string {
  return new URL(link, 'https://x').searchParams.get('token')!;
}

/** A guest (no session) buys the course at Stripe typing `email`; returns the success page's path. */
async function guestBuys(email: string, buyer = visitor()): Promise<string> {
  const response = await buyer.post('/api/checkout', { course: COURSE });
  expect(response.status).toBe(303);
  const sessionId = response.headers.get('location')!.split('/').pop()!;
  const { redirect } = await site.control(`/_standin/checkout/${sessionId}/pay`, { email });
  // The webhook or the success page records it; the success page is what the browser opens next.
  const success = sitePath(redirect);
  await (await buyer.get(success)).arrayBuffer();
  return success;
}

/** Asks for a sign-in link for `email` and uses it in a fresh browser, as the owner of the inbox. */
async function ownerSignsInByLink(email: string): Promise<Visitor> {
  const mark = site.sink.messages.length;
  expect((await visitor().post('/api/auth/link-request', { email })).status).toBe(303);
  const link = linkIn((await mailTo(email, mark, /sign-in link/)).text);
  const owner = visitor();
  const used = await owner.post('/api/auth/link', { token: tokenOf(link) });
  expect(used.status).toBe(303);
  expect(used.headers.get('location')).toBe('/account');
  return owner;
}

async function requestReset(email: string): Promise<string> {
  const mark = site.sink.messages.length;
  expect((await visitor().post('/api/auth/reset-request', { email })).status).toBe(303);
  return tokenOf(linkIn((await mailTo(email, mark, /Reset your password/)).text));
}

function admin(args: string[], env: Record<string, string>) {
  return runScript('scripts/admin.ts', args, { env: { DATABASE_URL: site.store.url, SITE_URL: site.siteUrl, PASSWORD_ITERATIONS: '2000', ...env } });
}

describe('email squatting (attack 4)', () => {
  test('a squatter who signed up with the owner’s address never reads what the owner buys as a guest, and loses the account at the owner’s first emailed sign-in', async () => {
    const victim = 'victim@example.com';
    const { visitor: squatter, response } = await squatterFromEarlierRelease(victim, SQUATTER_PASSWORD);
    expect(response.status).toBe(303);
    expect(await signedIn(squatter)).toBe(true);

    // The owner buys as a guest, typing their own address at Stripe.
    await guestBuys(victim);
    const [purchase] = await query<{ requires_verified_email: number; created_user: number }>(
      'SELECT p.* FROM purchases p JOIN users u ON u.id = p.user_id WHERE u.email = ?',
      [victim],
    );
    expect(purchase).toMatchObject({ requires_verified_email: 1, created_user: 0 });

    // The squatter tries the lesson, its media-free page, and buying it again to get in.
    expect(await canRead(squatter)).toBe(false);
    const me = (await (await squatter.get('/api/me')).json()) as { courses?: unknown[] };
    expect(me.courses).toBeUndefined();
    const rebuy = await squatter.post('/api/checkout', { course: COURSE });
    expect(rebuy.headers.get('location')).toBe('/account?notice=confirm-to-read');
    expect(await query('SELECT p.id FROM purchases p JOIN users u ON u.id = p.user_id WHERE u.email = ?', [victim])).toHaveLength(1);

    // The owner signs in with an emailed link: the first proof of the address.
    const owner = await ownerSignsInByLink(victim);
    const row = (await userOf(victim))!;
    expect(row.email_verified_at).not.toBeNull();
    expect(row.password_hash).toBeNull();
    expect(await signedIn(squatter)).toBe(false);
    expect(await canRead(squatter)).toBe(false);
    expect(await passwordWorks(victim, SQUATTER_PASSWORD)).toBe(false);
    // Only the session the owner's link just opened is left: the squatter's rows are gone.
    expect(await query('SELECT id FROM sessions WHERE user_id = ?', [row.id])).toHaveLength(1);

    // The course is the owner's; the owner, verified, may now choose a password in the account.
    expect(await canRead(owner)).toBe(true);
    const chosen = await owner.post('/api/auth/password', { password: OWNER_PASSWORD });
    expect(chosen.headers.get('location')).toBe('/account?notice=password-changed');
    expect(await passwordWorks(victim, OWNER_PASSWORD)).toBe(true);
  });

  test('a reset by the owner ends the squatter’s sessions and password the same way', async () => {
    const victim = 'reset.victim@example.com';
    const { visitor: squatter } = await squatterFromEarlierRelease(victim, SQUATTER_PASSWORD);
    const token = await requestReset(victim);
    const owner = visitor();
    expect((await owner.post('/api/auth/reset', { token, password: OWNER_PASSWORD })).headers.get('location')).toBe('/account?notice=password-reset');
    expect(await signedIn(squatter)).toBe(false);
    expect(await passwordWorks(victim, SQUATTER_PASSWORD)).toBe(false);
    expect(await passwordWorks(victim, OWNER_PASSWORD)).toBe(true);
    expect(await signedIn(owner)).toBe(true);
  });

  test('the owner who gets the squatter’s confirmation mail cannot confirm the squatter’s password by clicking it', async () => {
    const victim = 'confirm.victim@example.com';
    const mark = site.sink.messages.length;
    await signUp(victim, SQUATTER_PASSWORD);
    const mail = await mailTo(victim, mark, /Confirm your email address/);
    const link = linkIn(mail.text);
    expect(link).toMatch(/^\/verify\?token=[\w-]{43}$/);
    const page = await visitor().get(link);
    expect(await page.text()).toContain('enter the password you chose');

    // Confirming needs the password chosen at sign-up, which the owner does not know.
    const before = await accountState(victim);
    const guessed = await visitor().post('/api/auth/verify', { token: tokenOf(link), password: 'not the squatters one' });
    expect(guessed.headers.get('location')).toContain('error=verify-password-wrong');
    const nothing = await visitor().post('/api/auth/verify', { token: tokenOf(link) });
    expect(nothing.headers.get('location')).toContain('error=verify-password-wrong');
    expect(await accountState(victim)).toBe(before);
    // Nor can the squatter use the password before someone confirms it.
    expect(await passwordWorks(victim, SQUATTER_PASSWORD)).toBe(false);
  });

  test('an honest member confirms the address with the password they chose: it becomes their password, and that browser is signed in', async () => {
    const email = 'honest@example.com';
    const mark = site.sink.messages.length;
    await signUp(email, OWNER_PASSWORD);
    const link = linkIn((await mailTo(email, mark, /Confirm your email address/)).text);
    const phone = visitor();
    const confirmed = await phone.post('/api/auth/verify', { token: tokenOf(link), password: OWNER_PASSWORD });
    expect(confirmed.headers.get('location')).toBe('/account?notice=email-verified');
    expect((await userOf(email))!.email_verified_at).not.toBeNull();
    expect(await passwordWorks(email, OWNER_PASSWORD)).toBe(true);
    expect(await signedIn(phone)).toBe(true);
    // The link worked once.
    const again = await visitor().post('/api/auth/verify', { token: tokenOf(link), password: OWNER_PASSWORD });
    expect(again.headers.get('location')).toBe('/verify?error=token-invalid');
  });

  test('a guest buyer signed in by the success page cannot set the first password without the mailed link', async () => {
    const buyer = visitor();
    await guestBuys('new.guest@example.com', buyer);
    expect(await signedIn(buyer)).toBe(true);
    expect(await canRead(buyer)).toBe(true);
    const before = await accountState('new.guest@example.com');
    const page = await buyer.get('/account/password');
    expect(await page.text()).toContain('action="/api/auth/verify-request"');
    const set = await buyer.post('/api/auth/password', { password: 'chosen without the link' });
    expect(set.headers.get('location')).toBe('/account/password?error=password-needs-link');
    expect(await accountState('new.guest@example.com')).toBe(before);
  });
});

describe('sign-up does not reveal registered addresses', () => {
  test('signing up with a registered address answers byte for byte like a new one, signs nobody in, changes nothing and mails the owner', async () => {
    const owner = 'registered@example.com';
    await signUp(owner, OWNER_PASSWORD);
    const before = await accountState(owner);
    const mark = site.sink.messages.length;

    // The prober sends the same form for a member's address and for a fresh one, each from a clean browser.
    const prober = visitor();
    const taken = await prober.post('/api/auth/signup', { email: owner, password: SQUATTER_PASSWORD, next: `/courses/${COURSE}/` });
    const other = visitor();
    const fresh = await other.post('/api/auth/signup', { email: 'unregistered@example.com', password: SQUATTER_PASSWORD, next: `/courses/${COURSE}/` });
    expect(taken.status).toBe(303);
    expect(fresh.status).toBe(taken.status);
    expect(taken.headers.get('location')).toBe(`/signup?notice=check-email&next=%2Fcourses%2F${COURSE}%2F`);
    expect(fresh.headers.get('location')).toBe(taken.headers.get('location'));
    expect(taken.headers.getSetCookie()).toEqual([]);
    expect(fresh.headers.getSetCookie()).toEqual([]);
    expect(await taken.text()).toBe(await fresh.text());
    const headers = (response: Response) =>
      [...response.headers.entries()].filter(([name]) => !['date', 'x-request-id'].includes(name)).sort(([a], [b]) => a.localeCompare(b));
    expect(headers(taken)).toEqual(headers(fresh));
    // Nor does anything the prober can ask afterwards: neither browser is signed in.
    expect(await signedIn(prober)).toBe(false);
    expect(await signedIn(other)).toBe(false);
    const [takenPage, freshPage] = [await prober.get(taken.headers.get('location')!), await other.get(fresh.headers.get('location')!)];
    expect(takenPage.status).toBe(freshPage.status);
    expect(await takenPage.text()).toBe(await freshPage.text());

    // The member's account is as it was; the new one waits, unverified and without a session.
    expect(await accountState(owner)).toBe(before);
    expect(await passwordWorks(owner, SQUATTER_PASSWORD)).toBe(false);
    const created = (await userOf('unregistered@example.com'))!;
    expect(created.email_verified_at).toBeNull();
    expect(await query('SELECT id FROM sessions WHERE user_id = ?', [created.id])).toEqual([]);

    // Each inbox learns what happened: the owner an alert without a token, the new address its link.
    const alert = await mailTo(owner, mark, /tried to create an account/);
    expect(alert.text).not.toMatch(/token=/);
    expect(linkIn((await mailTo('unregistered@example.com', mark, /Confirm your email address/)).text)).toMatch(
      /^\/verify\?token=[\w-]{43}&next=%2Fcourses%2F/,
    );
  });

  test('nor does signing in with the password just chosen: a new address and a registered one answer alike until the mailed link is used', async () => {
    const owner = 'registered.then.probed@example.com';
    await signUpAndConfirm(visitor(), site.sink, { email: owner, password: OWNER_PASSWORD });
    const fresh = 'never.registered@example.com';
    // The prober signs both up with a password of their own, then tries it on each.
    for (const email of [owner, fresh]) await visitor().post('/api/auth/signup', { email, password: SQUATTER_PASSWORD });
    const before = await Promise.all([accountState(owner), accountState(fresh)]);
    const [onTaken, onFresh] = [
      await visitor().post('/api/auth/login', { email: owner, password: SQUATTER_PASSWORD }),
      await visitor().post('/api/auth/login', { email: fresh, password: SQUATTER_PASSWORD }),
    ];
    expect(onTaken.status).toBe(303);
    expect(onFresh.status).toBe(onTaken.status);
    expect(onTaken.headers.get('location')).toBe('/login?error=invalid-credentials');
    expect(onFresh.headers.get('location')).toBe(onTaken.headers.get('location'));
    expect(sessionCookies(onTaken)).toEqual([]);
    expect(sessionCookies(onFresh)).toEqual([]);
    expect(await onFresh.text()).toBe(await onTaken.text());
    expect(await Promise.all([accountState(owner), accountState(fresh)])).toEqual(before);
    // The page the error shows tells an honest new member what to do, in the same words for both.
    const page = await (await visitor().get('/login?error=invalid-credentials')).text();
    expect(page).toContain('If you have just signed up, confirm your address with the link we emailed you first.');
  });

  test('the page both land on tells the visitor to open the mailed link', async () => {
    const page = await visitor().get('/signup?notice=check-email');
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain('<h1>Check your email</h1>');
    expect(text).toContain('Open the link to confirm your address and finish');
    expect(text).not.toContain('action="/api/auth/signup"');
  });
});

describe('mailed tokens outlive nothing (attack 8)', () => {
  test('an older reset link stops working when a newer one is sent', async () => {
    const email = 'two.resets@example.com';
    await signUp(email, OWNER_PASSWORD);
    const older = await requestReset(email);
    const newer = await requestReset(email);
    const before = await accountState(email);
    const attempt = await visitor().post('/api/auth/reset', { token: older, password: 'set with the old link' });
    expect(attempt.headers.get('location')).toBe('/reset?error=token-invalid');
    expect(await accountState(email)).toBe(before);
    expect((await visitor().post('/api/auth/reset', { token: newer, password: 'set with the new link' })).headers.get('location')).toBe(
      '/account?notice=password-reset',
    );
  });

  test('an older sign-in link stops working when a newer one is sent', async () => {
    const email = 'two.links@example.com';
    await signUp(email, OWNER_PASSWORD);
    const links: string[] = [];
    for (let i = 0; i < 2; i++) {
      const mark = site.sink.messages.length;
      await visitor().post('/api/auth/link-request', { email });
      links.push(tokenOf(linkIn((await mailTo(email, mark, /sign-in link/)).text)));
    }
    const before = await accountState(email);
    const old = visitor();
    expect((await old.post('/api/auth/link', { token: links[0]! })).headers.get('location')).toContain('error=token-invalid');
    expect(await signedIn(old)).toBe(false);
    expect(await accountState(email)).toBe(before);
  });

  test('reset, sign-in and set-password links die when the password is changed', async () => {
    // A guest buyer: their purchase mail carries the 7-day set-password link.
    const email = 'links.die@example.com';
    const mark = site.sink.messages.length;
    const buyer = visitor();
    await guestBuys(email, buyer);
    const setPasswordLink = tokenOf(linkIn((await mailTo(email, mark, /set a password/)).text));
    // A sign-in link, asked for later; then a reset link used to choose the password.
    const linkMark = site.sink.messages.length;
    await visitor().post('/api/auth/link-request', { email });
    const signInLink = tokenOf(linkIn((await mailTo(email, linkMark, /sign-in link/)).text));
    const reset = await requestReset(email);
    const resetter = visitor();
    expect((await resetter.post('/api/auth/reset', { token: reset, password: OWNER_PASSWORD })).headers.get('location')).toBe('/account?notice=password-reset');

    const before = await accountState(email);
    const late = visitor();
    expect((await late.post('/api/auth/reset', { token: setPasswordLink, password: 'chosen by whoever has the old mail' })).headers.get('location')).toBe(
      '/reset?error=token-invalid',
    );
    expect((await late.post('/api/auth/link', { token: signInLink })).headers.get('location')).toContain('error=token-invalid');
    expect(await signedIn(late)).toBe(false);
    expect(await accountState(email)).toBe(before);

    // The same after a change in the account's own form: a reset asked for before it dies.
    const pending = await requestReset(email);
    expect((await resetter.post('/api/auth/password', { current_password: OWNER_PASSWORD, password: 'changed in the account' })).status).toBe(303);
    const afterChange = await accountState(email);
    expect((await visitor().post('/api/auth/reset', { token: pending, password: 'too late for this one' })).headers.get('location')).toBe(
      '/reset?error=token-invalid',
    );
    expect(await accountState(email)).toBe(afterChange);
  });
});

describe('create-admin on an account someone else registered (attack 3)', () => {
  test('the attacker who signed up with the author’s address loses password and session; the operator’s reach /admin/', async () => {
    const author = 'author@example.com';
    const { visitor: attacker } = await squatterFromEarlierRelease(author, SQUATTER_PASSWORD);
    // An emailed link the attacker could not read but asked for anyway; it must not outlive this.
    const reset = await requestReset(author);

    const run = await admin(['create-admin', author], { ADMIN_PASSWORD: OPERATOR_PASSWORD });
    expect(run.code, run.stderr).toBe(0);
    const row = (await userOf(author))!;
    expect(row).toMatchObject({ role: 'admin' });
    expect(row.email_verified_at).not.toBeNull();

    expect((await attacker.get('/admin/')).status).not.toBe(200);
    expect(await signedIn(attacker)).toBe(false);
    expect(await passwordWorks(author, SQUATTER_PASSWORD)).toBe(false);
    expect((await visitor().post('/api/auth/reset', { token: reset, password: 'the attackers new one' })).headers.get('location')).toBe(
      '/reset?error=token-invalid',
    );

    const operator = visitor();
    expect((await operator.post('/api/auth/login', { email: author, password: OPERATOR_PASSWORD })).headers.get('location')).toBe('/account');
    expect((await operator.get('/admin/')).status).toBe(200);
  });

  test('the attacker whose guest purchase made the author’s account loses the success page’s session', async () => {
    const author = 'author.by.purchase@example.com';
    const attacker = visitor();
    await guestBuys(author, attacker);
    expect(await signedIn(attacker)).toBe(true);

    const run = await admin(['create-admin', author], { ADMIN_PASSWORD: OPERATOR_PASSWORD });
    expect(run.code, run.stderr).toBe(0);
    expect((await attacker.get('/admin/')).status).not.toBe(200);
    expect(await signedIn(attacker)).toBe(false);
    const operator = visitor();
    await operator.post('/api/auth/login', { email: author, password: OPERATOR_PASSWORD });
    expect((await operator.get('/admin/')).status).toBe(200);
  });

  test('set-password takes an account over the same way, and there is no keeping its sessions', async () => {
    const email = 'taken.over@example.com';
    const { visitor: attacker } = await squatterFromEarlierRelease(email, SQUATTER_PASSWORD);
    const keep = await admin(['set-password', email, '--keep-sessions'], { ADMIN_PASSWORD: OPERATOR_PASSWORD });
    expect(keep.code).toBe(2);
    expect(await signedIn(attacker)).toBe(true);

    const run = await admin(['set-password', email], { ADMIN_PASSWORD: OPERATOR_PASSWORD });
    expect(run.code, run.stderr).toBe(0);
    expect(await signedIn(attacker)).toBe(false);
    expect(await passwordWorks(email, SQUATTER_PASSWORD)).toBe(false);
    expect(await passwordWorks(email, OPERATOR_PASSWORD)).toBe(true);
    expect((await userOf(email))!.email_verified_at).not.toBeNull();
  });
});
