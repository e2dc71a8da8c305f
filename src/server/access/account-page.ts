// GET /account: the member's courses with their progress, and the account's settings.
import type { AppContext, Client } from '../context.ts';
import { pageVisitor } from '../auth/pages.ts';
import { formMessages } from '../http/form-messages.ts';
import { html } from '../http/html.ts';
import { pageResponse, refusePageMethod } from '../http/page-shell.ts';
import { redirect } from '../http/responses.ts';
import { getOwnedCourses } from './progress.ts';

export async function handleAccountPage(request: Request, ctx: AppContext, _client: Client): Promise<Response> {
  const refused = refusePageMethod(request);
  if (refused) return refused;
  const { member, setCookies } = await pageVisitor(request, ctx);
  if (!member) return redirect('/login?next=%2Faccount', setCookies);
  const courses = await getOwnedCourses(ctx.db, member.id);
  const owned =
    courses.length > 0
      ? html`<ul class="owned-courses" data-owned-courses>${courses.map(
          (course) => html`
          <li>
            <h3><a href="/courses/${course.slug}/">${course.title}</a></h3>
            <progress value="${course.completed}" max="${course.total || 1}" aria-label="Progress in ${course.title}"></progress>
            <span>${course.completed} of ${course.total} lessons</span>
            <a class="button" href="${course.continueUrl}">${
              course.total > 0 && course.completed === course.total ? 'Start again' : course.completed > 0 ? 'Continue where you left off' : 'Start the course'
            }</a>
          </li>`,
        )}
      </ul>`
      : html`<div class="empty-state" data-owned-courses>
        <p>You do not own any courses yet.</p>
        <p><a class="button" href="/">Browse the courses</a></p>
      </div>`;
  return pageResponse(ctx, {
    title: 'Your account',
    description: 'Your courses and account settings.',
    setCookies,
    main: html`<section class="wrap auth account">
    <h1>Your account</h1>
    ${formMessages(new URL(request.url))}
    <p>Signed in as <strong>${member.email}</strong>.</p>
    ${!member.hasPassword && html`<p class="notice" data-set-password>Your account has no password yet. <a href="/account/password">Choose a password</a> so you can sign in on any device.</p>`}
    ${!member.emailVerified && html`<form class="notice" data-verify-email method="post" action="/api/auth/verify-request">
      Your email address is not confirmed yet. Courses bought for it without signing in, or given to it, open once it is.
      <button class="link-button" type="submit">Email me a link to confirm it</button>
    </form>`}

    <h2>Your courses</h2>
    ${owned}

    <h2>Settings</h2>
    <ul class="account-actions">
      ${member.role === 'admin' && html`<li><a href="/admin/">Admin: sales, members and courses</a></li>`}
      <li><a href="/account/purchases">Your purchases, invoices and receipts</a></li>
      <li><a href="/account/password">${member.hasPassword ? 'Change your password' : 'Choose a password'}</a></li>
      <li>
        <form method="post" action="/api/auth/logout"><button class="link-button" type="submit">Sign out</button></form>
      </li>
      <li>
        <form method="post" action="/api/auth/logout-all"><button class="link-button" type="submit">Sign out on every device</button></form>
      </li>
    </ul>
  </section>`,
  });
}
