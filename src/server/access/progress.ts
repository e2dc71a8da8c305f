// Lesson progress: members mark lessons of their courses complete ("Complete and continue" on each
// lesson, which then opens the next one), and the account page, /api/me and the course page show
// how far they are in each course they own and where "Continue" leads.
import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext, Db } from '../context.ts';
import { messagesOf } from '../i18n/index.ts';
import { acceptFormPost, parseForm } from '../http/form.ts';
import { htmlPage, redirect } from '../http/responses.ts';
import { hasAccessSql } from './ledger.ts';
import { lessonPath, REQUEST_SLUG } from './lesson-gate.ts';
import { clearSessionCookies, readCurrent, readSession, sessionColumnsSql, settleSession, signInPath, type SessionRecord } from '../auth/session.ts';

/** A course the member may read, with their progress in its published lessons. */
export type OwnedCourse = {
  slug: string;
  title: string;
  /** Published lessons. */
  total: number;
  /** Published lessons the member completed. */
  completed: number;
  /** Slugs of those lessons. */
  done: string[];
  /** The published lesson the member last opened, if any. */
  lastRead: string | null;
  /**
   * The lesson the member last opened (still published); else the first one not completed yet; the
   * first lesson once all are complete; else the course page.
   */
  continueUrl: string;
};

/**
 * SQL: a JSON array of the courses `userId` may read (access as the ledger defines it), in
 * catalogue order, with their progress. A fragment, so that /api/me reads it in the same query
 * as the member.
 */
export function ownedCoursesSql(userId: SQL | number): SQL {
  const doneSql = sql`EXISTS (SELECT 1 FROM lesson_progress p WHERE p.user_id = ${userId} AND p.course_slug = l.course_slug AND p.lesson_slug = l.slug)`;
  return sql`(SELECT json_group_array(json_object(
      'slug', c.slug,
      'title', c.title,
      'total', (SELECT count(*) FROM lessons l WHERE l.course_slug = c.slug AND l.published = 1),
      'done', json((SELECT json_group_array(slug) FROM (SELECT l.slug AS slug FROM lessons l WHERE l.course_slug = c.slug AND l.published = 1 AND ${doneSql} ORDER BY l.position))),
      'next', (SELECT l.slug FROM lessons l WHERE l.course_slug = c.slug AND l.published = 1 AND NOT ${doneSql} ORDER BY l.position LIMIT 1),
      'first', (SELECT l.slug FROM lessons l WHERE l.course_slug = c.slug AND l.published = 1 ORDER BY l.position LIMIT 1),
      'last', (SELECT r.lesson_slug FROM lesson_reads r JOIN lessons l ON l.course_slug = r.course_slug AND l.slug = r.lesson_slug AND l.published = 1
        WHERE r.user_id = ${userId} AND r.course_slug = c.slug)
    ))
    FROM (SELECT slug, title FROM courses c WHERE ${hasAccessSql(userId, sql`c.slug`)} ORDER BY c.position, c.slug) c)`;
}

type OwnedCourseJson = { slug: string; title: string; total: number; done: string[]; next: string | null; first: string | null; last: string | null };

/** Reads the JSON that `ownedCoursesSql` produced. */
export function parseOwnedCourses(json: string | null): OwnedCourse[] {
  if (!json) return [];
  return (JSON.parse(json) as OwnedCourseJson[]).map((course) => {
    // A finished course starts again; otherwise the member goes back to where they were reading.
    const finished = course.total > 0 && course.done.length >= course.total;
    const start = finished ? course.first : (course.last ?? course.next ?? course.first);
    return {
      slug: course.slug,
      title: course.title,
      total: course.total,
      completed: course.done.length,
      done: course.done,
      lastRead: course.last,
      continueUrl: start ? lessonPath(course.slug, start) : `/courses/${course.slug}/`,
    };
  });
}

export async function getOwnedCourses(db: Db, userId: number): Promise<OwnedCourse[]> {
  const row = await db.get<{ courses: string | null }>(sql`SELECT ${ownedCoursesSql(userId)} AS courses`);
  return parseOwnedCourses(row?.courses ?? null);
}

const progressForm = z.object({
  course: z.string().regex(REQUEST_SLUG),
  lesson: z.string().regex(REQUEST_SLUG),
  done: z.enum(['1', '0']),
});

/**
 * POST /api/progress (course, lesson, done=1|0). `1`, "Complete and continue": marks the lesson
 * complete and opens the next published lesson of the course, or the course page after the last
 * one. `0` (undo): marks it not complete and goes back to the lesson, at its form. Only a signed-in member entitled to the course, for a published
 * lesson of it; anything else changes nothing (sign in, 403, 404).
 */
export async function handleProgress(request: Request, ctx: AppContext): Promise<Response> {
  const fields = await acceptFormPost(request, ctx);
  if (fields instanceof Response) return fields;
  const t = await messagesOf(ctx);
  const form = parseForm(progressForm, fields);
  if (!form.ok) return htmlPage(t, 400, t.page.formNotUnderstood, t.progress.notOurs);
  const { course, lesson, done } = form.data;
  const back = lessonPath(course, lesson);

  const read = await readSession(request.headers.get('cookie'), ctx);
  const signIn = (cookies: string[]) => redirect(signInPath(back), cookies);
  if (!read.claims) return signIn(read.hadToken ? clearSessionCookies(request.url, ctx.config, read) : []);
  const { userId } = read.claims;

  // `all`, not `get`: drizzle's raw `get` throws instead of answering nothing for a deleted member.
  const sessionId = read.claims.sessionId ?? '';
  const query = async () =>
    (
      await ctx.db.all<SessionRecord & { entitled: number; lesson: string | null; next: string | null }>(sql`SELECT ${sessionColumnsSql(sessionId)},
          ${hasAccessSql(sql`u.id`, course)} AS entitled,
          (SELECT l.slug FROM lessons l WHERE l.course_slug = ${course} AND l.slug = ${lesson} AND l.published = 1) AS lesson,
          (SELECT n.slug FROM lessons n JOIN lessons l ON l.course_slug = n.course_slug AND l.slug = ${lesson}
            WHERE n.course_slug = ${course} AND n.published = 1 AND n.position > l.position ORDER BY n.position LIMIT 1) AS next
        FROM users u WHERE u.id = ${userId}`)
    )[0];
  const row = await readCurrent(read.claims, query, ctx, (found) => !found.entitled);
  const settled = await settleSession({ ...read, claims: read.claims }, row, request.url, ctx);
  if (!settled.valid || !row) return signIn(settled.setCookies);
  if (row.lesson === null) return htmlPage(t, 404, t.progress.noLessonTitle, t.progress.noLesson);
  if (!row.entitled) return htmlPage(t, 403, t.progress.notYoursTitle, t.progress.notYours);

  if (done === '1') {
    await ctx.db.run(sql`INSERT INTO lesson_progress (user_id, course_slug, lesson_slug, completed_at)
      VALUES (${userId}, ${course}, ${lesson}, ${ctx.clock.now()}) ON CONFLICT DO NOTHING`);
    return redirect(row.next === null ? `/courses/${course}/` : lessonPath(course, row.next), settled.setCookies);
  }
  await ctx.db.run(sql`DELETE FROM lesson_progress WHERE user_id = ${userId} AND course_slug = ${course} AND lesson_slug = ${lesson}`);
  return redirect(`${back}#progress`, settled.setCookies);
}
