// Lesson progress over HTTP against the built server and a store loaded by the real content sync:
// "Complete and continue" (to the next lesson) and undoing it, the member's state in the stored
// page, where "Continue" leads (the lesson last opened, recorded by the gate only when it changes),
// /account and /api/me, and the posts that must change nothing.
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { grantAccess } from '../src/server/access/ledger.ts';
import { accountsEnv } from './support/accounts-env.ts';
import { startServer, type RunningServer } from './support/server.ts';
import { signUpAndConfirm } from './support/sign-up.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { createTestStore, syncStore, type TestStore } from './support/store.ts';
import { createVisitor, type Visitor } from './support/visitor.ts';

const COURSE = 'python-fundamentals';
/** The course's lessons in order: two free previews, then eight paid lessons. */
const FIRST = 'why-python';
const SECOND = 'variables-and-types';
const PAID = 'control-flow';
const PAID_PATH = `/courses/${COURSE}/${PAID}/`;
/** The lesson after PAID, and the course's last lesson. */
const AFTER_PAID = 'lists-and-tuples';
const LAST = 'project-word-counter';
const COURSE_PATH = `/courses/${COURSE}/`;
const path = (lesson: string) => `/courses/${COURSE}/${lesson}/`;

let server: RunningServer;
let store: TestStore;
let sink: SmtpSink;
let publishedLessons: number;

beforeAll(async () => {
  [store, sink] = await Promise.all([createTestStore(), startSmtpSink()]);
  await syncStore(inject('dist'), store.url);
  server = await startServer({ dist: inject('dist'), env: accountsEnv({ databaseUrl: store.url, smtpUrl: sink.url }) });
  const { rows } = await store.client.execute({ sql: 'SELECT count(*) AS n FROM lessons WHERE course_slug = ? AND published = 1', args: [COURSE] });
  publishedLessons = Number(rows[0]!.n);
});
afterAll(async () => {
  await server?.stop();
  await sink?.stop();
  store?.remove();
});

let members = 0;
async function signUp(): Promise<{ visitor: Visitor; userId: number; email: string }> {
  const visitor = createVisitor(server.url);
  const email = `learner${++members}@example.com`;
  await signUpAndConfirm(visitor, sink, { email, password: 'a long enough passphrase' });
  const { rows } = await store.client.execute({ sql: 'SELECT id FROM users WHERE email = ?', args: [email] });
  return { visitor, userId: Number(rows[0]!.id), email };
}

async function owner() {
  const member = await signUp();
  await grantAccess(store.db, { userId: member.userId, courseSlug: COURSE, reason: 'test', now: Date.now() });
  return member;
}

async function progressRows(userId?: number): Promise<string[]> {
  const { rows } =
    userId === undefined
      ? await store.client.execute('SELECT user_id, course_slug, lesson_slug FROM lesson_progress ORDER BY 1, 2, 3')
      : await store.client.execute({ sql: 'SELECT lesson_slug FROM lesson_progress WHERE user_id = ? ORDER BY 1', args: [userId] });
  return rows.map((row) => Object.values(row).join('/'));
}

const mark = (visitor: Visitor, lesson: string, done: '1' | '0', options?: { origin?: string | null }) =>
  visitor.post('/api/progress', { course: COURSE, lesson, done }, options);

describe('a member marks lessons complete', () => {
  test('the lesson page, its sidebar, /account and /api/me follow, and undo takes it back', async () => {
    const { visitor, userId, email } = await owner();
    const before = await visitor.get(PAID_PATH);
    const page = await before.text();
    expect(page).toContain('<form class="lesson-progress" id="progress" method="post" action="/api/progress">');
    expect(page).toContain('Complete and continue');
    expect(page).not.toContain('data-done');

    // "Complete and continue" opens the next lesson of the course.
    const marked = await mark(visitor, PAID, '1');
    expect(marked.status).toBe(303);
    expect(marked.headers.get('location')).toBe(path(AFTER_PAID));
    expect(await progressRows(userId)).toEqual([PAID]);
    // Marking twice is harmless.
    expect((await mark(visitor, PAID, '1')).status).toBe(303);
    expect(await progressRows(userId)).toEqual([PAID]);

    // The stored page is revalidated: the old ETag no longer matches.
    const after = await visitor.get(PAID_PATH, { 'if-none-match': before.headers.get('etag')! });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
    const donePage = await after.text();
    expect(donePage).toContain('Completed ✓ (undo)');
    expect(donePage).toContain('<input type="hidden" name="done" value="0">');
    expect(donePage).toContain(`data-lesson="${PAID}" data-done`);
    expect(donePage).not.toContain(`data-lesson="${FIRST}" data-done`);
    // Another paid lesson of the course shows the same sidebar state, with its own form unticked.
    const other = await (await visitor.get(`/courses/${COURSE}/comprehensions/`)).text();
    expect(other).toContain(`data-lesson="${PAID}" data-done`);
    expect(other).toContain('Complete and continue');

    // A free lesson counts too (its static page shows the form through the site script), and
    // from the first lesson "Complete and continue" leads to the second.
    const free = await mark(visitor, FIRST, '1');
    expect(free.status).toBe(303);
    expect(free.headers.get('location')).toBe(path(SECOND));
    // "Continue" leads to the lesson last opened: comprehensions, opened just above.
    const me = await (await visitor.get('/api/me')).json();
    expect(me).toEqual({
      signedIn: true,
      email,
      hasPassword: true,
      courses: [
        {
          slug: COURSE,
          continueUrl: path('comprehensions'),
          completed: 2,
          total: publishedLessons,
          done: [FIRST, PAID],
          progress: `2 of ${publishedLessons} lessons`,
        },
      ],
    });
    const account = await (await visitor.get('/account')).text();
    expect(account).toContain('Python Fundamentals');
    expect(account).toContain(`2 of ${publishedLessons} lessons`);
    expect(account).toContain(`<a class="button" href="${path('comprehensions')}">Continue where you left off</a>`);

    const undone = await mark(visitor, PAID, '0');
    expect(undone.status).toBe(303);
    expect(await progressRows(userId)).toEqual([FIRST]);
    const back = await (await visitor.get(PAID_PATH)).text();
    expect(back).toContain('Complete and continue');
    expect(back).not.toContain(`data-lesson="${PAID}" data-done`);
    expect(await (await visitor.get('/account')).text()).toContain(`1 of ${publishedLessons} lessons`);
  });

  test('a member without courses sees none, and an anonymous visitor is not signed in', async () => {
    const { visitor, email } = await signUp();
    expect(await (await visitor.get('/api/me')).json()).toEqual({ signedIn: true, email, hasPassword: true });
    expect(await (await visitor.get('/account')).text()).toContain('You do not own any courses yet.');
    expect(await (await createVisitor(server.url).get('/api/me')).json()).toEqual({ signedIn: false });
  });
});

describe('the flow through a course', () => {
  test('"Complete and continue" on the last lesson leads to the course page', async () => {
    const { visitor, userId } = await owner();
    const marked = await mark(visitor, LAST, '1');
    expect(marked.status).toBe(303);
    expect(marked.headers.get('location')).toBe(COURSE_PATH);
    expect(await progressRows(userId)).toEqual([LAST]);
  });

  test('"Continue" leads to the lesson last opened, not the first incomplete one', async () => {
    const { visitor, userId } = await owner();
    const continueUrl = async () => (await (await visitor.get('/api/me')).json()).courses[0].continueUrl;
    const account = async () => (await visitor.get('/account')).text();
    // Nothing opened or completed yet: the first lesson, to start.
    expect(await continueUrl()).toBe(path(FIRST));
    expect(await account()).toContain(`<a class="button" href="${path(FIRST)}">Start the course</a>`);

    // Opening a paid lesson records it, though lessons before it are not complete.
    expect((await visitor.get(path('dicts-and-sets'))).status).toBe(200);
    expect(await lastRead(userId)).toBe('dicts-and-sets');
    expect(await continueUrl()).toBe(path('dicts-and-sets'));
    expect(await account()).toContain(`<a class="button" href="${path('dicts-and-sets')}">Continue where you left off</a>`);
    // Going back to an earlier lesson moves it back: the last one read, not the furthest.
    expect((await visitor.get(PAID_PATH)).status).toBe(200);
    expect(await continueUrl()).toBe(PAID_PATH);

    // A HEAD is not a read.
    const cookie = [...visitor.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const head = await fetch(`${server.url}${path(LAST)}`, { method: 'HEAD', headers: { cookie }, redirect: 'manual' });
    expect(head.status).toBe(200);
    expect(await lastRead(userId)).toBe(PAID);

    // Once every lesson is complete, "Start again" leads to the first lesson.
    const { rows } = await store.client.execute({ sql: 'SELECT slug FROM lessons WHERE course_slug = ? AND published = 1', args: [COURSE] });
    for (const row of rows) expect((await mark(visitor, String(row.slug), '1')).status).toBe(303);
    expect(await continueUrl()).toBe(path(FIRST));
    expect(await account()).toContain(`<a class="button" href="${path(FIRST)}">Start again</a>`);
  });

  test('re-reading a lesson, or revalidating it, writes nothing', async () => {
    const { visitor, userId } = await owner();
    const first = await visitor.get(path('comprehensions'));
    await first.arrayBuffer();
    const recorded = await readRow(userId);
    expect(recorded?.lesson_slug).toBe('comprehensions');
    // The row is the same row, untouched: its time does not move on a second read or a 304.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await (await visitor.get(path('comprehensions'))).arrayBuffer();
    expect((await visitor.get(path('comprehensions'), { 'if-none-match': first.headers.get('etag')! })).status).toBe(304);
    expect(await readRow(userId)).toEqual(recorded);
  });

  test('a last read lesson that is no longer published is passed over', async () => {
    const { visitor, userId } = await owner();
    await store.client.execute({ sql: 'INSERT INTO lesson_reads VALUES (?, ?, ?, ?)', args: [userId, COURSE, 'a-lesson-gone-from-git', Date.now()] });
    expect((await (await visitor.get('/api/me')).json()).courses[0].continueUrl).toBe(path(FIRST));
  });

  test('a member who cannot read the lesson records nothing', async () => {
    const { visitor, userId } = await signUp();
    const response = await visitor.get(PAID_PATH);
    expect(response.status).toBe(303);
    expect(await readRow(userId)).toBeUndefined();
  });
});

async function readRow(userId: number) {
  const { rows } = await store.client.execute({
    sql: 'SELECT lesson_slug, read_at FROM lesson_reads WHERE user_id = ? AND course_slug = ?',
    args: [userId, COURSE],
  });
  return rows[0] ? { lesson_slug: rows[0].lesson_slug, read_at: rows[0].read_at } : undefined;
}

async function lastRead(userId: number) {
  return (await readRow(userId))?.lesson_slug;
}

describe('posts that change nothing', () => {
  test('from another site, without access, for an unknown lesson, signed out, or malformed', async () => {
    const { visitor: entitled } = await owner();
    const { visitor: stranger } = await signUp();
    const before = await progressRows();

    const crossSite = await mark(entitled, PAID, '1', { origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    const noOrigin = await mark(entitled, PAID, '1', { origin: null });
    expect(noOrigin.status).toBe(403);

    const notOwned = await mark(stranger, PAID, '1');
    expect(notOwned.status).toBe(403);
    const unknown = await mark(entitled, 'no-such-lesson', '1');
    expect(unknown.status).toBe(404);

    const anonymous = await mark(createVisitor(server.url), PAID, '1');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe(`/login?next=${encodeURIComponent(PAID_PATH)}`);

    for (const fields of [
      { course: COURSE, lesson: PAID, done: 'yes' },
      { course: '../x', lesson: PAID, done: '1' },
      { course: COURSE, lesson: [PAID, FIRST], done: '1' },
    ]) {
      expect((await entitled.post('/api/progress', fields)).status).toBe(400);
    }
    expect((await entitled.get('/api/progress')).status).toBeGreaterThanOrEqual(400);
    expect(await progressRows()).toEqual(before);
  });
});
