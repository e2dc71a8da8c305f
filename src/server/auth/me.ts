// GET /api/me: who is signed in and what they own, for the small script on static pages (the
// account link, "You own this course", progress on free lessons). One store query: the token is
// verified without the store, then the member and their courses are read together.
import { sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { clearedSessionCookie, readSession, renewedSessionCookie } from '../access/member-session.ts';
import { ownedCoursesSql, parseOwnedCourses } from '../access/progress.ts';

export type MeAnswer =
  | { signedIn: false }
  /** `courses` is left out when the member owns none. */
  | { signedIn: true; email: string; hasPassword: boolean; courses?: { slug: string; continueUrl: string; completed: number; total: number; done: string[] }[] };

/** Never cached by anyone but the browser's own request. */
export async function handleMe(request: Request, ctx: AppContext): Promise<Response> {
  const headers = new Headers({ 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'private, no-store' });
  const answer = (body: MeAnswer) => new Response(JSON.stringify(body), { headers });

  const session = await readSession(request.headers.get('cookie'), ctx);
  if (!session.claims) {
    if (session.hadToken) headers.append('Set-Cookie', clearedSessionCookie(request.url, ctx));
    return answer({ signedIn: false });
  }
  // `all`, not `get`: drizzle's raw `get` throws instead of answering nothing for a deleted member.
  const [row] = await ctx.db.all<{ sv: number; email: string; hasPassword: number; courses: string | null }>(
    sql`SELECT u.session_version AS sv, u.email AS email, u.password_hash IS NOT NULL AS hasPassword, ${ownedCoursesSql(sql`u.id`)} AS courses FROM users u WHERE u.id = ${session.claims.userId}`,
  );
  if (!row || Number(row.sv) !== session.claims.sessionVersion) {
    headers.append('Set-Cookie', clearedSessionCookie(request.url, ctx));
    return answer({ signedIn: false });
  }
  const renewed = await renewedSessionCookie(session.claims, request.url, ctx);
  if (renewed) headers.append('Set-Cookie', renewed);
  const courses = parseOwnedCourses(row.courses).map(({ slug, continueUrl, completed, total, done }) => ({ slug, continueUrl, completed, total, done }));
  const member = { signedIn: true as const, email: row.email, hasPassword: Boolean(row.hasPassword) };
  return answer(courses.length ? { ...member, courses } : member);
}
