// Attacks on sessions, each sent over HTTP to the built server as an attacker would send it: a
// token copied before its browser signed out, a token of a session past its absolute end, and the
// upgrade from the earlier release's `session` cookie (accepted, then replaced). Every attack must
// fail and leave the store as it was. docs/security.md maps these to the defences.
import { SignJWT, decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { grantAccess } from '../../src/server/access/ledger.ts';
import { accountsEnv, SESSION_COOKIE, TEST_SESSION_SECRET } from '../support/accounts-env.ts';
import { startServer, type RunningServer } from '../support/server.ts';
import { signUpAndConfirm } from '../support/sign-up.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { createTestStore, syncStore, type TestStore } from '../support/store.ts';
import { createVisitor, type Visitor } from '../support/visitor.ts';

const COURSE = 'python-fundamentals';
const LESSON_PATH = `/courses/${COURSE}/comprehensions/`;
/** A sentence of the paid lesson's text: never in an answer to a token the store refuses. */
const PAID_TEXT = 'Python has a compact syntax for exactly that shape';
const DAY_MS = 24 * 60 * 60 * 1000;

let server: RunningServer;
let store: TestStore;
let sink: SmtpSink;

beforeAll(async () => {
  [store, sink] = await Promise.all([createTestStore(), startSmtpSink()]);
  await syncStore(inject('dist'), store.url);
  server = await startServer({ dist: inject('dist'), env: accountsEnv({ databaseUrl: store.url, smtpUrl: sink.url }) });
});
afterAll(async () => {
  await server?.stop();
  await sink?.stop();
  store?.remove();
});

async function rows<T>(sql: string, args: (string | number)[] = []): Promise<T[]> {
  return (await store.client.execute({ sql, args })).rows as unknown as T[];
}

let members = 0;
/** A member who owns the course, signed in on a browser of their own. */
async function entitledMember(): Promise<{ visitor: Visitor; userId: number; email: string; sessionVersion: number }> {
  const visitor = createVisitor(server.url);
  const email = `sessions${++members}@example.com`;
  await signUpAndConfirm(visitor, sink, { email, password: 'a long enough passphrase' });
  const [user] = await rows<{ id: number }>('SELECT id FROM users WHERE email = ?', [email]);
  await grantAccess(store.db, { userId: Number(user!.id), courseSlug: COURSE, reason: 'test', now: Date.now() });
  expect((await visitor.get(LESSON_PATH)).status).toBe(200);
  // Confirming the address was its first proof, which ended every earlier session: the version moved on.
  const sessionVersion = decodeJwt(visitor.cookie(SESSION_COOKIE)!).sv as number;
  return { visitor, userId: Number(user!.id), email, sessionVersion };
}

/** What a token gets on each kind of path: the gate, /api/me, a page that needs a member. */
async function whatTheTokenGets(cookie: string) {
  const lesson = await fetch(new URL(LESSON_PATH, server.url), { redirect: 'manual', headers: { cookie } });
  // Signed out, the lesson is offered (403) with nothing of its text.
  const lessonText = await lesson.text();
  if (lesson.status !== 200) expect(lessonText).not.toContain(PAID_TEXT);
  const me = await fetch(new URL('/api/me', server.url), { headers: { cookie } });
  const account = await fetch(new URL('/account', server.url), { redirect: 'manual', headers: { cookie } });
  return {
    lesson: lesson.status,
    me: ((await me.json()) as { signedIn: boolean }).signedIn,
    account: `${account.status} ${account.headers.get('location')}`,
    cleared: [lesson, me, account].every((response) => response.headers.getSetCookie().some((header) => header.startsWith(`${SESSION_COOKIE}=;`))),
  };
}

const ANONYMOUS = { lesson: 403, me: false, account: '303 /login?next=%2Faccount', cleared: true };

function sign(claims: Record<string, unknown>, issuedAtS: number, expiresAtS: number, subject: number): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(subject))
    .setIssuedAt(issuedAtS)
    .setExpirationTime(expiresAtS)
    .sign(new TextEncoder().encode(TEST_SESSION_SECRET));
}

describe('a copied session token', () => {
  test('dies when the browser it was copied from signs out', async () => {
    const member = await entitledMember();
    const copied = `${SESSION_COOKIE}=${member.visitor.cookie(SESSION_COOKIE)}`;
    const sid = decodeJwt(member.visitor.cookie(SESSION_COOKIE)!).sid as string;
    expect(await rows('SELECT id FROM sessions WHERE id = ?', [sid])).toHaveLength(1);
    // The attacker's copy works while the member is signed in...
    expect((await whatTheTokenGets(copied)).me).toBe(true);

    const signOut = await member.visitor.post('/api/auth/logout', {});
    expect(signOut.headers.get('location')).toBe('/login?notice=signed-out');
    expect(await rows('SELECT id FROM sessions WHERE id = ?', [sid])).toEqual([]);

    // ...and nowhere after: the gate, /api/me and the pages all find no session row.
    const before = await store.snapshot();
    expect(await whatTheTokenGets(copied)).toEqual(ANONYMOUS);
    expect(await store.snapshot()).toBe(before);
  });

  test('signing out on one browser leaves the member signed in on the others', async () => {
    const member = await entitledMember();
    const phone = createVisitor(server.url);
    expect((await phone.post('/api/auth/login', { email: member.email, password: 'a long enough passphrase' })).status).toBe(303);
    await member.visitor.post('/api/auth/logout', {});
    expect((await phone.get(LESSON_PATH)).status).toBe(200);
    expect(await rows('SELECT id FROM sessions WHERE user_id = ?', [member.userId])).toHaveLength(1);
  });

  test('dies when the member signs out everywhere, with every row of the account', async () => {
    const member = await entitledMember();
    const copied = `${SESSION_COOKIE}=${member.visitor.cookie(SESSION_COOKIE)}`;
    await member.visitor.post('/api/auth/logout-all', {});
    expect(await rows('SELECT id FROM sessions WHERE user_id = ?', [member.userId])).toEqual([]);
    const before = await store.snapshot();
    expect(await whatTheTokenGets(copied)).toEqual(ANONYMOUS);
    expect(await store.snapshot()).toBe(before);
  });
});

describe('the absolute lifetime of a session', () => {
  test('a sign-in opens a session that ends 90 days later, however often it is renewed', async () => {
    const member = await entitledMember();
    const [session] = await rows<{ created_at: number; expires_at: number }>('SELECT * FROM sessions WHERE user_id = ?', [member.userId]);
    expect(Number(session!.expires_at) - Number(session!.created_at)).toBe(90 * DAY_MS);
  });

  test('a valid, freshly renewed token of a session past its end is refused', async () => {
    const member = await entitledMember();
    const sid = decodeJwt(member.visitor.cookie(SESSION_COOKIE)!).sid as string;
    // The session was opened 91 days ago; its token was renewed yesterday, as sliding renewal does.
    const now = Date.now();
    await store.client.execute({ sql: 'UPDATE sessions SET created_at = ?, expires_at = ? WHERE id = ?', args: [now - 91 * DAY_MS, now - DAY_MS, sid] });
    const nowS = Math.floor(now / 1000);
    const token = await sign({ sv: member.sessionVersion, sid }, nowS - 3600, nowS + 29 * 24 * 3600, member.userId);
    const before = await store.snapshot();
    expect(await whatTheTokenGets(`${SESSION_COOKIE}=${token}`)).toEqual(ANONYMOUS);
    expect(await store.snapshot()).toBe(before);
  });

  test('renewal never carries a token past its session row', async () => {
    const member = await entitledMember();
    const sid = decodeJwt(member.visitor.cookie(SESSION_COOKIE)!).sid as string;
    const now = Date.now();
    const endsAt = now + 3600 * 1000;
    await store.client.execute({ sql: 'UPDATE sessions SET expires_at = ? WHERE id = ?', args: [endsAt, sid] });
    const nowS = Math.floor(now / 1000);
    const dayOld = await sign({ sv: member.sessionVersion, sid }, nowS - 2 * 24 * 3600, nowS + 28 * 24 * 3600, member.userId);
    const response = await fetch(new URL('/api/me', server.url), { headers: { cookie: `${SESSION_COOKIE}=${dayOld}` } });
    expect(((await response.json()) as { signedIn: boolean }).signedIn).toBe(true);
    const renewed = response.headers.getSetCookie().find((header) => header.startsWith(`${SESSION_COOKIE}=`))!;
    const maxAge = Number(/Max-Age=(\d+)/.exec(renewed)![1]);
    expect(maxAge).toBeLessThanOrEqual(3600);
    expect(maxAge).toBeGreaterThan(3500);
    const token = renewed.split(';')[0]!.slice(`${SESSION_COOKIE}=`.length);
    expect(decodeJwt(token)).toMatchObject({ sid, sv: member.sessionVersion });
    expect(decodeJwt(token).exp! * 1000).toBeLessThanOrEqual(endsAt);
  });
});

describe('the cookie', () => {
  test('is __Host-session: Secure, Path=/, no Domain, HttpOnly', async () => {
    const visitor = createVisitor(server.url);
    const response = await signUpAndConfirm(visitor, sink, { email: 'host-prefix@example.com', password: 'a long enough passphrase' });
    expect(response.headers.getSetCookie()).toEqual([
      expect.stringMatching(/^__Host-session=[\w-]+\.[\w-]+\.[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=2592000; Secure$/),
    ]);
  });
});

describe('the upgrade from the earlier release', () => {
  /** A token as the earlier release signed it: no `sid`, checked by session version alone. */
  async function legacyToken(userId: number, sessionVersion: number): Promise<string> {
    const nowS = Math.floor(Date.now() / 1000);
    return sign({ sv: sessionVersion }, nowS - 3600, nowS + 29 * 24 * 3600, userId);
  }

  test('the old `session` cookie is accepted once and replaced by a session with a row', async () => {
    const member = await entitledMember();
    const browser = createVisitor(server.url);
    browser.cookies.set('session', await legacyToken(member.userId, member.sessionVersion));
    const rowsBefore = await rows('SELECT id FROM sessions WHERE user_id = ?', [member.userId]);

    const lesson = await browser.get(LESSON_PATH);
    expect(lesson.status).toBe(200);
    const cookies = lesson.headers.getSetCookie();
    expect(cookies).toEqual([
      expect.stringMatching(/^__Host-session=[\w-]+\.[\w-]+\.[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=2592000; Secure$/),
      expect.stringMatching(/^session=; Path=\/; HttpOnly; SameSite=Lax; Max-Age=0; .*Secure$/),
    ]);
    // The browser now holds only the new cookie, whose session has a row.
    expect(browser.cookie('session')).toBeUndefined();
    const sid = decodeJwt(browser.cookie(SESSION_COOKIE)!).sid as string;
    expect(await rows('SELECT id FROM sessions WHERE user_id = ?', [member.userId])).toHaveLength(rowsBefore.length + 1);
    expect(await rows('SELECT id FROM sessions WHERE id = ?', [sid])).toHaveLength(1);

    // The next request is an ordinary one: no new row, no cookie.
    const before = await store.snapshot();
    const again = await browser.get(LESSON_PATH);
    expect(again.status).toBe(200);
    expect(again.headers.getSetCookie()).toEqual([]);
    expect(await store.snapshot()).toBe(before);

    // And signing out now ends it on the server.
    await browser.post('/api/auth/logout', {});
    expect(await rows('SELECT id FROM sessions WHERE id = ?', [sid])).toEqual([]);
  });

  test('an old token of an older session version is refused and changes nothing', async () => {
    const member = await entitledMember();
    await member.visitor.post('/api/auth/logout-all', {});
    const stale = await legacyToken(member.userId, member.sessionVersion);
    const before = await store.snapshot();
    const response = await fetch(new URL('/api/me', server.url), { headers: { cookie: `session=${stale}` } });
    expect(await response.json()).toEqual({ signedIn: false });
    expect(response.headers.getSetCookie()).toEqual([expect.stringMatching(/^session=; .*Max-Age=0/)]);
    expect(await store.snapshot()).toBe(before);
  });

  test('a token with a sid is not accepted for another member', async () => {
    const [victim, attacker] = [await entitledMember(), await entitledMember()];
    // The attacker's own (validly signed) token names the victim's session row: the row must be the member's.
    const victimSid = decodeJwt(victim.visitor.cookie(SESSION_COOKIE)!).sid as string;
    const nowS = Math.floor(Date.now() / 1000);
    const crossed = await sign({ sv: attacker.sessionVersion, sid: victimSid }, nowS, nowS + 3600, attacker.userId);
    // (Only the site can sign a token; this one stands for a bug that mixed a sid and a subject.)
    const before = await store.snapshot();
    expect(await whatTheTokenGets(`${SESSION_COOKIE}=${crossed}`)).toEqual(ANONYMOUS);
    expect(await store.snapshot()).toBe(before);
  });
});
