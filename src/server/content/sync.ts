// The content sync: loads a build's private bundle into the store. Courses, lessons and private
// media are keyed by their slugs (and media by their content-hashed names), with a SHA-256 of what
// is stored, so that only what changed is written. A lesson or course that is no longer in git is
// unpublished, never deleted: purchases and members' progress keep pointing at it.
//
// The whole change is one `db.batch`, a transaction on libSQL and on D1, so a server reading while
// the sync runs sees either the old or the new content, never a course half-updated.
import { and, eq } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Db } from '../context.ts';
import { rowsAffected } from '../db/results.ts';
import { contentSyncs, courses, lessons, privateMedia } from '../db/schema.ts';
import { sha256Hex } from '../sha256.ts';
import { BundleError, parseManifest, type Bundle, type Manifest, type ManifestCourse, type ManifestLesson, type ManifestMedia } from './bundle.ts';
import { searchIndexWrites, type IndexedLesson, type SearchCounts } from './search.ts';

export type SyncCounts = { added: number; changed: number; unpublished: number; unchanged: number };
/** Media names are content hashes, so a media file is never changed in place: it is added or removed. */
export type MediaCounts = { added: number; removed: number; unchanged: number };
export type SyncSummary = {
  courses: SyncCounts;
  lessons: SyncCounts;
  media: MediaCounts;
  /** The search index: lessons (re)indexed, removed, unchanged. */
  search: SearchCounts;
  /** Rows of courses, lessons and media the store reported as written (0 when nothing changed: no statement was sent). */
  rowsWritten: number;
};

type CheckedLesson = ManifestLesson & { html: string | null; contentHash: string; searchText: string | null };
type CheckedMedia = ManifestMedia & { body: Uint8Array };

/**
 * What the store keeps of a course, hashed: an unchanged course is not written. The sales settings
 * enter only when set, so courses that use none keep the hash they had before the settings existed
 * (an upgrade does not rewrite every course).
 */
function courseHash(course: ManifestCourse): Promise<string> {
  const fields: unknown[] = [course.title, course.priceMinor, course.currency, course.firstLessonSlug, course.position];
  if (course.comingSoon || course.saleEndsAt !== null || course.promotionCodes) fields.push(course.comingSoon, course.saleEndsAt, course.promotionCodes);
  if (course.tax) fields.push(course.tax);
  return sha256Hex(JSON.stringify(fields));
}

/**
 * What the store keeps of a lesson, hashed; it is also the page's ETag. The page enters through
 * its SHA-256, checked against the page beforehand, so a page is hashed once, not twice.
 */
function lessonHash(lesson: ManifestLesson): Promise<string> {
  return sha256Hex(JSON.stringify([lesson.title, lesson.position, lesson.preview, lesson.page?.sha256 ?? null]));
}

/**
 * Checks that the bundle is whole and consistent (every file present, every hash right, every
 * slug unique, every lesson and file of a course listed) before anything is written.
 */
async function checkBundle(bundle: Bundle): Promise<{ manifest: Manifest; lessons: CheckedLesson[]; media: CheckedMedia[] }> {
  const manifest = parseManifest(bundle.manifest);
  const problems: string[] = [];
  const courseBySlug = new Map<string, ManifestCourse>();
  for (const course of manifest.courses) {
    if (courseBySlug.has(course.slug)) problems.push(`course "${course.slug}" is listed twice`);
    courseBySlug.set(course.slug, course);
  }
  const lessonKeys = new Set<string>();
  const lessonsOf = new Map<string, Set<string>>();
  const checkedLessons = await Promise.all(
    manifest.lessons.map(async (lesson): Promise<CheckedLesson> => {
      const name = `lesson "${lesson.course}/${lesson.slug}"`;
      const key = `${lesson.course}/${lesson.slug}`;
      if (lessonKeys.has(key)) problems.push(`${name} is listed twice`);
      lessonKeys.add(key);
      const course = courseBySlug.get(lesson.course);
      if (!course) problems.push(`${name} belongs to the course "${lesson.course}", which the manifest does not list`);
      else if (!course.published)
        problems.push(`${name} belongs to the unpublished course "${lesson.course}": a build lists no lessons of unpublished courses`);
      lessonsOf.set(lesson.course, (lessonsOf.get(lesson.course) ?? new Set()).add(lesson.slug));
      let html: string | null = null;
      if (lesson.preview && lesson.page) problems.push(`${name} is a free preview but has a page in the bundle: previews are public static pages`);
      if (!lesson.preview && !lesson.page) problems.push(`${name} is a paid lesson without a page`);
      if (lesson.page) {
        const page = bundle.pages.get(lesson.page.file);
        if (page === undefined) problems.push(`${name}: its page ${lesson.page.file} is missing`);
        else if ((await sha256Hex(page)) !== lesson.page.sha256) problems.push(`${name}: ${lesson.page.file} does not match its SHA-256 in the manifest`);
        else html = page;
      }
      let searchText: string | null = null;
      if (lesson.text) {
        const text = bundle.texts?.get(lesson.text.file);
        if (text === undefined) problems.push(`${name}: its text ${lesson.text.file} is missing`);
        else if ((await sha256Hex(text)) !== lesson.text.sha256) problems.push(`${name}: ${lesson.text.file} does not match its SHA-256 in the manifest`);
        else searchText = text;
      }
      return { ...lesson, html, contentHash: await lessonHash(lesson), searchText };
    }),
  );
  for (const course of manifest.courses) {
    const own = lessonsOf.get(course.slug);
    if (course.published && !own?.size) problems.push(`course "${course.slug}" is published but the manifest lists none of its lessons`);
    if (course.published && course.firstLessonSlug && !own?.has(course.firstLessonSlug)) {
      problems.push(`course "${course.slug}": its first lesson "${course.firstLessonSlug}" is not in the manifest`);
    }
  }
  const mediaKeys = new Set<string>();
  const checkedMedia: CheckedMedia[] = [];
  await Promise.all(
    manifest.media.map(async (item) => {
      const name = `media "${item.course}/${item.name}"`;
      const key = `${item.course}/${item.name}`;
      if (mediaKeys.has(key)) problems.push(`${name} is listed twice`);
      mediaKeys.add(key);
      if (!courseBySlug.get(item.course)?.published) problems.push(`${name} belongs to "${item.course}", which is not a published course of the manifest`);
      const body = bundle.media.get(item.file);
      if (!body) problems.push(`${name}: its file ${item.file} is missing`);
      else if ((await sha256Hex(body)) !== item.sha256) problems.push(`${name}: ${item.file} does not match its SHA-256 in the manifest`);
      else checkedMedia.push({ ...item, body });
    }),
  );
  if (problems.length) throw new BundleError(problems);
  return { manifest, lessons: checkedLessons, media: checkedMedia };
}

const counts = (): SyncCounts => ({ added: 0, changed: 0, unpublished: 0, unchanged: 0 });

/**
 * Brings the store's courses, lessons and private media in line with the bundle, writing only what
 * changed, in one atomic batch. Throws BundleError, having changed nothing, when the bundle is
 * inconsistent.
 */
export async function syncContent(db: Db, bundle: Bundle, now: number): Promise<SyncSummary> {
  const checked = await checkBundle(bundle);
  const [storedCourses, storedLessons, storedMedia] = await db.batch([
    db.select({ slug: courses.slug, contentHash: courses.contentHash, published: courses.published }).from(courses),
    db.select({ course: lessons.courseSlug, slug: lessons.slug, contentHash: lessons.contentHash, published: lessons.published }).from(lessons),
    db.select({ course: privateMedia.courseSlug, name: privateMedia.name }).from(privateMedia),
  ]);

  const summary: SyncSummary = {
    courses: counts(),
    lessons: counts(),
    media: { added: 0, removed: 0, unchanged: 0 },
    search: { indexed: 0, removed: 0, unchanged: 0 },
    rowsWritten: 0,
  };
  const writes: BatchItem<'sqlite'>[] = [];

  const coursesNow = new Map(storedCourses.map((row) => [row.slug, row]));
  for (const course of checked.manifest.courses) {
    const row = coursesNow.get(course.slug);
    const contentHash = await courseHash(course);
    coursesNow.delete(course.slug);
    if (row && row.contentHash === contentHash && row.published === course.published) {
      summary.courses.unchanged++;
      continue;
    }
    summary.courses[!row ? 'added' : row.published && !course.published ? 'unpublished' : 'changed']++;
    const values = {
      title: course.title,
      priceMinor: course.priceMinor,
      currency: course.currency,
      published: course.published,
      firstLessonSlug: course.firstLessonSlug,
      position: course.position,
      comingSoon: course.comingSoon,
      saleEndsAt: course.saleEndsAt,
      promotionCodes: course.promotionCodes,
      checkoutTax: course.tax ? JSON.stringify(course.tax) : null,
      contentHash,
      updatedAt: now,
    };
    writes.push(
      db
        .insert(courses)
        .values({ slug: course.slug, ...values })
        .onConflictDoUpdate({ target: courses.slug, set: values }),
    );
  }
  // Courses no longer in git.
  for (const row of coursesNow.values()) {
    if (!row.published) continue;
    summary.courses.unpublished++;
    writes.push(db.update(courses).set({ published: false, updatedAt: now }).where(eq(courses.slug, row.slug)));
  }

  const key = (course: string, slug: string) => `${course}/${slug}`;
  const lessonsNow = new Map(storedLessons.map((row) => [key(row.course, row.slug), row]));
  for (const lesson of checked.lessons) {
    const k = key(lesson.course, lesson.slug);
    const row = lessonsNow.get(k);
    lessonsNow.delete(k);
    if (row && row.contentHash === lesson.contentHash && row.published) {
      summary.lessons.unchanged++;
      continue;
    }
    summary.lessons[row ? 'changed' : 'added']++;
    const values = {
      title: lesson.title,
      position: lesson.position,
      preview: lesson.preview,
      published: true,
      html: lesson.html,
      contentHash: lesson.contentHash,
      updatedAt: now,
    };
    writes.push(
      db
        .insert(lessons)
        .values({ courseSlug: lesson.course, slug: lesson.slug, ...values })
        .onConflictDoUpdate({ target: [lessons.courseSlug, lessons.slug], set: values }),
    );
  }
  // Lessons removed from git, made drafts, or of a course no longer published.
  for (const row of lessonsNow.values()) {
    if (!row.published) continue;
    summary.lessons.unpublished++;
    writes.push(
      db
        .update(lessons)
        .set({ published: false, updatedAt: now })
        .where(and(eq(lessons.courseSlug, row.course), eq(lessons.slug, row.slug))),
    );
  }

  const mediaNow = new Set(storedMedia.map((row) => key(row.course, row.name)));
  for (const item of checked.media) {
    if (mediaNow.delete(key(item.course, item.name))) {
      summary.media.unchanged++;
      continue;
    }
    summary.media.added++;
    writes.push(
      db
        .insert(privateMedia)
        .values({
          courseSlug: item.course,
          name: item.name,
          contentType: item.contentType,
          // The drivers take any Uint8Array; the column is typed as Node's Buffer.
          body: item.body as unknown as typeof privateMedia.$inferInsert.body,
          updatedAt: now,
        })
        .onConflictDoNothing(),
    );
  }
  // Files no page of the bundle references any more. Their rows go in the same batch as the pages
  // that stopped using them.
  for (const k of mediaNow) {
    const [course = '', name = ''] = k.split('/');
    summary.media.removed++;
    writes.push(db.delete(privateMedia).where(and(eq(privateMedia.courseSlug, course), eq(privateMedia.name, name))));
  }

  // The search index changes in the same batch: a lesson leaves the results when it leaves the site.
  const position = new Map(checked.manifest.courses.map((course) => [course.slug, course.position]));
  const indexed: IndexedLesson[] = checked.lessons.flatMap((lesson) =>
    lesson.searchText === null || !lesson.text
      ? []
      : [
          {
            course: lesson.course,
            lesson: lesson.slug,
            title: lesson.title,
            coursePosition: position.get(lesson.course)!,
            position: lesson.position,
            preview: lesson.preview,
            text: lesson.searchText,
            hash: lesson.text.sha256,
          },
        ],
  );
  const search = await searchIndexWrites(db, indexed);
  summary.search = search.counts;

  if (writes.length || search.writes.length) {
    // The record of this sync goes in the same batch: the dashboard's "last sync" is exactly the
    // content the store holds. Each statement above writes one row, so `written` is their count;
    // an unchanged sync sends nothing at all and records nothing.
    const { rowsWritten: _, ...counted } = summary;
    const record = db.insert(contentSyncs).values({ finishedAt: now, written: writes.length, summary: JSON.stringify(counted) });
    const index = search.writes.map((statement) => db.run(statement));
    const results = await db.batch([...writes, ...index, record] as unknown as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
    summary.rowsWritten = results.slice(0, writes.length).reduce((sum: number, result: unknown) => sum + rowsAffected(result), 0);
  }
  return summary;
}

export function formatSummary(summary: SyncSummary): string {
  const line = (what: string, c: SyncCounts) =>
    `${what.padEnd(8)} ${c.added} added, ${c.changed} changed, ${c.unpublished} unpublished, ${c.unchanged} unchanged`;
  const m = summary.media;
  return [
    line('courses', summary.courses),
    line('lessons', summary.lessons),
    `${'media'.padEnd(8)} ${m.added} added, ${m.removed} removed, ${m.unchanged} unchanged`,
    `${'search'.padEnd(8)} ${summary.search.indexed} indexed, ${summary.search.removed} removed, ${summary.search.unchanged} unchanged`,
    `${summary.rowsWritten} row${summary.rowsWritten === 1 ? '' : 's'} written`,
  ].join('\n');
}
