// The content sync: a build's private bundle into the store, writing only what changed, in one
// atomic batch, unpublishing (never deleting) what left git, and refusing an inconsistent bundle.
// Variants of the demo bundle are made by editing a copy on disk, not by rebuilding.
import { runScript } from './support/processes.ts';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readBundleFolder } from '../src/catalog/bundle-folder.ts';
import { openStore } from '../src/node/store.ts';
import { BundleError, parseManifest, type Manifest } from '../src/server/content/bundle.ts';
import { syncContent } from '../src/server/content/sync.ts';
import { ROOT } from './support/build.ts';
import { createTestStore, type TestStore } from './support/store.ts';

const dist = inject('dist');
const original = join(dist, 'private');
const cleanup: (() => void)[] = [];
afterAll(() => {
  for (const fn of cleanup) fn();
});

async function store(): Promise<TestStore> {
  const s = await createTestStore();
  cleanup.push(() => s.remove());
  return s;
}

/** A copy of the demo's private bundle to edit. */
function copyBundle(): string {
  const dir = mkdtempSync(join(ROOT, '.test-dist', 'bundle-'));
  cpSync(original, dir, { recursive: true });
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function readManifest(dir: string): Manifest {
  return parseManifest(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
}

function editManifest(dir: string, edit: (manifest: Manifest) => void): void {
  const manifest = readManifest(dir);
  edit(manifest);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
}

/** Edits a paid lesson's page as a rebuild would, keeping the manifest's hash right. */
function editPage(dir: string, course: string, slug: string, edit: (html: string) => string): void {
  editManifest(dir, (manifest) => {
    const lesson = manifest.lessons.find((l) => l.course === course && l.slug === slug && l.page)!;
    const path = join(dir, lesson.page!.file);
    const html = edit(readFileSync(path, 'utf8'));
    writeFileSync(path, html);
    lesson.page!.sha256 = createHash('sha256').update(html).digest('hex');
  });
}

/** Rows this connection has written since it opened: what the sync wrote, when it ran on it. */
async function totalChanges(s: TestStore): Promise<number> {
  return Number((await s.client.execute('SELECT total_changes() AS n')).rows[0]!.n);
}

async function contentSnapshot(s: TestStore): Promise<string> {
  const dump = await s.client.batch([
    'SELECT * FROM courses ORDER BY slug',
    'SELECT course_slug, slug, title, position, preview, published, length(html) AS html, content_hash, updated_at FROM lessons ORDER BY 1, 2',
    'SELECT course_slug, name, content_type, length(body) AS size, updated_at FROM private_media ORDER BY 1, 2',
  ]);
  return JSON.stringify(dump.map((r) => r.rows));
}

function runSyncScript(args: string[], databaseUrl: string) {
  return runScript('scripts/content-sync.ts', args, { env: { DATABASE_URL: databaseUrl } });
}

async function createUser(s: TestStore, email: string): Promise<number> {
  const result = await s.client.execute({
    sql: 'INSERT INTO users (email, created_at, updated_at) VALUES (?, 0, 0) RETURNING id',
    args: [email],
  });
  return Number(result.rows[0]!.id);
}

describe('the content sync', () => {
  let manifest: Manifest;
  /** A paid lesson that is not the first of its course, and its course. */
  let course: string;
  let lesson: string;
  beforeAll(() => {
    manifest = readManifest(original);
    const paid = manifest.lessons.filter((l) => l.page && l.position > 1);
    course = paid[0]!.course;
    lesson = paid[0]!.slug;
  });

  it('adds every course, lesson and private media file on the first run, and writes nothing on the second', async () => {
    const s = await store();
    const first = await syncContent(s.db, await readBundleFolder(original), 1_000);
    const paid = manifest.lessons.filter((l) => l.page);
    expect(first.courses).toEqual({ added: manifest.courses.length, changed: 0, unpublished: 0, unchanged: 0 });
    expect(first.lessons).toEqual({ added: manifest.lessons.length, changed: 0, unpublished: 0, unchanged: 0 });
    expect(first.media).toEqual({ added: manifest.media.length, removed: 0, unchanged: 0 });
    expect(manifest.media.length).toBeGreaterThan(0);
    expect(first.rowsWritten).toBe(manifest.courses.length + manifest.lessons.length + manifest.media.length);

    const courses = (await s.client.execute('SELECT * FROM courses ORDER BY position')).rows;
    expect(courses.map((c) => [c.slug, c.title, c.price_minor, c.currency, c.published, c.first_lesson_slug, c.position])).toEqual(
      manifest.courses.map((c) => [c.slug, c.title, c.priceMinor, c.currency, c.published ? 1 : 0, c.firstLessonSlug, c.position]),
    );
    const lessons = (await s.client.execute('SELECT * FROM lessons')).rows;
    expect(lessons.length).toBe(manifest.lessons.length);
    for (const row of lessons) {
      const entry = manifest.lessons.find((l) => l.course === row.course_slug && l.slug === row.slug)!;
      expect([row.title, row.position, row.preview, row.published]).toEqual([entry.title, entry.position, entry.preview ? 1 : 0, 1]);
      expect(row.html).toBe(entry.page ? readFileSync(join(original, entry.page.file), 'utf8') : null);
      expect(row.content_hash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(paid.length).toBeGreaterThan(10);
    const media = (await s.client.execute('SELECT * FROM private_media')).rows;
    for (const item of manifest.media) {
      const row = media.find((m) => m.course_slug === item.course && m.name === item.name)!;
      expect(row.content_type).toBe(item.contentType);
      expect(Buffer.from(row.body as ArrayBuffer).equals(readFileSync(join(original, item.file)))).toBe(true);
    }

    const before = await totalChanges(s);
    const snapshot = await contentSnapshot(s);
    const second = await syncContent(s.db, await readBundleFolder(original), 2_000);
    expect(second.courses).toEqual({ added: 0, changed: 0, unpublished: 0, unchanged: manifest.courses.length });
    expect(second.lessons).toEqual({ added: 0, changed: 0, unpublished: 0, unchanged: manifest.lessons.length });
    expect(second.media).toEqual({ added: 0, removed: 0, unchanged: manifest.media.length });
    expect(second.rowsWritten).toBe(0);
    expect(await totalChanges(s)).toBe(before);
    expect(await contentSnapshot(s)).toBe(snapshot);
    // The first run is recorded for the dashboard; the unchanged second one is not.
    const syncs = (await s.client.execute('SELECT finished_at, written, summary FROM content_syncs')).rows;
    expect(syncs.map((r) => [r.finished_at, r.written])).toEqual([[1_000, first.rowsWritten]]);
    expect(JSON.parse(String(syncs[0]!.summary))).toMatchObject({ courses: first.courses, lessons: first.lessons, media: first.media });
  });

  it('writes exactly one row when one lesson page changed', async () => {
    const s = await store();
    await syncContent(s.db, await readBundleFolder(original), 1_000);
    const bundle = copyBundle();
    editPage(bundle, course, lesson, (html) => html.replace('</article>', '<p>A corrected paragraph.</p></article>'));
    const before = await totalChanges(s);
    const summary = await syncContent(s.db, await readBundleFolder(bundle), 2_000);
    expect(summary.lessons).toEqual({ added: 0, changed: 1, unpublished: 0, unchanged: manifest.lessons.length - 1 });
    expect(summary.courses.unchanged).toBe(manifest.courses.length);
    expect(summary.rowsWritten).toBe(1);
    // The lesson, and the sync's record in content_syncs.
    expect(await totalChanges(s)).toBe(before + 2);
    const updated = (await s.client.execute('SELECT course_slug, slug, html FROM lessons WHERE updated_at = 2000')).rows;
    expect(updated.map((r) => [r.course_slug, r.slug])).toEqual([[course, lesson]]);
    expect(updated[0]!.html).toContain('<p>A corrected paragraph.</p>');
  });

  it("unpublishes a lesson removed from git, keeping its page and members' progress, and publishes it again when it is back", async () => {
    const s = await store();
    await syncContent(s.db, await readBundleFolder(original), 1_000);
    const user = await createUser(s, 'reader@example.com');
    await s.client.execute({ sql: 'INSERT INTO lesson_progress VALUES (?, ?, ?, 1500)', args: [user, course, lesson] });

    const bundle = copyBundle();
    editManifest(bundle, (m) => {
      const entry = m.lessons.find((l) => l.course === course && l.slug === lesson)!;
      unlinkSync(join(bundle, entry.page!.file));
      m.lessons = m.lessons.filter((l) => l !== entry);
    });
    const removed = await syncContent(s.db, await readBundleFolder(bundle), 2_000);
    expect(removed.lessons).toEqual({ added: 0, changed: 0, unpublished: 1, unchanged: manifest.lessons.length - 1 });
    expect(removed.rowsWritten).toBe(1);
    const row = (await s.client.execute({ sql: 'SELECT published, html FROM lessons WHERE course_slug = ? AND slug = ?', args: [course, lesson] })).rows[0]!;
    expect(row.published).toBe(0);
    expect(row.html).toBeTruthy();
    expect((await s.client.execute('SELECT * FROM lesson_progress')).rows.map((r) => [r.user_id, r.course_slug, r.lesson_slug])).toEqual([
      [user, course, lesson],
    ]);
    // Unpublished again is no change.
    expect((await syncContent(s.db, await readBundleFolder(bundle), 2_500)).rowsWritten).toBe(0);

    const back = await syncContent(s.db, await readBundleFolder(original), 3_000);
    expect(back.lessons).toEqual({ added: 0, changed: 1, unpublished: 0, unchanged: manifest.lessons.length - 1 });
    expect((await s.client.execute({ sql: 'SELECT published FROM lessons WHERE slug = ?', args: [lesson] })).rows[0]!.published).toBe(1);
  });

  it('unpublishes a course removed from git or unpublished in it, with its lessons, and removes its private media', async () => {
    const s = await store();
    await syncContent(s.db, await readBundleFolder(original), 1_000);
    const own = manifest.lessons.filter((l) => l.course === course);
    const ownMedia = manifest.media.filter((m) => m.course === course);
    expect(ownMedia.length).toBeGreaterThan(0);
    const bundle = copyBundle();
    editManifest(bundle, (m) => {
      m.courses.find((c) => c.slug === course)!.published = false;
      m.lessons = m.lessons.filter((l) => l.course !== course);
      m.media = m.media.filter((x) => x.course !== course);
    });
    const unpublished = await syncContent(s.db, await readBundleFolder(bundle), 2_000);
    expect(unpublished.courses).toEqual({ added: 0, changed: 0, unpublished: 1, unchanged: manifest.courses.length - 1 });
    expect(unpublished.lessons.unpublished).toBe(own.length);
    expect(unpublished.media.removed).toBe(ownMedia.length);
    expect(unpublished.rowsWritten).toBe(1 + own.length + ownMedia.length);
    const published = (slug: string) =>
      s.client.execute({ sql: 'SELECT published FROM courses WHERE slug = ?', args: [slug] }).then((r) => r.rows[0]!.published);
    expect(await published(course)).toBe(0);
    expect(
      Number((await s.client.execute({ sql: 'SELECT count(*) AS n FROM lessons WHERE course_slug = ? AND published = 1', args: [course] })).rows[0]!.n),
    ).toBe(0);
    expect(Number((await s.client.execute({ sql: 'SELECT count(*) AS n FROM lessons WHERE course_slug = ?', args: [course] })).rows[0]!.n)).toBe(own.length);

    // Removed from git altogether: the store keeps it, unpublished; back in git it is published again.
    editManifest(bundle, (m) => {
      m.courses = m.courses.filter((c) => c.slug !== course);
    });
    expect((await syncContent(s.db, await readBundleFolder(bundle), 3_000)).rowsWritten).toBe(0);
    const back = await syncContent(s.db, await readBundleFolder(original), 4_000);
    expect(back.courses.changed).toBe(1);
    expect(back.lessons.changed).toBe(own.length);
    expect(back.media.added).toBe(ownMedia.length);
    expect(await published(course)).toBe(1);
  });

  it('updates a changed price in the course, while purchases keep what was paid', async () => {
    const s = await store();
    await syncContent(s.db, await readBundleFolder(original), 1_000);
    const entry = manifest.courses.find((c) => c.slug === course)!;
    const user = await createUser(s, 'buyer@example.com');
    await s.client.execute({
      sql: `INSERT INTO purchases (user_id, course_slug, source, amount_minor, currency, status, created_at, updated_at)
            VALUES (?, ?, 'grant', ?, ?, 'paid', 0, 0)`,
      args: [user, course, entry.priceMinor, entry.currency],
    });
    const bundle = copyBundle();
    editManifest(bundle, (m) => {
      m.courses.find((c) => c.slug === course)!.priceMinor = entry.priceMinor + 1000;
    });
    const before = await totalChanges(s);
    const summary = await syncContent(s.db, await readBundleFolder(bundle), 2_000);
    expect(summary.courses).toEqual({ added: 0, changed: 1, unpublished: 0, unchanged: manifest.courses.length - 1 });
    expect(summary.lessons.unchanged).toBe(manifest.lessons.length);
    // The course, and the sync's record in content_syncs.
    expect(await totalChanges(s)).toBe(before + 2);
    const row = (await s.client.execute({ sql: 'SELECT price_minor, updated_at FROM courses WHERE slug = ?', args: [course] })).rows[0]!;
    expect([row.price_minor, row.updated_at]).toEqual([entry.priceMinor + 1000, 2_000]);
    expect((await s.client.execute('SELECT amount_minor FROM purchases')).rows[0]!.amount_minor).toBe(entry.priceMinor);
  });

  it('refuses an inconsistent bundle with a clear message, changing nothing', async () => {
    const s = await store();
    await syncContent(s.db, await readBundleFolder(original), 1_000);
    const snapshot = await contentSnapshot(s);
    const paidEntry = () => manifest.lessons.find((l) => l.course === course && l.slug === lesson)!;
    const cases: [string, (dir: string) => void, string][] = [
      ['a missing page', (dir) => unlinkSync(join(dir, paidEntry().page!.file)), `lesson "${course}/${lesson}": its page ${paidEntry().page!.file} is missing`],
      [
        'a page that does not match its hash',
        (dir) => writeFileSync(join(dir, paidEntry().page!.file), '<p>tampered</p>'),
        `lesson "${course}/${lesson}": ${paidEntry().page!.file} does not match its SHA-256`,
      ],
      [
        'a lesson of an unknown course',
        (dir) => editManifest(dir, (m) => m.lessons.push({ ...m.lessons[0]!, course: 'no-such-course' })),
        'belongs to the course "no-such-course", which the manifest does not list',
      ],
      ['a duplicate lesson', (dir) => editManifest(dir, (m) => m.lessons.push(m.lessons[0]!)), `is listed twice`],
      ['a duplicate course', (dir) => editManifest(dir, (m) => m.courses.push(m.courses[0]!)), `course "${manifest.courses[0]!.slug}" is listed twice`],
      ['a missing media file', (dir) => unlinkSync(join(dir, manifest.media[0]!.file)), `its file ${manifest.media[0]!.file} is missing`],
      ['a negative price', (dir) => editManifest(dir, (m) => (m.courses[0]!.priceMinor = -1)), 'manifest.json: courses.0.priceMinor'],
      [
        'a path outside the bundle',
        (dir) => editManifest(dir, (m) => (paidLesson(m).page!.file = '../../etc/passwd')),
        'must be a relative path inside the bundle',
      ],
      ['an unreadable manifest', (dir) => writeFileSync(join(dir, 'manifest.json'), '{"format": 1, "courses": ['), 'manifest.json is not valid JSON'],
      ['no manifest', (dir) => unlinkSync(join(dir, 'manifest.json')), 'manifest.json is missing'],
    ];
    function paidLesson(m: Manifest) {
      return m.lessons.find((l) => l.course === course && l.slug === lesson)!;
    }
    for (const [what, breakIt, message] of cases) {
      const dir = copyBundle();
      breakIt(dir);
      const error = await readBundleFolder(dir)
        .then((bundle) => syncContent(s.db, bundle, 2_000))
        .catch((e: unknown) => e);
      expect(error, what).toBeInstanceOf(BundleError);
      expect((error as BundleError).message, what).toContain(message);
      expect(await contentSnapshot(s), what).toBe(snapshot);
    }

    // The command: exit code 1 and the message, and the store as it was.
    const broken = copyBundle();
    unlinkSync(join(broken, paidEntry().page!.file));
    const result = await runSyncScript(['--bundle', broken], s.url);
    expect(result.code).toBe(1);
    expect(result.output).toContain('The content bundle is inconsistent; nothing was changed:');
    expect(result.output).toContain(`its page ${paidEntry().page!.file} is missing`);
    expect(await contentSnapshot(s)).toBe(snapshot);
  });

  it('the command refuses an unmigrated store, and syncs a migrated one, printing the summary', async () => {
    const bare = await createTestStore({ migrate: false });
    cleanup.push(() => bare.remove());
    const refused = await runSyncScript(['--bundle', original], bare.url);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('The store is not migrated (it has no migrations table). Run `npm run db:migrate` first.');
    expect((await bare.client.execute("SELECT name FROM sqlite_master WHERE type = 'table'")).rows).toEqual([]);

    const s = await store();
    const done = await runSyncScript(['--bundle', original], s.url);
    expect(done.code, done.output).toBe(0);
    expect(done.output).toContain(`lessons  ${manifest.lessons.length} added, 0 changed, 0 unpublished, 0 unchanged`);
    expect(done.output).toContain(`media    ${manifest.media.length} added, 0 removed, 0 unchanged`);
  });

  it('lets a reader see a course entirely before or entirely after a sync, never half of it', async () => {
    const s = await store();
    await syncContent(s.db, await readBundleFolder(original), 1_000);
    // Version 2 changes every paid page of one course; syncs switch back and forth while a reader,
    // in this process, reads the course's pages over its own connection as fast as it can.
    const v2 = copyBundle();
    const pages = manifest.lessons.filter((l) => l.course === course && l.page);
    expect(pages.length).toBeGreaterThan(3);
    for (const l of pages) editPage(v2, course, l.slug, (html) => html.replace('</article>', '<p data-version="2">v2</p></article>'));

    const reader = await openStore(s.url);
    cleanup.push(() => reader.close());
    const seen = new Map<string, number>();
    let syncing = true;
    const reads = (async () => {
      while (syncing) {
        const { rows } = await reader.client.execute({
          sql: 'SELECT html FROM lessons WHERE course_slug = ? AND html IS NOT NULL',
          args: [course],
        });
        const v2Pages = rows.filter((r) => String(r.html).includes('data-version="2"')).length;
        const state = v2Pages === 0 ? 'old' : v2Pages === pages.length ? 'new' : `mixed (${v2Pages} of ${pages.length})`;
        seen.set(state, (seen.get(state) ?? 0) + 1);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    try {
      for (const dir of [v2, original, v2, original]) {
        const result = await runSyncScript(['--bundle', dir], s.url);
        expect(result.code, result.output).toBe(0);
        expect(result.output).toContain(`${pages.length} changed`);
      }
    } finally {
      syncing = false;
      await reads;
    }
    expect([...seen.keys()].filter((state) => state.startsWith('mixed'))).toEqual([]);
    expect(seen.get('old')).toBeGreaterThan(0);
    expect(seen.get('new')).toBeGreaterThan(0);
  });
});
