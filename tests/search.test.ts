// Search over HTTP, against a build of the book fixture (tests/fixtures/courses-book) and a store
// loaded by the real content sync: previews are found by everyone, paid lessons only by members
// who may read them, and no paid text reaches anyone else through the results, the snippets or
// the time a search takes. Each attack is written as the attack, and the store is checked unchanged.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { appendLedger, grantAccess } from '../src/server/access/ledger.ts';
import { searchRowid } from '../src/server/content/search.ts';
import { accountsEnv } from './support/accounts-env.ts';
import { buildSite } from './support/build.ts';
import { startServer, type RunningServer } from './support/server.ts';
import { signUpAndConfirm } from './support/sign-up.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { createTestStore, syncStore, type TestStore } from './support/store.ts';
import { createVisitor, type Visitor } from './support/visitor.ts';

const COURSE = 'rust-book';
/** In the free lesson (01-installation.md) and in a paid one (02-hello-world.md). */
const FREE_WORD = 'plumbago';
const PAID_WORD = 'quetzalcoatl';
/** Words of the paid sentence around PAID_WORD that no search below asks for. */
const PAID_NEIGHBOURS = ['whispers', 'borrow checker'];
const NOWHERE_WORD = 'xylophonic';

let server: RunningServer;
let store: TestStore;
let sink: SmtpSink;
let outDir: string;
let indexed: number;

beforeAll(async () => {
  const build = await buildSite({ coursesDir: 'tests/fixtures/courses-book' });
  outDir = build.outDir;
  if (build.code !== 0) throw new Error(build.output);
  [store, sink] = await Promise.all([createTestStore(), startSmtpSink()]);
  indexed = (await syncStore(outDir, store.url)).search.indexed;
  server = await startServer({ dist: outDir, env: accountsEnv({ databaseUrl: store.url, smtpUrl: sink.url }) });
}, 240_000);
afterAll(async () => {
  await server?.stop();
  await sink?.stop();
  store?.remove();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

let members = 0;
async function signUp(): Promise<{ visitor: Visitor; userId: number }> {
  const visitor = createVisitor(server.url);
  const email = `reader${++members}@example.com`;
  await signUpAndConfirm(visitor, sink, { email, password: 'a long enough passphrase' });
  const { rows } = await store.client.execute({ sql: 'SELECT id FROM users WHERE email = ?', args: [email] });
  return { visitor, userId: Number(rows[0]!.id) };
}

const search = (visitor: Visitor, q: string, course?: string) => visitor.get(`/api/search?q=${encodeURIComponent(q)}${course ? `&course=${course}` : ''}`);

/** Rows of every table a search could write to, to show that none did. */
async function storeState(): Promise<string> {
  const tables = ['users', 'purchases', 'access_ledger', 'lessons', 'courses', 'lesson_progress'];
  const counts = await Promise.all(tables.map(async (t) => `${t}:${(await store.client.execute(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n}`));
  const [changes] = (await store.client.execute('SELECT count(*) AS n, group_concat(hash) AS h FROM lesson_search')).rows;
  return `${counts.join(',')};${changes!.n};${changes!.h}`;
}

describe('search', () => {
  test('the content sync indexes every lesson, free and paid', () => {
    expect(indexed).toBe(3);
  });

  test('finds a sentence of a free lesson for a visitor, the match highlighted and linked', async () => {
    const response = await search(createVisitor(server.url), FREE_WORD);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    const page = await response.text();
    expect(page).toContain('<a href="/courses/rust-book/installation/">Installation</a>');
    expect(page).toContain(`The <mark>${FREE_WORD}</mark> flower grows in the free lesson.`);
    expect(page).toContain('1 lesson matching');
  });

  test('finds a sentence of a paid lesson for its owner, and stops when access is revoked', async () => {
    const owner = await signUp();
    const purchaseId = await grantAccess(store.db, { userId: owner.userId, courseSlug: COURSE, reason: 'test', now: Date.now() });
    const page = await (await search(owner.visitor, PAID_WORD, COURSE)).text();
    expect(page).toContain('<a href="/courses/rust-book/hello-world/">Hello, World!</a>');
    expect(page).toContain(`the borrow checker whispers <mark>${PAID_WORD}</mark> to the compiler.`);
    // Stemmed: "flowers" finds "flower"; two words must both be in the lesson.
    expect(await (await search(owner.visitor, 'flowers', COURSE)).text()).toContain('<mark>flower</mark>');
    expect(await (await search(owner.visitor, `${PAID_WORD} ${FREE_WORD}`)).text()).toContain('No lesson you can read matches');

    await appendLedger(store.db, { purchaseId, userId: owner.userId, courseSlug: COURSE, action: 'revoke', reason: 'test', now: Date.now() });
    const after = await (await search(owner.visitor, PAID_WORD, COURSE)).text();
    expect(after).toContain('No lesson you can read matches');
    for (const word of PAID_NEIGHBOURS) expect(after).not.toContain(word);
  });

  test('attack: a visitor and a member who does not own the course search for paid text, and get exactly what a word found nowhere gets', async () => {
    const before = await storeState();
    const { visitor: member } = await signUp();
    for (const reader of [createVisitor(server.url), member]) {
      for (const course of [undefined, COURSE]) {
        const paid = await (await search(reader, PAID_WORD, course)).text();
        const nowhere = await (await search(reader, NOWHERE_WORD, course)).text();
        for (const word of PAID_NEIGHBOURS) expect(paid).not.toContain(word);
        expect(paid).not.toContain('hello-world');
        // Byte for byte the same page, once the reader's own query is taken out.
        expect(paid.replaceAll(PAID_WORD, 'QUERY')).toBe(nowhere.replaceAll(NOWHERE_WORD, 'QUERY'));
      }
    }
    // A member's signup is the only write; the searches wrote nothing.
    expect((await storeState()).replace(/users:\d+/, '')).toBe(before.replace(/users:\d+/, ''));
  });

  test("attack: FTS5 query syntax, column filters and another course's slug read nothing paid and break nothing", async () => {
    const before = await storeState();
    const visitor = createVisitor(server.url);
    const attempts = [
      `body:${PAID_WORD}`,
      `${PAID_WORD}*`,
      `"${PAID_WORD}`,
      `NEAR(${PAID_WORD} compiler)`,
      `${PAID_WORD} OR ${FREE_WORD}`,
      `{course_slug lesson_slug}: ${COURSE}`,
      `hash:*`,
      `${FREE_WORD}) OR (${PAID_WORD}`,
      `${FREE_WORD}'; DELETE FROM lesson_search; --`,
    ];
    for (const q of attempts) {
      const response = await search(visitor, q);
      expect(response.status, q).toBe(200);
      const page = await response.text();
      for (const word of PAID_NEIGHBOURS) expect(page, q).not.toContain(word);
      expect(page, q).not.toContain('/courses/rust-book/hello-world/');
    }
    for (const course of ['../rust-book', 'Rust-Book', 'x'.repeat(81)]) expect((await search(visitor, PAID_WORD, course)).status).toBe(400);
    expect((await search(visitor, 'a'.repeat(201))).status).toBe(400);
    expect((await visitor.post('/api/search', { q: PAID_WORD })).status).toBe(405);
    expect(await storeState()).toBe(before);
  });

  test('attack: timing, a paid word against a word found nowhere, as a visitor: no measurable difference', async () => {
    // The index is read only in the ranges the reader may read (src/server/content/search.ts), so
    // the two searches do the same work. To make a difference measurable if they did not, the
    // course's paid range gets 20,000 more entries with the paid word (a long paid course).
    // Interleaved, many times; compared by their medians, with room for a busy machine (a
    // difference of up to 3 ms, or of the whole time of the search that finds nothing): a search
    // that filtered after matching would read the padding, several times the work of the search.
    await store.client.execute({
      sql: `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
        INSERT INTO lesson_search (rowid, title, body, course_slug, lesson_slug, hash)
        SELECT ? + 1000 + i, 'Padding', 'the borrow checker whispers ' || ? || ' again', ?, 'padding-' || i, '' FROM n`,
      args: [searchRowid(1, 0, false), PAID_WORD, COURSE],
    });
    const visitor = createVisitor(server.url);
    const times: Record<'paid' | 'nowhere', number[]> = { paid: [], nowhere: [] };
    const pair = [
      ['paid', PAID_WORD],
      ['nowhere', NOWHERE_WORD],
    ] as const;
    for (let round = 0; round < 80; round++) {
      // Each goes first in half of the rounds, so that neither gains from the other's warm-up.
      for (const [kind, word] of round % 2 ? [...pair].reverse() : pair) {
        const started = performance.now();
        await (await search(visitor, word)).text();
        times[kind].push(performance.now() - started);
      }
    }
    const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
    const [paid, nowhere] = [median(times.paid), median(times.nowhere)];
    expect(Math.abs(paid - nowhere), `medians: paid ${paid.toFixed(2)} ms, nowhere ${nowhere.toFixed(2)} ms`).toBeLessThan(Math.max(3, nowhere));
  });
});

describe('the search box', () => {
  test('is on the course page and on lesson pages, a plain form scoped to the course', async () => {
    const form = `<form class="search-box" method="get" action="/api/search" role="search">`;
    for (const path of ['/courses/rust-book/', '/courses/rust-book/installation/']) {
      const page = await (await fetch(`${server.url}${path}`)).text();
      expect(page, path).toContain(form);
      expect(page, path).toContain('<input type="hidden" name="course" value="rust-book">');
    }
  });
});

describe("the course's own stylesheet", () => {
  test('is served as a static file beside the course page', async () => {
    const response = await fetch(`${server.url}/courses/rust-book/course.css`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/css/);
    expect(await response.text()).toContain('.ferris-note');
  });
});
