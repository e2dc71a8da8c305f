// POST /api/waitlist: "notify me" on a coming-soon course's page. The page is static, so the answer
// is a redirect back to it with a fragment its CSS shows (:target), with or without JavaScript.
// The list is the author's: the admin pages show who is waiting for which course.
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext, Client } from '../context.ts';
import { courses, courseWaitlist } from '../db/schema.ts';
import { REQUEST_SLUG } from '../access/lesson-gate.ts';
import { emailSchema } from '../auth/credentials.ts';
import { checkRateLimit } from '../auth/rate-limit.ts';
import { acceptFormPost } from '../http/form.ts';
import { htmlPage, redirect, tooManyRequests } from '../http/responses.ts';
import { messagesOf } from '../i18n/index.ts';

/** The element of the course page that confirms a sign-up. */
export const WAITLIST_JOINED = 'waitlist-joined';

const waitlistForm = z.object({ course: z.string().regex(REQUEST_SLUG), email: emailSchema });

export async function handleWaitlist(request: Request, ctx: AppContext, client: Client): Promise<Response> {
  const fields = await acceptFormPost(request, ctx);
  if (fields instanceof Response) return fields;
  const t = await messagesOf(ctx);
  const form = waitlistForm.safeParse(fields);
  if (!form.success) {
    const badEmail = form.error.issues.some((issue) => issue.path[0] === 'email');
    return badEmail
      ? htmlPage(t, 400, t.waitlist.emailNotUnderstood, t.waitlist.emailBad)
      : htmlPage(t, 400, t.checkout.courseNotUnderstood, t.waitlist.noCourse);
  }
  const { course: slug, email } = form.data;

  // Per address, so that nobody fills the author's list from one machine; per email, so that one
  // address cannot be used to probe the list.
  const wait = await checkRateLimit(ctx.db, 'waitlist', { ip: client.address, email }, ctx.clock.now());
  if (wait) return tooManyRequests(t, wait);

  const course = await ctx.db
    .select({ slug: courses.slug, comingSoon: courses.comingSoon })
    .from(courses)
    .where(and(eq(courses.slug, slug), eq(courses.published, true)))
    .get();
  if (!course) return htmlPage(t, 404, t.checkout.courseNotFound, t.waitlist.courseMissing);
  if (!course.comingSoon) {
    return htmlPage(t, 409, t.waitlist.openTitle, t.waitlist.open);
  }
  // A second sign-up of the same address is not an error (the visitor may not remember the first),
  // and it writes nothing: the answer is the same either way, so the list's content is not revealed.
  const inserted = await ctx.db
    .insert(courseWaitlist)
    .values({ courseSlug: course.slug, email, createdAt: ctx.clock.now() })
    .onConflictDoNothing()
    .returning({ id: courseWaitlist.id });
  if (inserted.length) ctx.log.info('waitlist.joined', { course: course.slug, id: inserted[0]!.id });
  return redirect(`/courses/${course.slug}/#${WAITLIST_JOINED}`);
}
