// The lesson gate over HTTP, against the built server and a store loaded by the real content sync:
// who gets a paid lesson, who is sent to sign in or to the offer, what 404s, and that a lesson
// request costs at most one store query.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createClient, type Client } from '@libsql/client';
import { drizzle } from 'drizzle-orm/libsql';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { appendLedger, grantAccess } from '../src/server/access/ledger.ts';
import { DatabaseSync } from 'node:sqlite';
import { createLessonGate, createLessonIndex, type GateReads } from '../src/server/access/lesson-gate.ts';
import { sqliteGateReads } from '../src/node/gate-reads.ts';
import { parsePageShell } from '../src/server/http/page-shell.ts';
import { createSessionToken } from '../src/server/auth/session.ts';
import { parseConfig } from '../src/server/config.ts';
import type { AppContext, Db } from '../src/server/context.ts';
import * as schema from '../src/server/db/schema.ts';
import { accountsEnv, SESSION_COOKIE } from './support/accounts-env.ts';
import { startServer, type RunningServer } from './support/server.ts';
import { signUpAndConfirm } from './support/sign-up.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { createTestStore, syncStore, type TestStore } from './support/store.ts';
import { createVisitor, type Visitor } from './support/visitor.ts';

const COURSE = 'python-fundamentals';
const LESSON = 'comprehensions';
const LESSON_PATH = `/courses/${COURSE}/${LESSON}/`;
/** A sentence of the paid lesson's text (courses/python-fundamentals/02-data-structures/03-comprehensions.md). */
const PAID_TEXT = 'Python has a compact syntax for exactly that shape';
const PREVIEW_PATH = `/courses/${COURSE}/why-python/`;

let server: RunningServer;
let store: TestStore;
let sink: SmtpSink;
let env: Record<string, string>;

beforeAll(async () => {
  [store, sink] = await Promise.all([createTestStore(), startSmtpSink()]);
  await syncStore(inject('dist'), store.url);
  // Members sign up through the confirmation mail, as people do.
  env = accountsEnv({ databaseUrl: store.url, smtpUrl: sink.url });
  server = await startServer({ dist: inject('dist'), env });
});
afterAll(async () => {
  await server?.stop();
  await sink?.stop();
  store?.remove();
});

let members = 0;
async function signUp(): Promise<{ visitor: Visitor; userId: number }> {
  const visitor = createVisitor(server.url);
  const email = `member${++members}@example.com`;
  await signUpAndConfirm(visitor, sink, { email, password: 'a long enough passphrase' });
  const { rows } = await store.client.execute({ sql: 'SELECT id FROM users WHERE email = ?', args: [email] });
  return { visitor, userId: Number(rows[0]!.id) };
}

async function entitledMember(): Promise<{ visitor: Visitor; userId: number; purchaseId: number }> {
  const member = await signUp();
  const purchaseId = await grantAccess(store.db, { userId: member.userId, courseSlug: COURSE, reason: 'test', now: Date.now() });
  return { ...member, purchaseId };
}

async function ledger(member: { userId: number; purchaseId: number }, action: 'suspend' | 'revoke' | 'restore') {
  const written = await appendLedger(store.db, {
    purchaseId: member.purchaseId,
    userId: member.userId,
    courseSlug: COURSE,
    action,
    reason: 'test',
    now: Date.now(),
  });
  expect(written).toBe(true);
}

/**
 * What a visitor who is not signed in gets for the paid lesson: a 403 page in the site's layout
 * with the lesson's title, its course, the price, the buy button and sign-in back to the lesson,
 * and nothing of the lesson's text. A HEAD gets the status alone.
 */
async function expectLockedPage(response: Response, path = LESSON_PATH) {
  expect(response.status).toBe(403);
  expect(response.headers.get('location')).toBeNull();
  expect(response.headers.get('cache-control')).toBe('no-store');
  const html = await response.text();
  expect(html).toMatch(/<title>Comprehensions[^<]*<\/title>/);
  expect(html).toMatch(/<h1>Comprehensions<\/h1>/);
  expect(html).toContain(`A lesson of <a href="/courses/${COURSE}/">Python Fundamentals</a>.`);
  expect(html).toMatch(
    new RegExp(
      `<form method="post" action="/api/checkout">\\s*<input type="hidden" name="course" value="${COURSE}" />\\s*<button class="button" type="submit">Buy for \\$49</button>`,
    ),
  );
  expect(html).toContain(`Already bought it? <a href="/login?next=${encodeURIComponent(path)}">Sign in</a> to read it.`);
  expect(html).not.toContain(PAID_TEXT);
}

function expectOffer(response: Response) {
  expect(response.status).toBe(303);
  expect(response.headers.get('location')).toBe(`/courses/${COURSE}/#not-owned`);
}

/** A request exactly as written: fetch would normalise `..`, backslashes and the like away. */
function rawRequest(target: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1');
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => (data += chunk));
    socket.on('error', reject);
    socket.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), text: data }));
    const lines = Object.entries({ Host: '127.0.0.1', Connection: 'close', ...headers }).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.write(`GET ${target} HTTP/1.1\r\n${lines.join('')}\r\n`);
  });
}

describe('a paid lesson', () => {
  test('anonymous visitors are offered the course, or sign-in that comes back to the lesson', async () => {
    const visitor = createVisitor(server.url);
    await expectLockedPage(await visitor.get(LESSON_PATH));
    await expectLockedPage(await visitor.get(LESSON_PATH.slice(0, -1)));
    const head = await fetch(new URL(LESSON_PATH, server.url), { method: 'HEAD', redirect: 'manual' });
    expect(head.status).toBe(403);
    expect(await head.text()).toBe('');
    const login = await visitor.get(`/login?next=${encodeURIComponent(LESSON_PATH)}`);
    expect(await login.text()).toContain(`name="next" value="${LESSON_PATH}"`);
    // A cookie that does not verify is anonymous, and is cleared.
    const forged = await visitor.get(LESSON_PATH, { cookie: `${SESSION_COOKIE}=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.bad` });
    await expectLockedPage(forged);
    expect(forged.headers.getSetCookie()[0]).toMatch(/^__Host-session=; .*Max-Age=0/);
  });

  test('a member who does not own the course is shown its offer', async () => {
    const { visitor } = await signUp();
    const response = await visitor.get(LESSON_PATH);
    expectOffer(response);
    const offer = await visitor.get(response.headers.get('location')!.split('#')[0]!);
    expect(offer.status).toBe(200);
    const html = await offer.text();
    expect(html).toContain('id="not-owned"');
    expect(html).toContain('action="/api/checkout"');
    expect(html).not.toContain(PAID_TEXT);
  });

  test('an entitled member reads it, privately cached and revalidated with its ETag', async () => {
    const { visitor } = await entitledMember();
    const response = await visitor.get(LESSON_PATH);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('private, no-cache');
    const etag = response.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{64}\.[0-9a-z]+"$/);
    const html = await response.text();
    expect(html).toContain(PAID_TEXT);
    expect(html).toContain('<h1>Comprehensions</h1>');
    expect(html).toContain('Complete and continue');
    expect(html).toMatch(/data-account-link data-signed-in>member\d+@example\.com</);
    expect(html).not.toContain('<!--lesson-progress-->');

    const again = await visitor.get(LESSON_PATH, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await again.text()).toBe('');
    expect((await visitor.get(LESSON_PATH, { 'if-none-match': `W/${etag}, "other"` })).status).toBe(304);
    expect((await visitor.get(LESSON_PATH, { 'if-none-match': '"stale"' })).status).toBe(200);
    expect((await visitor.get(LESSON_PATH.slice(0, -1))).status).toBe(200);

    const head = await fetch(new URL(LESSON_PATH, server.url), { method: 'HEAD', headers: { cookie: `${SESSION_COOKIE}=${visitor.cookie(SESSION_COOKIE)}` } });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe(etag);
    expect(await head.text()).toBe('');
    expect((await visitor.post(LESSON_PATH, {})).status).toBe(405);
  });

  test('suspended and revoked purchases give no access; a restored one does', async () => {
    const member = await entitledMember();
    const read = await member.visitor.get(LESSON_PATH);
    expect(read.status).toBe(200);
    const etag = read.headers.get('etag')!;
    await ledger(member, 'suspend');
    expectOffer(await member.visitor.get(LESSON_PATH));
    // The copy in the browser's cache is not confirmed once access is gone (a refund, a dispute).
    expectOffer(await member.visitor.get(LESSON_PATH, { 'if-none-match': etag }));
    await ledger(member, 'restore');
    expect((await member.visitor.get(LESSON_PATH)).status).toBe(200);
    await ledger(member, 'revoke');
    expectOffer(await member.visitor.get(LESSON_PATH));
    // Another course's entitlement gives nothing here.
    await grantAccess(store.db, { userId: member.userId, courseSlug: 'python-for-finance', reason: 'test', now: Date.now() });
    expectOffer(await member.visitor.get(LESSON_PATH));
  });

  test('signing out everywhere ends access on every device at once', async () => {
    const member = await entitledMember();
    const cookie = `${SESSION_COOKIE}=${member.visitor.cookie(SESSION_COOKIE)}`;
    expect((await member.visitor.get(LESSON_PATH)).status).toBe(200);
    await member.visitor.post('/api/auth/logout-all', {});
    const response = await fetch(new URL(LESSON_PATH, server.url), { redirect: 'manual', headers: { cookie } });
    await expectLockedPage(response);
    expect(response.headers.getSetCookie()[0]).toMatch(/^__Host-session=; .*Max-Age=0/);
    // So does a valid token of an account that no longer exists.
    const ghost = await createSessionToken({ userId: 999_999, sessionVersion: 1, sessionId: null }, parseConfig(env), Date.now());
    const gone = await fetch(new URL(LESSON_PATH, server.url), { redirect: 'manual', headers: { cookie: `${SESSION_COOKIE}=${ghost}` } });
    await expectLockedPage(gone);
    expect(gone.headers.getSetCookie()[0]).toMatch(/^__Host-session=; .*Max-Age=0/);
  });
});

describe('the author', () => {
  test('an admin reads every paid lesson and its media without owning the course; once demoted, the offer', async () => {
    const admin = await signUp();
    await store.client.execute({ sql: "UPDATE users SET role = 'admin' WHERE id = ?", args: [admin.userId] });
    const response = await admin.visitor.get(LESSON_PATH);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain(PAID_TEXT);
    const { rows } = await store.client.execute({ sql: 'SELECT name FROM private_media WHERE course_slug = ? LIMIT 1', args: [COURSE] });
    const media = `/courses/${COURSE}/media/${String(rows[0]!.name)}`;
    expect((await admin.visitor.get(media)).status).toBe(200);

    // The role is read with each request: a demotion applies at once.
    await store.client.execute({ sql: "UPDATE users SET role = 'member' WHERE id = ?", args: [admin.userId] });
    expectOffer(await admin.visitor.get(LESSON_PATH));
    expect((await admin.visitor.get(media)).status).toBe(404);
  });
});

describe('free lessons, unknown lessons and odd paths', () => {
  test('a free preview lesson is a static page for everyone', async () => {
    const anonymous = createVisitor(server.url);
    const { visitor: member } = await signUp();
    const { visitor: owner } = await entitledMember();
    for (const visitor of [anonymous, member, owner]) {
      const response = await visitor.get(PREVIEW_PATH);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('<h1>Why Python, and your first script</h1>');
    }
  });

  test('unknown courses and lessons get the 404 page, signed in or not', async () => {
    const { visitor: owner } = await entitledMember();
    for (const visitor of [createVisitor(server.url), owner]) {
      for (const path of [`/courses/${COURSE}/no-such-lesson/`, '/courses/no-such-course/comprehensions/', `/courses/${COURSE}/media/0000-1200.webp`]) {
        const response = await visitor.get(path);
        expect(response.status, path).toBe(404);
        expect(await response.text()).toContain('Page not found');
      }
    }
  });

  test('path tricks get 404 and never reach a query or a file', async () => {
    const { visitor } = await entitledMember();
    const cookie = `${SESSION_COOKIE}=${visitor.cookie(SESSION_COOKIE)}`;
    const long = 'a'.repeat(81);
    const targets = [
      `/courses/${COURSE}/../${COURSE}/${LESSON}/`,
      `/courses/${COURSE}/%2e%2e/${COURSE}/${LESSON}/`,
      `/courses/${COURSE}/${LESSON}/..`,
      `/courses/${COURSE}%2F${LESSON}/`,
      `/courses/${COURSE}/${LESSON}%2F`,
      `/courses/${COURSE}/${LESSON}%2f..%2f..%2fpackage.json`,
      `/courses/${COURSE}\\${LESSON}/`,
      `/courses/${COURSE}/${LESSON}\\`,
      `/courses//${COURSE}/${LESSON}/`,
      `/courses/${COURSE}//${LESSON}/`,
      `/courses/${COURSE}/${LESSON}//`,
      `/courses/${COURSE}/${LESSON}%00/`,
      `/courses/${COURSE}/%00`,
      `/courses/${COURSE}/${long}/`,
      `/courses/${long}/${LESSON}/`,
      `/courses/${COURSE}/${'x'.repeat(5000)}/`,
      `/courses/${COURSE}/${LESSON.toUpperCase()}/`,
      `/courses/${COURSE}/media/../../../package.json`,
      `/courses/${COURSE}/media/..%2F..%2Fpackage.json`,
      `/courses/${COURSE}/media/.hidden`,
      `/courses/%2e%2e/%2e%2e/package.json`,
      `/courses/${COURSE}/why-python/index.html/..`,
      `/courses/`,
    ];
    for (const target of targets) {
      const variants: Record<string, string>[] = [{}, { Cookie: cookie }];
      for (const headers of variants) {
        const response = await rawRequest(target, headers);
        expect(response.status, `${target} ${JSON.stringify(headers)}`).toBe(404);
        expect(response.text).not.toContain(PAID_TEXT);
      }
    }
    expect(server.logs()).not.toContain('lesson-gate.failed');
  });
});

describe('private media of paid lessons', () => {
  test('only an entitled member gets them, asked again at every view; everyone else gets a 404', async () => {
    const { rows } = await store.client.execute({
      sql: "SELECT name, content_type FROM private_media WHERE course_slug = ? AND name LIKE '%.webp' LIMIT 1",
      args: [COURSE],
    });
    const { name, content_type: contentType } = rows[0] as unknown as { name: string; content_type: string };
    const path = `/courses/${COURSE}/media/${name}`;
    const expected = readFileSync(join(inject('dist'), 'private/media', COURSE, name));
    // The paid page refers to its media at this address.
    const { rows: pages } = await store.client.execute({ sql: 'SELECT html FROM lessons WHERE course_slug = ? AND html LIKE ?', args: [COURSE, `%${path}%`] });
    expect(pages.length).toBeGreaterThan(0);

    const owner = await entitledMember();
    const response = await owner.visitor.get(path);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(contentType);
    expect(contentType).toBe('image/webp');
    // Kept by the member's browser but revalidated at every view, so that the gate decides each time.
    expect(response.headers.get('cache-control')).toBe('private, no-cache');
    const etag = response.headers.get('etag')!;
    expect(etag).toBe(`"${name}"`);
    expect(Buffer.from(await response.arrayBuffer()).equals(expected)).toBe(true);
    const revalidated = await owner.visitor.get(path, { 'if-none-match': etag });
    expect(revalidated.status).toBe(304);
    expect(await revalidated.text()).toBe('');

    const { visitor: member } = await signUp();
    for (const visitor of [createVisitor(server.url), member]) {
      const refused = await visitor.get(path);
      expect(refused.status).toBe(404);
      expect(await refused.text()).toContain('Page not found');
    }
    await ledger(owner, 'suspend');
    expect((await owner.visitor.get(path)).status).toBe(404);
    // The browser's cached copy is not confirmed once access is gone.
    expect((await owner.visitor.get(path, { 'if-none-match': etag })).status).toBe(404);
  });
});

describe('the gate in process', () => {
  // The gate's own store traffic, counted at the libSQL client: every statement drizzle sends
  // goes through `execute` or `batch`.
  let client: Client;
  let statements: string[];
  let ctx: AppContext;
  let gate: ReturnType<typeof createLessonGate>;

  beforeAll(async () => {
    client = createClient({ url: store.url });
    statements = [];
    const counted = new Proxy(client, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== 'function') return value;
        if (['execute', 'batch', 'executeMultiple', 'transaction', 'migrate'].includes(String(property))) {
          return (...args: unknown[]) => {
            statements.push(String(property));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
    const db = drizzle(counted, { schema }) as unknown as Db;
    const log = { debug() {}, info() {}, warn() {}, error() {} };
    const clock = { now: () => Date.now() };
    const shell = parsePageShell(readFileSync(join(inject('dist'), 'private', 'shell.html'), 'utf8'));
    ctx = { db, config: parseConfig(env), mailer: { send: async () => {} }, stripe: null, clock, log, pageShell: async () => shell } as unknown as AppContext;
    const index = createLessonIndex(clock, log, { refreshMs: 60 * 60 * 1000 });
    await index.refresh(db);
    gate = createLessonGate({ index, notFoundHtml: 'not found' });
  });
  afterAll(() => client?.close());

  async function count(path: string, cookie?: string, headers: Record<string, string> = {}): Promise<{ status: number; statements: number }> {
    statements.length = 0;
    const request = new Request(new URL(path, 'https://courses.test'), { headers: { ...(cookie ? { cookie } : {}), ...headers } });
    const response = await gate.handle(request, ctx, { address: '127.0.0.1', waitUntil: () => {} });
    return { status: response.status, statements: statements.length };
  }

  test('a lesson request costs one store query, and a write only when the member opens another lesson', async () => {
    const owner = await entitledMember();
    const { visitor: member } = await signUp();
    const ownerCookie = `${SESSION_COOKIE}=${owner.visitor.cookie(SESSION_COOKIE)}`;
    const memberCookie = `${SESSION_COOKIE}=${member.cookie(SESSION_COOKIE)}`;
    expect(await count(LESSON_PATH)).toEqual({ status: 403, statements: 0 });
    expect(await count(`/courses/${COURSE}/no-such-lesson/`)).toEqual({ status: 404, statements: 0 });
    expect(await count(`/courses/${COURSE}/%2e%2e/`, ownerCookie)).toEqual({ status: 404, statements: 0 });
    // Opening a lesson for the first time records it as the one last read (a second statement);
    // reading it again costs the one query only.
    expect(await count(LESSON_PATH, ownerCookie)).toEqual({ status: 200, statements: 2 });
    expect(await count(LESSON_PATH, ownerCookie)).toEqual({ status: 200, statements: 1 });
    expect(await count(LESSON_PATH, memberCookie)).toEqual({ status: 303, statements: 1 });
    // A valid token of an account that no longer exists: one query, then anonymous.
    const ghost = await createSessionToken({ userId: 999_999, sessionVersion: 1, sessionId: null }, ctx.config, Date.now());
    expect(await count(LESSON_PATH, `${SESSION_COOKIE}=${ghost}`)).toEqual({ status: 403, statements: 1 });
    expect(await count(`/courses/${COURSE}/media/x.webp`, `${SESSION_COOKIE}=${ghost}`)).toEqual({ status: 404, statements: 1 });
    expect(await count(`/courses/${COURSE}/no-such-lesson/`, ownerCookie)).toEqual({ status: 404, statements: 1 });
    const { rows } = await store.client.execute({ sql: 'SELECT name FROM private_media WHERE course_slug = ? LIMIT 1', args: [COURSE] });
    expect(await count(`/courses/${COURSE}/media/${rows[0]!.name}`, ownerCookie)).toEqual({ status: 200, statements: 1 });
    expect(await count(`/courses/${COURSE}/media/${rows[0]!.name}`)).toEqual({ status: 404, statements: 0 });

    const first = await gate.handle(new Request(new URL(LESSON_PATH, 'https://courses.test'), { headers: { cookie: ownerCookie } }), ctx, {
      address: '',
      waitUntil: () => {},
    });
    expect(await count(LESSON_PATH, ownerCookie, { 'if-none-match': first.headers.get('etag')! })).toEqual({ status: 304, statements: 1 });
  });

  test('signed out, a lesson of a course no longer on sale names its course without a buy button', async () => {
    const { rows } = await store.client.execute({ sql: 'SELECT sale_ends_at FROM courses WHERE slug = ?', args: [COURSE] });
    const saleEndsAt = rows[0]!.sale_ends_at as number | null;
    await store.client.execute({ sql: 'UPDATE courses SET sale_ends_at = ? WHERE slug = ?', args: [Date.now() - 1000, COURSE] });
    try {
      const index = createLessonIndex(ctx.clock, ctx.log);
      const ended = createLessonGate({ index, notFoundHtml: 'not found' });
      const response = await ended.handle(new Request(new URL(LESSON_PATH, 'https://courses.test')), ctx, { address: '', waitUntil: () => {} });
      expect(response.status).toBe(403);
      const html = await response.text();
      expect(html).toMatch(/<h1>Comprehensions<\/h1>/);
      expect(html).toContain(`The course is not on sale right now. <a href="/courses/${COURSE}/">See the course</a>`);
      expect(html).not.toContain('action="/api/checkout"');
      expect(html).toContain(`/login?next=${encodeURIComponent(LESSON_PATH)}`);
      expect(html).not.toContain(PAID_TEXT);
    } finally {
      await store.client.execute({ sql: 'UPDATE courses SET sale_ends_at = ? WHERE slug = ?', args: [saleEndsAt, COURSE] });
    }
  });

  test('on Node, the prepared reads: one statement, and the page only leaves the store when the gate does not hold that version', async () => {
    // Every execution of a prepared statement is counted; the fallback must not be used.
    const database = new DatabaseSync(store.url.slice('file:'.length));
    let executions = 0;
    const counted = new Proxy(database, {
      get(target, property) {
        if (property === 'prepare') {
          return (text: string) => {
            const statement = target.prepare(text);
            return new Proxy(statement, {
              get(inner, name) {
                const value = Reflect.get(inner, name, inner) as unknown;
                if (typeof value !== 'function') return value;
                if (['get', 'all', 'run', 'iterate'].includes(String(name))) {
                  return (...args: unknown[]) => {
                    executions++;
                    return (value as (...a: unknown[]) => unknown).apply(inner, args);
                  };
                }
                return (value as (...a: unknown[]) => unknown).bind(inner);
              },
            });
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const refuse = () => Promise.reject(new Error('the fallback was used'));
    const log = { debug() {}, info() {}, warn() {}, error() {} };
    const reads = sqliteGateReads(counted, { lesson: refuse, media: refuse }, log);
    const pages: string[] = [];
    const recording: GateReads = {
      async lesson(...args) {
        const row = await reads.lesson(...args);
        pages.push(row?.html === null ? 'held' : 'sent');
        return row;
      },
      media: (...args) => reads.media(...args),
    };
    const index = createLessonIndex(ctx.clock, log, { refreshMs: 60 * 60 * 1000 });
    await index.refresh(ctx.db);
    const nodeGate = createLessonGate({ index, notFoundHtml: 'not found', reads: recording });
    const owner = await entitledMember();
    const request = () =>
      nodeGate.handle(
        new Request(new URL(LESSON_PATH, 'https://courses.test'), { headers: { cookie: `${SESSION_COOKIE}=${owner.visitor.cookie(SESSION_COOKIE)}` } }),
        ctx,
        {
          address: '',
          waitUntil: () => {},
        },
      );
    try {
      executions = 0;
      const first = await request();
      expect(first.status).toBe(200);
      expect(executions).toBe(1);
      const second = await request();
      expect(executions).toBe(2);
      expect(pages).toEqual(['sent', 'held']);
      expect(await second.text()).toBe(await first.text());
      const { rows } = await store.client.execute({ sql: 'SELECT name FROM private_media WHERE course_slug = ? LIMIT 1', args: [COURSE] });
      const media = await nodeGate.handle(
        new Request(new URL(`/courses/${COURSE}/media/${rows[0]!.name}`, 'https://courses.test'), {
          headers: { cookie: `${SESSION_COOKIE}=${owner.visitor.cookie(SESSION_COOKIE)}` },
        }),
        ctx,
        { address: '', waitUntil: () => {} },
      );
      expect(media.status).toBe(200);
      expect(executions).toBe(3);
    } finally {
      reads.close();
    }
  });
});
