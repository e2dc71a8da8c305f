// Search across the lessons a reader may read: a full-text index (SQLite FTS5, in libSQL and D1
// alike) that the content sync fills from the bundle's lesson text, and GET /api/search, a page
// of results with the matching passage highlighted.
//
// Paid text must not reach a reader who may not read it, through the results, the snippets or the
// time a search takes. So the index is laid out in blocks of rowids (the table's rowid is ours to
// choose): the free previews of every course in one range, the paid lessons of each course in a
// range of their own. A search reads the preview range and the range of each course its reader
// owns, and nothing else; FTS5 seeks to a rowid range without reading the rows outside it, so the
// work, and with it the time, depends only on text the reader may read. Each part also checks its
// lessons by slug against the store, so a wrong range could only lose results, never add one
// (docs/decisions/0010-search-index.md).
import { sql, type SQL } from 'drizzle-orm';
import type { AppContext, Client, Db } from '../context.ts';
import { mayReadSql } from '../access/ledger.ts';
import { REQUEST_SLUG } from '../access/lesson-gate.ts';
import { getMember } from '../auth/session.ts';
import { html, raw, type SafeHtml } from '../http/html.ts';
import { pageResponse, refusePageMethod } from '../http/page-shell.ts';
import { messagesOf, type Texts } from '../i18n/index.ts';

/** Lessons of a course and courses of the catalogue, each fewer than this. */
const BLOCK = 2 ** 20;
/** Paid lessons' rowids start here; below it are the previews. */
const PAID = BLOCK * BLOCK;

/** Where a lesson sits in the index (1-based positions, as the manifest gives them). */
export function searchRowid(coursePosition: number, lessonPosition: number, preview: boolean): number {
  return (preview ? 0 : PAID) + coursePosition * BLOCK + lessonPosition;
}

export type IndexedLesson = {
  course: string;
  lesson: string;
  title: string;
  coursePosition: number;
  position: number;
  preview: boolean;
  text: string;
  hash: string;
};
export type SearchCounts = { indexed: number; removed: number; unchanged: number };

/**
 * The statements that bring the index in line with `lessons` (every published lesson with text),
 * given what it holds now; the sync runs them in its batch, so the index changes with the lessons.
 */
export async function searchIndexWrites(db: Db, lessons: IndexedLesson[]): Promise<{ writes: SQL[]; counts: SearchCounts }> {
  const stored = await db.all<{ id: number; course: string; lesson: string; hash: string }>(
    sql`SELECT rowid AS id, course_slug AS course, lesson_slug AS lesson, hash FROM lesson_search`,
  );
  const byRowid = new Map(stored.map((row) => [Number(row.id), row]));
  const counts: SearchCounts = { indexed: 0, removed: 0, unchanged: 0 };
  const writes: SQL[] = [];
  const kept = new Set<number>();
  for (const lesson of lessons) {
    const id = searchRowid(lesson.coursePosition, lesson.position, lesson.preview);
    const row = byRowid.get(id);
    kept.add(id);
    if (row && row.course === lesson.course && row.lesson === lesson.lesson && row.hash === lesson.hash) {
      counts.unchanged++;
      continue;
    }
    counts.indexed++;
    if (row) writes.push(sql`DELETE FROM lesson_search WHERE rowid = ${id}`);
    writes.push(
      sql`INSERT INTO lesson_search (rowid, title, body, course_slug, lesson_slug, hash) VALUES (${id}, ${lesson.title}, ${lesson.text}, ${lesson.course}, ${lesson.lesson}, ${lesson.hash})`,
    );
  }
  for (const id of byRowid.keys()) {
    if (kept.has(id)) continue;
    counts.removed++;
    writes.push(sql`DELETE FROM lesson_search WHERE rowid = ${id}`);
  }
  return { writes, counts };
}

/** Query words: letters and digits, as the index's tokenizer splits them. */
const MAX_QUERY = 200;
const MAX_TERMS = 8;
export const RESULTS = 20;

export function searchTerms(query: string): string[] {
  return [
    ...new Set(
      query
        .normalize('NFKC')
        .slice(0, MAX_QUERY)
        .match(/[\p{L}\p{N}]+/gu) ?? [],
    ),
  ].slice(0, MAX_TERMS);
}

export type SearchResult = { course: string; lesson: string; title: string; courseTitle: string; snippet: SafeHtml };

// Snippet markers that cannot occur in lesson text (the build strips control characters).
const OPEN = '\u0002';
const CLOSE = '\u0003';

/**
 * Lessons matching every term that `memberId` (null: a visitor) may read, best first, optionally
 * within one course.
 */
export async function searchLessons(db: Db, input: { terms: string[]; memberId: number | null; course: string | null }): Promise<SearchResult[]> {
  if (!input.terms.length) return [];
  // Each term quoted, so FTS5 reads no operator or column filter from the reader's words.
  const match = input.terms.map((term) => `"${term}"`).join(' ');
  const owned =
    input.memberId === null
      ? []
      : await db.all<{ slug: string; position: number }>(
          sql`SELECT c.slug AS slug, c.position AS position FROM courses c JOIN users u ON u.id = ${input.memberId} WHERE c.published = 1 AND ${mayReadSql(sql`c.slug`)}${input.course === null ? sql`` : sql` AND c.slug = ${input.course}`}`,
        );
  const parts: SQL[] = [];
  const part = (low: number, high: number, check: SQL) =>
    sql`SELECT s.rowid AS id, s.course_slug AS course, s.lesson_slug AS lesson, s.title AS title, c.title AS courseTitle, bm25(lesson_search, 8.0, 1.0) AS score
      FROM lesson_search s
      JOIN lessons l ON l.course_slug = s.course_slug AND l.slug = s.lesson_slug AND l.published = 1
      JOIN courses c ON c.slug = s.course_slug AND c.published = 1
      WHERE lesson_search MATCH ${match} AND s.rowid >= ${low} AND s.rowid < ${high} AND ${check}`;
  if (input.course === null) parts.push(part(0, PAID, sql`l.preview = 1`));
  else {
    const [course] = await db.all<{ position: number }>(sql`SELECT position FROM courses WHERE slug = ${input.course} AND published = 1`);
    if (!course) return [];
    const low = searchRowid(Number(course.position), 0, true);
    parts.push(part(low, low + BLOCK, sql`l.preview = 1 AND s.course_slug = ${input.course}`));
  }
  for (const course of owned) {
    const low = searchRowid(Number(course.position), 0, false);
    parts.push(part(low, low + BLOCK, sql`l.preview = 0 AND s.course_slug = ${course.slug}`));
  }
  // The passages are cut for the best results only, each found again by its rowid: CROSS JOIN
  // keeps SQLite from reading the index outside the readable ranges to join them.
  const rows = await db.all<{ course: string; lesson: string; title: string; courseTitle: string; snippet: string }>(
    sql`WITH top AS (SELECT * FROM (${sql.join(parts, sql` UNION ALL `)}) ORDER BY score LIMIT ${RESULTS})
      SELECT top.course AS course, top.lesson AS lesson, top.title AS title, top.courseTitle AS courseTitle,
        snippet(lesson_search, 1, ${OPEN}, ${CLOSE}, '…', 24) AS snippet
      FROM top CROSS JOIN lesson_search ON lesson_search.rowid = top.id
      WHERE lesson_search MATCH ${match}
      ORDER BY top.score`,
  );
  return rows.map((row) => ({ ...row, snippet: highlighted(row.snippet) }));
}

function highlighted(snippet: string): SafeHtml {
  const escaped = html`${snippet.replace(/\s+/g, ' ')}`.value;
  return raw(escaped.replaceAll(OPEN, '<mark>').replaceAll(CLOSE, '</mark>'));
}

/** GET /api/search?q=words[&course=slug]: a page of results, for the search box of course and lesson pages. */
export async function handleSearch(request: Request, ctx: AppContext, _client: Client): Promise<Response> {
  const t = await messagesOf(ctx);
  const refused = refusePageMethod(request, t);
  if (refused) return refused;
  const url = new URL(request.url);
  const query = (url.searchParams.get('q') ?? '').trim();
  const courseParam = url.searchParams.get('course');
  const course = courseParam && REQUEST_SLUG.test(courseParam) ? courseParam : null;
  const badCourse = courseParam !== null && courseParam !== '' && course === null;
  if (query.length > MAX_QUERY || badCourse) {
    const error = badCourse ? t.search.noCourse : t.search.tooLong(MAX_QUERY);
    return pageResponse(ctx, { status: 400, title: t.search.title, description: t.search.badDescription, main: searchMain(t, '', null, null, error) });
  }
  const { member, setCookies } = await getMember(request, ctx);
  const terms = searchTerms(query);
  const results = await searchLessons(ctx.db, { terms, memberId: member?.id ?? null, course });
  return pageResponse(ctx, {
    title: query ? t.search.titleFor(query) : t.search.title,
    description: t.search.description,
    setCookies,
    headers: { 'X-Robots-Tag': 'noindex' },
    main: searchMain(t, query, course, terms.length ? results : null, null),
  });
}

function searchMain(t: Texts, query: string, course: string | null, results: SearchResult[] | null, error: string | null): SafeHtml {
  return html`<section class="wrap search-page">
    <h1>${t.search.title}</h1>
    <form class="search-form" method="get" action="/api/search" role="search">
      <label for="search-q">${t.search.label(course !== null)}</label>
      <input id="search-q" name="q" type="search" value="${query}" maxlength="200" required />
      ${course && html`<input type="hidden" name="course" value="${course}" />`}
      <button class="button" type="submit">${t.search.button}</button>
    </form>
    ${error && html`<p class="form-error" role="alert">${error}</p>`}
    ${course && html`<p><a href="/courses/${course}/">${t.search.backToCourse}</a>${query ? html` · <a href="/api/search?q=${encodeURIComponent(query)}">${t.search.everyCourse}</a>` : ''}</p>`}
    ${
      results === null
        ? ''
        : results.length === 0
          ? html`<p role="status">${t.search.none(query)}</p>`
          : html`<p role="status">${t.search.found(results.length, results.length === RESULTS, query)}</p>
    <ol class="search-results">${results.map(
      (result) => html`
      <li><a href="/courses/${result.course}/${result.lesson}/">${result.title}</a> <span class="muted">${result.courseTitle}</span>
        <p>${result.snippet}</p></li>`,
    )}
    </ol>`
    }
  </section>`;
}
