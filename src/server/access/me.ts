// GET /api/me: who is signed in and what they own, for the small script on static pages (the
// account link, "You own this course" with the member's progress and where "Continue" leads, progress
// on free lessons). One store query: the token is
// verified without the store, then the member and their courses are read together.
import { sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { clearSessionCookies, readCurrent, readSession, sessionColumnsSql, settleSession, type SessionRecord } from '../auth/session.ts';
import { messagesOf } from '../i18n/index.ts';
import { ownedCoursesSql, parseOwnedCourses } from './progress.ts';

export type MeAnswer =
  | { signedIn: false }
  /** `courses` is left out when the member owns none. */
  | {
      signedIn: true;
      email: string;
      hasPassword: boolean;
      /** `progress`: the figure in words, in the site's language (`3 of 10 lessons`), for the course page. */
      courses?: { slug: string; continueUrl: string; completed: number; total: number; done: string[]; progress: string }[];
    };

/** Never cached by anyone but the browser's own request. */
export async function handleMe(request: Request, ctx: AppContext): Promise<Response> {
  const headers = new Headers({ 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'private, no-store' });
  const answer = (body: MeAnswer) => new Response(JSON.stringify(body), { headers });

  const read = await readSession(request.headers.get('cookie'), ctx);
  if (!read.claims) {
    for (const cookie of read.hadToken ? clearSessionCookies(request.url, ctx.config, read) : []) headers.append('Set-Cookie', cookie);
    return answer({ signedIn: false });
  }
  // `all`, not `get`: drizzle's raw `get` throws instead of answering nothing for a deleted member.
  const query = async () =>
    (
      await ctx.db.all<SessionRecord & { email: string; hasPassword: number; courses: string | null }>(
        sql`SELECT ${sessionColumnsSql(read.claims!.sessionId ?? '')}, u.email AS email, u.password_hash IS NOT NULL AS hasPassword, ${ownedCoursesSql(sql`u.id`)} AS courses FROM users u WHERE u.id = ${read.claims!.userId}`,
      )
    )[0];
  const row = await readCurrent(read.claims, query, ctx);
  const settled = await settleSession({ ...read, claims: read.claims }, row, request.url, ctx);
  for (const cookie of settled.setCookies) headers.append('Set-Cookie', cookie);
  if (!settled.valid || !row) return answer({ signedIn: false });
  const t = await messagesOf(ctx);
  const courses = parseOwnedCourses(row.courses).map(({ slug, continueUrl, completed, total, done }) => ({
    slug,
    continueUrl,
    completed,
    total,
    done,
    progress: t.account.lessonsDone(completed, total),
  }));
  const member = { signedIn: true as const, email: row.email, hasPassword: Boolean(row.hasPassword) };
  return answer(courses.length ? { ...member, courses } : member);
}
