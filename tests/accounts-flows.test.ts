// Every account journey over HTTP against the built server in production mode.
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { accountsEnv, linkIn, SESSION_COOKIE, TEST_SESSION_SECRET } from './support/accounts-env.ts';
import { startServer, type RunningServer } from './support/server.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { createTestStore, type TestStore } from './support/store.ts';
import { CONFIRMATION_SUBJECT, confirmationLinkIn, signUpAndConfirm } from './support/sign-up.ts';
import { createVisitor } from './support/visitor.ts';

let server: RunningServer;
let sink: SmtpSink;
let store: TestStore;

beforeAll(async () => {
  [sink, store] = await Promise.all([startSmtpSink(), createTestStore()]);
  server = await startServer({ dist: inject('dist'), env: accountsEnv({ databaseUrl: store.url, smtpUrl: sink.url }) });
});
afterAll(async () => {
  await server?.stop();
  await sink?.stop();
  store?.remove();
});

async function me(visitor: ReturnType<typeof createVisitor>) {
  const response = await visitor.get('/api/me');
  expect(response.headers.get('cache-control')).toBe('private, no-store');
  return (await response.json()) as { signedIn: boolean; email?: string };
}

/** Signs up and confirms the address from the mail, which signs the visitor in. */
async function signUp(visitor: ReturnType<typeof createVisitor>, fields: { email: string; password: string; next?: string }) {
  return signUpAndConfirm(visitor, sink, fields);
}

/** Signs up and leaves the confirmation mail unopened (it leaves after the response: waited for, so that later mails are told apart). */
async function signUpUnconfirmed(fields: { email: string; password: string }) {
  const sent = sink.messages.length;
  const response = await createVisitor(server.url).post('/api/auth/signup', fields);
  await sink.waitFor(fields.email, { after: sent, subject: CONFIRMATION_SUBJECT });
  return response;
}

async function userRow(email: string) {
  const { rows } = await store.client.execute({ sql: 'SELECT * FROM users WHERE email = ?', args: [email] });
  return rows[0];
}

describe('a new visitor', () => {
  test('signs up, sees the account page, signs out and back in', async () => {
    const visitor = createVisitor(server.url);
    expect(await me(visitor)).toEqual({ signedIn: false });

    const page = await visitor.get('/signup');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('action="/api/auth/signup"');

    const sent = sink.messages.length;
    const signup = await visitor.post('/api/auth/signup', { email: '  Ada@Example.COM ', password: 'analytical engine 1843' });
    expect(signup.status).toBe(303);
    // The same answer as for a registered address: nobody is signed in yet, the page says what to do.
    expect(signup.headers.get('location')).toBe('/signup?notice=check-email');
    expect(signup.headers.getSetCookie()).toEqual([]);
    const waiting = await visitor.get(signup.headers.get('location')!);
    expect(waiting.status).toBe(200);
    expect(await waiting.text()).toContain('We have sent an email with a link to that address.');
    expect(await me(visitor)).toEqual({ signedIn: false });
    const user = await userRow('ada@example.com');
    // The password waits for the confirmation: until then it signs nobody in.
    expect(user?.password_hash).toBeNull();
    expect(user?.pending_password_hash).toMatch(/^pbkdf2_sha256_chain\$2000\$1\$/);
    expect(user?.email_verified_at).toBeNull();
    const early = await createVisitor(server.url).post('/api/auth/login', { email: 'ada@example.com', password: 'analytical engine 1843' });
    expect(early.headers.get('location')).toBe('/login?error=invalid-credentials');

    // The mailed link asks for the password, then confirms the address and signs in.
    const mail = await sink.waitFor('ada@example.com', { after: sent, subject: CONFIRMATION_SUBJECT });
    const link = confirmationLinkIn(mail.text);
    expect(link).toMatch(/^\/verify\?token=[\w-]{43}$/);
    const form = await visitor.get(link);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('action="/api/auth/verify"');
    const token = new URL(link, 'https://x').searchParams.get('token')!;
    const confirmed = await visitor.post('/api/auth/verify', { token, password: 'analytical engine 1843' });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('location')).toBe('/account?notice=email-verified');
    const setCookie = confirmed.headers.getSetCookie()[0]!;
    expect(setCookie).toMatch(/^__Host-session=[\w-]+\.[\w-]+\.[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=2592000; Secure$/);
    expect((await userRow('ada@example.com'))?.email_verified_at).not.toBeNull();
    expect(await me(visitor)).toEqual({ signedIn: true, email: 'ada@example.com', hasPassword: true });

    const account = await visitor.get(confirmed.headers.get('location')!);
    expect(account.status).toBe(200);
    const html = await account.text();
    expect(html).toContain('ada@example.com');
    expect(html).toContain('Your email address is confirmed and you are signed in.');
    expect(html).toContain('href="/"');

    const logout = await visitor.post('/api/auth/logout', {});
    expect(logout.status).toBe(303);
    expect(logout.headers.get('location')).toBe('/login?notice=signed-out');
    expect(logout.headers.getSetCookie()[0]).toMatch(/^__Host-session=; .*Max-Age=0/);
    expect(await me(visitor)).toEqual({ signedIn: false });
    const anonymous = await visitor.get('/account');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/login?next=%2Faccount');

    const login = await visitor.post('/api/auth/login', { email: 'ADA@example.com', password: 'analytical engine 1843', next: '/courses/tiny-course/?x=1' });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/courses/tiny-course/?x=1');
    expect(await me(visitor)).toEqual({ signedIn: true, email: 'ada@example.com', hasPassword: true });
  });

  test('signs up from a course page and is back on it, signed in, after the mailed link', async () => {
    const visitor = createVisitor(server.url);
    const course = '/courses/tiny-course/?from=signup';
    const signupPage = await visitor.get(`/signup?next=${encodeURIComponent(course)}`);
    expect(await signupPage.text()).toContain(`<input type="hidden" name="next" value="/courses/tiny-course/?from=signup" />`);
    const confirmed = await signUp(visitor, { email: 'john@example.com', password: 'first draft of a report', next: course });
    expect(confirmed.headers.get('location')).toBe(course);
    expect(await me(visitor)).toEqual({ signedIn: true, email: 'john@example.com', hasPassword: true });
  });

  test('a wrong password on the confirmation page keeps where the member was going', async () => {
    const visitor = createVisitor(server.url);
    const sent = sink.messages.length;
    await visitor.post('/api/auth/signup', { email: 'kurt@example.com', password: 'incompleteness 1931', next: '/courses/tiny-course/' });
    const link = confirmationLinkIn((await sink.waitFor('kurt@example.com', { after: sent, subject: CONFIRMATION_SUBJECT })).text);
    expect(link).toMatch(/&next=%2Fcourses%2Ftiny-course%2F$/);
    const token = new URL(link, 'https://x').searchParams.get('token')!;
    const wrong = await visitor.post('/api/auth/verify', { token, password: 'not the password', next: '/courses/tiny-course/' });
    expect(wrong.headers.get('location')).toBe(`/verify?error=verify-password-wrong&token=${token}&next=%2Fcourses%2Ftiny-course%2F`);
    expect(wrong.headers.getSetCookie()).toEqual([]);
    expect(await me(visitor)).toEqual({ signedIn: false });
    const again = await visitor.get(wrong.headers.get('location')!);
    expect(await again.text()).toContain('<input type="hidden" name="next" value="/courses/tiny-course/" />');
    // A `next` that leads off the site is not followed.
    const offsite = await visitor.post('/api/auth/verify', { token, password: 'incompleteness 1931', next: '//evil.example/' });
    expect(offsite.headers.get('location')).toBe('/account');
    expect(await me(visitor)).toEqual({ signedIn: true, email: 'kurt@example.com', hasPassword: true });
  });

  test('changes the password: this device stays signed in, the others are signed out', async () => {
    const laptop = createVisitor(server.url);
    const phone = createVisitor(server.url);
    const fields = { email: 'grace@example.com', password: 'compiler pioneer 1952' };
    await signUp(laptop, fields);
    await phone.post('/api/auth/login', fields);
    expect((await me(phone)).signedIn).toBe(true);
    const before = await userRow('grace@example.com');

    const form = await laptop.get('/account/password');
    expect(form.status).toBe(200);
    const wrong = await laptop.post('/api/auth/password', { current_password: 'not my password', password: 'a brand new passphrase' });
    expect(wrong.headers.get('location')).toBe('/account/password?error=wrong-password');
    expect(await userRow('grace@example.com')).toEqual(before);

    const change = await laptop.post('/api/auth/password', { current_password: fields.password, password: 'a brand new passphrase' });
    expect(change.status).toBe(303);
    expect(change.headers.get('location')).toBe('/account?notice=password-changed');
    expect((await me(laptop)).signedIn).toBe(true);
    const phoneAnswer = await phone.get('/api/me');
    expect(await phoneAnswer.json()).toEqual({ signedIn: false });
    expect(phoneAnswer.headers.getSetCookie()[0]).toMatch(/^__Host-session=; .*Max-Age=0/);

    const old = await laptop.post('/api/auth/login', fields);
    expect(old.headers.get('location')).toBe('/login?error=invalid-credentials');
    const fresh = await phone.post('/api/auth/login', { ...fields, password: 'a brand new passphrase' });
    expect(fresh.headers.get('location')).toBe('/account');
  });

  test('signs out everywhere', async () => {
    const one = createVisitor(server.url);
    const two = createVisitor(server.url);
    const fields = { email: 'edsger@example.com', password: 'goto considered harmful' };
    await signUp(one, fields);
    await two.post('/api/auth/login', fields);
    const version = (await userRow('edsger@example.com'))?.session_version;

    const response = await one.post('/api/auth/logout-all', {});
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?notice=signed-out-everywhere');
    expect((await userRow('edsger@example.com'))?.session_version).toBe(Number(version) + 1);
    expect(await me(one)).toEqual({ signedIn: false });
    expect(await me(two)).toEqual({ signedIn: false });
  });

  test('resets a forgotten password through the emailed link, which works once', async () => {
    const visitor = createVisitor(server.url);
    await signUp(visitor, { email: 'barbara@example.com', password: 'abstraction first 1974' });
    await visitor.post('/api/auth/logout', {});
    const other = createVisitor(server.url);
    await other.post('/api/auth/login', { email: 'barbara@example.com', password: 'abstraction first 1974' });

    const sent = sink.messages.length;
    const request = await visitor.post('/api/auth/reset-request', { email: 'Barbara@Example.com' });
    expect(request.headers.get('location')).toBe('/reset?notice=reset-sent');
    const mail = await sink.waitFor('barbara@example.com', { after: sent });
    expect(mail.subject).toBe('Reset your password for Practical Python Courses');
    expect(mail.from).toBe('courses@courses.test');
    expect(mail.html).toContain('Choose a new password');
    const link = linkIn(mail.text);
    expect(link).toMatch(/^\/reset\?token=[\w-]{43}$/);
    const { rows } = await store.client.execute('SELECT token_hash FROM auth_tokens');
    expect(JSON.stringify(rows)).not.toContain(link.split('=')[1]);

    const page = await visitor.get(link);
    expect(page.status).toBe(200);
    expect(page.headers.get('referrer-policy')).toBe('same-origin');
    const html = await page.text();
    expect(html).toContain('action="/api/auth/reset"');
    expect(html).toContain('barbara@example.com');

    const token = new URL(link, server.url).searchParams.get('token')!;
    const tooShort = await visitor.post('/api/auth/reset', { token, password: 'short' });
    expect(tooShort.headers.get('location')).toBe(`/reset?error=password-too-short&token=${token}`);

    const reset = await visitor.post('/api/auth/reset', { token, password: 'structured programming' });
    expect(reset.status).toBe(303);
    expect(reset.headers.get('location')).toBe('/account?notice=password-reset');
    expect(await me(visitor)).toEqual({ signedIn: true, email: 'barbara@example.com', hasPassword: true });
    expect(await me(other)).toEqual({ signedIn: false });
    expect((await userRow('barbara@example.com'))?.email_verified_at).not.toBeNull();

    const before = await store.snapshot();
    const replay = await createVisitor(server.url).post('/api/auth/reset', { token, password: 'someone elses password' });
    expect(replay.headers.get('location')).toBe('/reset?error=token-invalid');
    expect(await store.snapshot()).toBe(before);
    const replayPage = await (await visitor.get(link)).text();
    expect(replayPage).toContain('This link has expired or has been used already');
    expect(replayPage).not.toContain('action="/api/auth/reset"');

    const login = await createVisitor(server.url).post('/api/auth/login', { email: 'barbara@example.com', password: 'structured programming' });
    expect(login.headers.get('location')).toBe('/account');
  });

  test('an expired reset link does nothing', async () => {
    const visitor = createVisitor(server.url);
    await signUp(visitor, { email: 'alan@example.com', password: 'on computable numbers' });
    const sent = sink.messages.length;
    await visitor.post('/api/auth/reset-request', { email: 'alan@example.com' });
    const token = new URL(linkIn((await sink.waitFor('alan@example.com', { after: sent })).text), server.url).searchParams.get('token')!;
    // Time passes: the token's expiry is now in the past.
    await store.client.execute({ sql: 'UPDATE auth_tokens SET expires_at = ? WHERE used_at IS NULL', args: [Date.now() - 1] });
    const before = await store.snapshot();
    const response = await visitor.post('/api/auth/reset', { token, password: 'a perfectly fine password' });
    expect(response.headers.get('location')).toBe('/reset?error=token-invalid');
    expect(await store.snapshot()).toBe(before);
  });

  test('signs in with an emailed link, after confirming on the page', async () => {
    await signUpUnconfirmed({ email: 'katherine@example.com', password: 'orbital mechanics 1962' });
    const visitor = createVisitor(server.url);
    const sent = sink.messages.length;
    const request = await visitor.post('/api/auth/link-request', { email: 'katherine@example.com', next: '/courses/tiny-course/' });
    expect(request.headers.get('location')).toBe('/login?notice=link-sent&next=%2Fcourses%2Ftiny-course%2F');
    const link = linkIn((await sink.waitFor('katherine@example.com', { after: sent })).text);
    const page = await visitor.get(link);
    const html = await page.text();
    expect(html).toContain('Sign in as <strong>katherine@example.com</strong>');
    expect(await me(visitor)).toEqual({ signedIn: false });
    const url = new URL(link, server.url);
    const token = url.searchParams.get('token')!;
    const signIn = await visitor.post('/api/auth/link', { token, next: url.searchParams.get('next')! });
    expect(signIn.headers.get('location')).toBe('/courses/tiny-course/');
    // The first proof of the address clears the password chosen before it: nobody had shown it was
    // the owner who chose it (docs/decisions/0006-email-verification.md).
    expect(await me(visitor)).toEqual({ signedIn: true, email: 'katherine@example.com', hasPassword: false });
    const again = await createVisitor(server.url).post('/api/auth/link', { token });
    expect(again.headers.get('location')).toBe('/login?error=token-invalid&mode=link');
  });

  test('unknown emails get the same answer and no email on reset and link requests', async () => {
    const visitor = createVisitor(server.url);
    await signUp(visitor, { email: 'known@example.com', password: 'i have an account here' });
    const sent = sink.messages.length;
    const before = await store.snapshot();
    for (const [path, notice] of [
      ['/api/auth/reset-request', '/reset?notice=reset-sent'],
      ['/api/auth/link-request', '/login?notice=link-sent'],
    ] as const) {
      const unknown = await visitor.post(path, { email: 'nobody@example.com' });
      expect(unknown.status).toBe(303);
      expect(unknown.headers.get('location')).toBe(notice);
    }
    expect(await store.snapshot()).toBe(before);
    for (const path of ['/api/auth/reset-request', '/api/auth/link-request']) {
      const known = await visitor.post(path, { email: 'known@example.com' });
      expect(known.status).toBe(303);
    }
    await sink.waitFor('known@example.com', { after: sent });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sink.messages.slice(sent).flatMap((message) => message.to)).toEqual(['known@example.com', 'known@example.com']);
  });

  test('a session older than a day is renewed; a Django password hash is upgraded at sign-in', async () => {
    // Django's format, as `make_password('swordfish-and-chips', 'djangosalt')` with 1,000 iterations
    // would store it (computed with Python's hashlib.pbkdf2_hmac).
    const django = 'pbkdf2_sha256$1000$djangosalt$PY+XvkmHt29g2N9Q48HurPlOYjhYXhouoNc1IWfRpjg=';
    const now = Date.now();
    await store.client.execute({
      sql: 'INSERT INTO users (email, password_hash, session_version, created_at, updated_at) VALUES (?, ?, 1, ?, ?)',
      args: ['migrated@example.com', django, now, now],
    });
    const visitor = createVisitor(server.url);
    const login = await visitor.post('/api/auth/login', { email: 'migrated@example.com', password: 'swordfish-and-chips' });
    expect(login.headers.get('location')).toBe('/account');
    const row = await userRow('migrated@example.com');
    expect(row?.password_hash).toMatch(/^pbkdf2_sha256_chain\$/);
    expect(row?.session_version).toBe(1);
    expect((await me(visitor)).signedIn).toBe(true);
    expect(
      (await createVisitor(server.url).post('/api/auth/login', { email: 'migrated@example.com', password: 'swordfish-and-chips' })).headers.get('location'),
    ).toBe('/account');

    const issuedAt = Math.floor(Date.now() / 1000) - 2 * 24 * 3600;
    const oldToken = await new SignJWT({ sv: 1 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(row?.id))
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + 30 * 24 * 3600)
      .sign(new TextEncoder().encode(TEST_SESSION_SECRET));
    const response = await fetch(`${server.url}/api/me`, { headers: { cookie: `${SESSION_COOKIE}=${oldToken}` } });
    expect(await response.json()).toEqual({ signedIn: true, email: 'migrated@example.com', hasPassword: true });
    const renewed = response.headers.getSetCookie()[0] ?? '';
    expect(renewed).toMatch(/^__Host-session=[\w-]+\.[\w-]+\.[\w-]+; .*Max-Age=2592000/);
    expect(renewed).not.toContain(oldToken);
  });
});
