// Every bad input the account endpoints can get, over HTTP against the built server in production
// mode. Each case checks the answer and that the accounts and tokens in the store did not change.
// (Rate-limit counters may move: counting attempts is their job.)
import { SignJWT, UnsecuredJWT } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { accountsEnv, SESSION_COOKIE, TEST_SESSION_SECRET } from './support/accounts-env.ts';
import { startServer, type RunningServer } from './support/server.ts';
import { signUpAndConfirm } from './support/sign-up.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { createTestStore, type TestStore } from './support/store.ts';
import { createVisitor, type Visitor } from './support/visitor.ts';

let server: RunningServer;
let sink: SmtpSink;
let store: TestStore;
let member: Visitor;
let memberId: number;
/** The member's session version: confirming the address (its first proof) moved it on from 1. */
let memberVersion: number;
const EMAIL = 'member@example.com';
const PASSWORD = 'the members own passphrase';

beforeAll(async () => {
  [sink, store] = await Promise.all([startSmtpSink(), createTestStore()]);
  server = await startServer({ dist: inject('dist'), env: accountsEnv({ databaseUrl: store.url, smtpUrl: sink.url }) });
  member = createVisitor(server.url);
  await signUpAndConfirm(member, sink, { email: EMAIL, password: PASSWORD });
  const [row] = (await store.client.execute('SELECT id, session_version FROM users')).rows;
  memberId = Number(row?.id);
  memberVersion = Number(row?.session_version);
});
afterAll(async () => {
  if (process.env.SHOW_SERVER_LOGS) console.log(server?.logs());
  await server?.stop();
  await sink?.stop();
  store?.remove();
});

/** Runs `act` and checks that no account or token was written. */
async function unchanged<T>(act: () => Promise<T>): Promise<T> {
  const before = await store.snapshot();
  const result = await act();
  expect(await store.snapshot()).toBe(before);
  return result;
}

describe('form fields', () => {
  const cases: [string, string, Record<string, string | string[]> | string, string][] = [
    ['signup without fields', '/api/auth/signup', {}, '/signup?error=email-invalid'],
    ['signup without password', '/api/auth/signup', { email: 'new@example.com' }, '/signup?error=password-missing'],
    ['signup with a bad email', '/api/auth/signup', { email: 'not-an-email', password: 'long enough password' }, '/signup?error=email-invalid'],
    ['signup with a short password', '/api/auth/signup', { email: 'new@example.com', password: 'short' }, '/signup?error=password-too-short'],
    ['signup with a common password', '/api/auth/signup', { email: 'new@example.com', password: 'Password123' }, '/signup?error=password-common'],
    ['signup with a huge password', '/api/auth/signup', { email: 'new@example.com', password: 'x'.repeat(1001) }, '/signup?error=password-too-long'],
    [
      'signup with a repeated field',
      '/api/auth/signup',
      { email: ['a@example.com', 'b@example.com'], password: 'long enough password' },
      '/signup?error=email-invalid',
    ],
    // Answered like a new address (tests/attacks/accounts.test.ts), and the account is untouched.
    ['signup for an existing email', '/api/auth/signup', { email: ' MEMBER@example.com', password: 'another long password' }, '/signup?notice=check-email'],
    ['login without fields', '/api/auth/login', {}, '/login?error=email-invalid'],
    ['login with an empty password', '/api/auth/login', { email: EMAIL, password: '' }, '/login?error=password-missing'],
    ['login with a wrong password', '/api/auth/login', { email: EMAIL, password: 'not the password' }, '/login?error=invalid-credentials'],
    ['login with an unknown email', '/api/auth/login', { email: 'nobody@example.com', password: PASSWORD }, '/login?error=invalid-credentials'],
    ['reset request without an email', '/api/auth/reset-request', {}, '/reset?error=email-invalid'],
    ['reset without a token', '/api/auth/reset', { password: 'long enough password' }, '/reset?error=token-invalid'],
    ['reset with a malformed token', '/api/auth/reset', { token: '../../etc/passwd', password: 'long enough password' }, '/reset?error=token-invalid'],
    ['reset with an unknown token', '/api/auth/reset', { token: 'A'.repeat(43), password: 'long enough password' }, '/reset?error=token-invalid'],
    ['link with an unknown token', '/api/auth/link', { token: 'B'.repeat(43) }, '/login?error=token-invalid&mode=link'],
    ['link request with a bad email', '/api/auth/link-request', { email: 'x' }, '/login?error=email-invalid&mode=link'],
  ];
  for (const [name, path, fields, location] of cases) {
    test(name, async () => {
      const response = await unchanged(() => createVisitor(server.url).post(path, fields));
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe(location);
      // A refusal hands the typed address back to the form's page in a short-lived cookie, nothing else.
      const typed = typeof fields === 'object' && typeof fields.email === 'string' && location.includes('error=') ? fields.email.trim() : '';
      expect(response.headers.getSetCookie()).toEqual(
        typed ? [`__Host-typed-email=${encodeURIComponent(typed)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure`] : [],
      );
    });
  }

  test('a refused sign-in, sign-up or reset request shows its form again with the email typed, never in a URL, never the password', async () => {
    const forms: [string, Record<string, string>, string][] = [
      ['/api/auth/login', { email: 'Someone@Example.com', password: 'not the password' }, '/login?error=invalid-credentials'],
      ['/api/auth/signup', { email: 'newcomer@example.com', password: 'short' }, '/signup?error=password-too-short'],
      ['/api/auth/reset-request', { email: 'not-an-email' }, '/reset?error=email-invalid'],
    ];
    for (const [path, fields, location] of forms) {
      const visitor = createVisitor(server.url);
      const refused = await unchanged(() => visitor.post(path, fields));
      expect(refused.headers.get('location')).toBe(location);
      for (const header of refused.headers.getSetCookie()) if (fields.password) expect(header).not.toContain(fields.password);
      const page = await visitor.get(location);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html, path).toMatch(new RegExp(`<input id="email" type="email" name="email"[^>]* value="${fields.email!.replace('.', '\\.')}" />`));
      expect(html).toContain('role="alert"');
      if (fields.password) expect(html).not.toContain(fields.password);
      // Read once: the page clears it, and the form is empty the next time.
      expect(page.headers.getSetCookie()).toContainEqual(expect.stringMatching(/^__Host-typed-email=; .*Max-Age=0/));
      expect(await (await visitor.get(location)).text()).not.toContain(`value="${fields.email}"`);
    }
  });

  test('what the typed-email cookie holds is shown escaped, and dropped when no one could have typed it', async () => {
    const injected = await fetch(`${server.url}/login`, { headers: { cookie: `__Host-typed-email=${encodeURIComponent('"><script>alert(1)</script>')}` } });
    const html = await injected.text();
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('value="&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"');
    const control = await (
      await fetch(`${server.url}/signup`, { headers: { cookie: `__Host-typed-email=${encodeURIComponent('a\r\nb@example.com')}` } })
    ).text();
    expect(control).toContain('<input id="email" type="email" name="email" autocomplete="email" required maxlength="254" value="" />');
    const malformed = await fetch(`${server.url}/reset`, { headers: { cookie: '__Host-typed-email=%E0%A4%A' } });
    expect(malformed.status).toBe(200);
    expect(malformed.headers.getSetCookie()).toContainEqual(expect.stringMatching(/^__Host-typed-email=; .*Max-Age=0/));
  });

  test('a file where a text field belongs is refused', async () => {
    const form = new FormData();
    form.set('email', new Blob(['member@example.com']), 'email.txt');
    form.set('password', PASSWORD);
    const response = await unchanged(() => createVisitor(server.url).post('/api/auth/login', form));
    expect(response.headers.get('location')).toBe('/login?error=email-invalid');
  });

  test('error pages show a message for known codes and never echo query text', async () => {
    const known = await (await fetch(`${server.url}/login?error=invalid-credentials`)).text();
    expect(known).toContain('That email and password do not match an account.');
    const injected = await (await fetch(`${server.url}/login?error=${encodeURIComponent('<script>alert(1)</script>')}&notice=%3Cb%3Ehi`)).text();
    expect(injected).not.toContain('<script>alert(1)');
    expect(injected).not.toContain('<b>hi');
    expect(injected).not.toContain('role="alert"');
  });
});

describe('request shapes', () => {
  test('a huge body gets 413', async () => {
    const response = await unchanged(() => createVisitor(server.url).post('/api/auth/signup', `email=a%40example.com&password=${'x'.repeat(64 * 1024)}`));
    expect(response.status).toBe(413);
  });

  test('a huge body without Content-Length (chunked) gets 413', async () => {
    const chunks = Array.from({ length: 40 }, () => `padding=${'y'.repeat(1000)}&`);
    const body = new ReadableStream({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(new TextEncoder().encode(next));
        else controller.close();
      },
    });
    const response = await unchanged(() =>
      fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        body,
        duplex: 'half',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      } as RequestInit),
    );
    expect(response.status).toBe(413);
  });

  test('JSON instead of a form gets 415', async () => {
    const response = await unchanged(() =>
      fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
        headers: { 'content-type': 'application/json', origin: server.url },
      }),
    );
    expect(response.status).toBe(415);
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  test('GET on a form endpoint does nothing', async () => {
    const response = await unchanged(() =>
      fetch(`${server.url}/api/auth/logout-all`, { headers: { cookie: `${SESSION_COOKIE}=${member.cookie(SESSION_COOKIE)}` } }),
    );
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect((await member.get('/api/me').then((r) => r.json())).signedIn).toBe(true);
  });
});

describe('cross-site posts', () => {
  for (const origin of ['https://evil.example', 'null', `${'http://127.0.0.1'}:1`]) {
    test(`a form from ${origin} is refused`, async () => {
      const response = await unchanged(() =>
        createVisitor(server.url).post('/api/auth/signup', { email: 'csrf@example.com', password: 'long enough password' }, { origin }),
      );
      expect(response.status).toBe(403);
    });
  }

  test('the handlers refuse it too when the content type slips past the framework check', async () => {
    // Astro's check only looks at form content types; the core's own check covers the rest.
    const response = await unchanged(() =>
      fetch(`${server.url}/api/auth/logout-all`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json', origin: 'https://evil.example', cookie: `${SESSION_COOKIE}=${member.cookie(SESSION_COOKIE)}` },
      }),
    );
    expect(response.status).toBe(403);
  });

  test('a post without Origin is refused', async () => {
    const response = await unchanged(() =>
      fetch(`${server.url}/api/auth/logout-all`, { method: 'POST', headers: { cookie: `${SESSION_COOKIE}=${member.cookie(SESSION_COOKIE)}` } }),
    );
    expect(response.status).toBe(403);
    expect((await member.get('/api/me').then((r) => r.json())).signedIn).toBe(true);
  });
});

describe('next after signing in', () => {
  const evil = [
    '//evil.com',
    '/\\evil.com',
    'https://evil.com',
    'http:evil.com',
    '/%2F%2Fevil.com',
    '/%5Cevil.com',
    '%2F%2Fevil.com',
    '/%252F%252Fevil.com',
    '/..//evil.com',
    '/\t/evil.com',
    ' //evil.com',
    'javascript:alert(1)',
  ];
  // Sign-ins are spread over a few accounts to stay under the per-email limit.
  const accounts = ['next-a@example.com', 'next-b@example.com', 'next-c@example.com'];
  beforeAll(async () => {
    for (const email of accounts) await signUpAndConfirm(createVisitor(server.url), sink, { email, password: PASSWORD });
  });
  for (const [index, next] of evil.entries()) {
    test(`${JSON.stringify(next)} falls back to /account`, async () => {
      const email = accounts[index % accounts.length]!;
      const response = await createVisitor(server.url).post('/api/auth/login', { email, password: PASSWORD, next });
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe('/account');
    });
  }

  test('the login page never puts a foreign next into its form', async () => {
    const html = await (await fetch(`${server.url}/login?next=${encodeURIComponent('//evil.com')}`)).text();
    expect(html).not.toContain('evil.com');
  });
});

describe('session cookies', () => {
  const secret = new TextEncoder().encode(TEST_SESSION_SECRET);
  const now = () => Math.floor(Date.now() / 1000);
  const claims = () => ({ sv: memberVersion });

  async function asAnonymousWithCleared(token: string) {
    for (const path of ['/api/me', '/account']) {
      const response = await unchanged(() => fetch(`${server.url}${path}`, { redirect: 'manual', headers: { cookie: `${SESSION_COOKIE}=${token}` } }));
      if (path === '/api/me') expect(await response.json()).toEqual({ signedIn: false });
      else expect(response.headers.get('location')).toBe('/login?next=%2Faccount');
      expect(response.headers.getSetCookie()[0]).toMatch(/^__Host-session=; Path=\/; HttpOnly; SameSite=Lax; Max-Age=0/);
    }
  }

  test('a valid token is accepted (the cases below differ from it in one way each)', async () => {
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(String(memberId))
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(secret);
    const response = await fetch(`${server.url}/api/me`, { headers: { cookie: `${SESSION_COOKIE}=${token}` } });
    expect(await response.json()).toEqual({ signedIn: true, email: EMAIL, hasPassword: true });
  });

  test('tampered payload', async () => {
    const token = member.cookie(SESSION_COOKIE)!;
    const [header, , signature] = token.split('.');
    const payload = Buffer.from(JSON.stringify({ sv: memberVersion, sub: String(memberId + 1), iat: now(), exp: now() + 3600 })).toString('base64url');
    await asAnonymousWithCleared(`${header}.${payload}.${signature}`);
  });

  test('alg none', async () => {
    await asAnonymousWithCleared(new UnsecuredJWT(claims()).setSubject(String(memberId)).setIssuedAt().setExpirationTime('1h').encode());
  });

  test('RS256 signed with the secret as its key (algorithm confusion), and a real RS256 key', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sv: memberVersion, sub: String(memberId), iat: now(), exp: now() + 3600 })).toString('base64url');
    const { createHmac } = await import('node:crypto');
    const signature = createHmac('sha256', TEST_SESSION_SECRET).update(`${header}.${payload}`).digest('base64url');
    await asAnonymousWithCleared(`${header}.${payload}.${signature}`);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await asAnonymousWithCleared(
      await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256' }).setSubject(String(memberId)).setIssuedAt().setExpirationTime('1h').sign(privateKey),
    );
  });

  test('signed with another secret', async () => {
    const other = new TextEncoder().encode('another-secret-that-is-long-enough-1234567');
    await asAnonymousWithCleared(
      await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).setSubject(String(memberId)).setIssuedAt().setExpirationTime('1h').sign(other),
    );
  });

  test('expired', async () => {
    await asAnonymousWithCleared(
      await new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(String(memberId))
        .setIssuedAt(now() - 7200)
        .setExpirationTime(now() - 60)
        .sign(secret),
    );
  });

  test('revoked (an older session version)', async () => {
    await asAnonymousWithCleared(
      await new SignJWT({ sv: 0 }).setProtectedHeader({ alg: 'HS256' }).setSubject(String(memberId)).setIssuedAt().setExpirationTime('1h').sign(secret),
    );
  });

  test('missing claims, an unknown member, and garbage', async () => {
    await asAnonymousWithCleared(
      await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(String(memberId)).setIssuedAt().setExpirationTime('1h').sign(secret),
    );
    await asAnonymousWithCleared(
      await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).setSubject('999999').setIssuedAt().setExpirationTime('1h').sign(secret),
    );
    await asAnonymousWithCleared('not-a-jwt');
  });
});

describe('rate limits', () => {
  test('after ten wrong passwords for one email within 15 minutes, password sign-in waits, even with the right password, and points to the emailed link', async () => {
    const visitor = createVisitor(server.url);
    await signUpAndConfirm(visitor, sink, { email: 'target@example.com', password: 'the targets passphrase' });
    for (let attempt = 0; attempt < 10; attempt++) {
      const response = await visitor.post('/api/auth/login', { email: 'target@example.com', password: `guess number ${attempt}` });
      expect(response.status).toBe(303);
    }
    const limited = await unchanged(() =>
      createVisitor(server.url).post('/api/auth/login', { email: 'Target@example.com', password: 'the targets passphrase' }),
    );
    expect(limited.status).toBe(303);
    expect(limited.headers.get('location')).toBe('/login?error=password-attempts&mode=link');
    // No session: only the address typed, for the link form the page opens.
    expect(limited.headers.getSetCookie()).toEqual(['__Host-typed-email=Target%40example.com; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure']);
    const linkForm = await (
      await createVisitor(server.url).get(limited.headers.get('location')!, { cookie: '__Host-typed-email=Target%40example.com' })
    ).text();
    expect(linkForm).toContain('Get a sign-in link by email below');
    expect(linkForm).toContain('<input id="link-email" type="email" name="email" autocomplete="email" required maxlength="254" value="Target@example.com" />');
    // Other accounts are not affected by the per-email limit.
    expect((await createVisitor(server.url).post('/api/auth/login', { email: EMAIL, password: PASSWORD })).headers.get('location')).toBe('/account');
  });

  test('reset requests for one email are answered alike, but past the daily mail cap (10) nothing is sent', async () => {
    const sent = () => sink.messages.filter((message) => message.to.includes(EMAIL)).length;
    const already = sent();
    for (let attempt = already; attempt < 10; attempt++) {
      expect((await createVisitor(server.url).post('/api/auth/reset-request', { email: EMAIL })).headers.get('location')).toBe('/reset?notice=reset-sent');
      // Counted when it leaves (after the answer): wait for each.
      for (const deadline = Date.now() + 5_000; sent() <= attempt && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const capped = await unchanged(() => createVisitor(server.url).post('/api/auth/reset-request', { email: EMAIL }));
    expect(capped.headers.get('location')).toBe('/reset?notice=reset-sent');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sent()).toBe(10);
  });

  test('sign-ups are limited per IP address across emails', async () => {
    // 30 per hour per address; this file has used a few already.
    let status = 0;
    let count = 0;
    while (count < 40) {
      const response = await createVisitor(server.url).post('/api/auth/signup', { email: `bulk${count}@example.com`, password: 'bulk signup password' });
      count += 1;
      status = response.status;
      if (status === 429) break;
    }
    expect(status).toBe(429);
    expect(count).toBeLessThanOrEqual(30);
    const { rows } = await store.client.execute("SELECT count(*) AS n FROM users WHERE email LIKE 'bulk%'");
    expect(Number(rows[0]?.n)).toBe(count - 1);
  });
});
