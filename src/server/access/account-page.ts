// GET /account: the member's courses with their progress, and the account's settings.
import type { AppContext, Client } from '../context.ts';
import { requireMember } from '../auth/session.ts';
import { formMessages } from '../http/form-messages.ts';
import { html } from '../http/html.ts';
import { pageResponse, refusePageMethod } from '../http/page-shell.ts';
import { messagesOf } from '../i18n/index.ts';
import { getOwnedCourses } from './progress.ts';

export async function handleAccountPage(request: Request, ctx: AppContext, _client: Client): Promise<Response> {
  const t = await messagesOf(ctx);
  const refused = refusePageMethod(request, t);
  if (refused) return refused;
  const visitor = await requireMember(request, ctx, '/account');
  if (visitor instanceof Response) return visitor;
  const { member, setCookies } = visitor;
  const courses = await getOwnedCourses(ctx.db, member.id);
  const owned =
    courses.length > 0
      ? html`<ul class="owned-courses" data-owned-courses>${courses.map(
          (course) => html`
          <li>
            <h3><a href="/courses/${course.slug}/">${course.title}</a></h3>
            <progress value="${course.completed}" max="${course.total || 1}" aria-label="${t.account.progressIn(course.title)}"></progress>
            <span>${t.account.lessonsDone(course.completed, course.total)}</span>
            <a class="button" href="${course.continueUrl}">${
              course.total > 0 && course.completed === course.total
                ? t.account.startAgain
                : course.completed > 0 || course.lastRead
                  ? t.account.continue
                  : t.account.start
            }</a>
          </li>`,
        )}
      </ul>`
      : html`<div class="empty-state" data-owned-courses>
        <p>${t.account.noCourses}</p>
        <p><a class="button" href="/">${t.account.browse}</a></p>
      </div>`;
  return pageResponse(ctx, {
    title: t.account.title,
    description: t.account.description,
    setCookies,
    main: html`<section class="wrap auth account">
    <h1>${t.account.title}</h1>
    ${formMessages(t, new URL(request.url))}
    <p>${t.account.signedInAs(member.email)}</p>
    ${!member.hasPassword && html`<p class="notice" data-set-password>${t.account.setPassword}</p>`}
    ${
      !member.emailVerified &&
      html`<form class="notice" data-verify-email method="post" action="/api/auth/verify-request">
      ${t.account.notConfirmed}
      <button class="link-button" type="submit">${t.account.confirmLink}</button>
    </form>`
    }

    <h2>${t.account.yourCourses}</h2>
    ${owned}

    <h2>${t.account.settings}</h2>
    <ul class="account-actions">
      ${member.role === 'admin' && html`<li><a href="/admin/">${t.account.admin}</a></li>`}
      <li><a href="/account/purchases">${t.account.purchasesLink}</a></li>
      <li><a href="/account/password">${member.hasPassword ? t.auth.changePasswordTitle : t.auth.choosePasswordTitle}</a></li>
      <li>
        <form method="post" action="/api/auth/logout"><button class="link-button" type="submit">${t.account.signOut}</button></form>
      </li>
      <li>
        <form method="post" action="/api/auth/logout-all"><button class="link-button" type="submit">${t.account.signOutEverywhere}</button></form>
      </li>
    </ul>
  </section>`,
  });
}
