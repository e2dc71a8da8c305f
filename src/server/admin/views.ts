// The pieces every admin page is made of: the admin's navigation, tables that scroll sideways on
// a phone, money per currency, times in UTC, the notices an action leaves, and the headers that
// keep admin pages out of caches, search engines and other sites' frames.
import type { AppContext } from '../context.ts';
import { html, raw, type HtmlValue, type SafeHtml } from '../http/html.ts';
import { pageResponse } from '../http/page-shell.ts';
import { formatMinor } from '../money.ts';

/**
 * On every /admin/ answer. Admin pages name members in their addresses and bodies: no cache may
 * keep them, no search engine list them, no other site frame their forms, and links out (to
 * Stripe's dashboard) carry no Referer.
 */
export const ADMIN_HEADERS: Record<string, string> = {
  'Cache-Control': 'private, no-store',
  'X-Robots-Tag': 'noindex',
  'Referrer-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "frame-ancestors 'none'",
};

/** The admin pages' locale: the numbers are for the author, like the emails (fixed en-US). */
const LOCALE = 'en-US';

export function money(minor: number, currency: string): string {
  return formatMinor(minor, currency, LOCALE);
}

/** "2026-11-21 14:05 UTC": admin pages show UTC, the same as the CSV exports and the month grouping. */
export function when(ms: number | null): string {
  if (ms === null) return '';
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

const SECTIONS = [
  { href: '/admin/', label: 'Dashboard', key: 'dashboard' },
  { href: '/admin/members', label: 'Members', key: 'members' },
  { href: '/admin/purchases', label: 'Purchases', key: 'purchases' },
  { href: '/admin/courses', label: 'Courses', key: 'courses' },
  { href: '/admin/audit', label: 'Audit log', key: 'audit' },
] as const;

export type Section = (typeof SECTIONS)[number]['key'];

const NOTICES: Record<string, string> = {
  granted: 'Course granted. The member can read it now.',
  'already-owned': 'The member can already read this course: nothing was written.',
  revoked: 'Course taken away. The member cannot read it any more.',
  'not-owned': 'The member cannot read this course: there was nothing to take away.',
  'password-email-sent': 'The email with a link to set a password is on its way.',
  'signed-out': 'The member is signed out on every device.',
};

const ERRORS: Record<string, string> = {
  'rate-limited': 'Too many emails to this member today. Try again tomorrow, or give them the link another way.',
};

/** The notice or error an action redirected with; unknown codes show nothing (no query text is echoed). */
export function adminMessages(url: URL): SafeHtml {
  const notice = url.searchParams.get('notice');
  const error = url.searchParams.get('error');
  return html`${notice !== null && Object.hasOwn(NOTICES, notice) && html`<p class="notice" role="status">${NOTICES[notice]!}</p>`}${
    error !== null && Object.hasOwn(ERRORS, error) && html`<p class="form-error" role="alert">${ERRORS[error]!}</p>`
  }`;
}

/** A table with a caption, in a region that scrolls sideways on a narrow screen (and by keyboard). */
export function table(id: string, caption: HtmlValue, head: readonly string[], rows: readonly SafeHtml[], empty: string): SafeHtml {
  if (rows.length === 0) return html`<p class="admin-empty" id="${id}">${empty}</p>`;
  return html`<div class="admin-table" role="region" aria-labelledby="${id}" tabindex="0">
    <table>
      <caption id="${id}">${caption}</caption>
      <thead><tr>${head.map((label) => html`<th scope="col">${label}</th>`)}</tr></thead>
      <tbody>${rows}</tbody>
    </table>
  </div>`;
}

/** Links to the previous and next pages of a list, keeping its filters. */
export function pager(url: URL, page: number, pages: number): SafeHtml {
  if (pages <= 1) return html``;
  const link = (to: number) => {
    const query = new URLSearchParams(url.search);
    query.delete('notice');
    query.delete('error');
    query.set('page', String(to));
    return `${url.pathname}?${query}`;
  };
  return html`<nav class="admin-pager" aria-label="Pages">
    ${page > 1 ? html`<a href="${link(page - 1)}" rel="prev">Previous</a>` : ''}
    <span>Page ${page} of ${pages}</span>
    ${page < pages ? html`<a href="${link(page + 1)}" rel="next">Next</a>` : ''}
  </nav>`;
}

export type AdminPage = { title: string; section: Section; main: SafeHtml; status?: number; url: URL };

export function adminPage(ctx: AppContext, page: AdminPage): Promise<Response> {
  return pageResponse(ctx, {
    title: `${page.title} · Admin`,
    description: 'Admin',
    status: page.status,
    headers: ADMIN_HEADERS,
    main: html`<div class="wrap admin">
  <nav class="admin-nav" aria-label="Admin">
    <ul>${SECTIONS.map((section) => html`<li><a href="${section.href}"${section.key === page.section ? raw(' aria-current="page"') : ''}>${section.label}</a></li>`)}</ul>
  </nav>
  <h1>${page.title}</h1>
  ${adminMessages(page.url)}
  ${page.main}
</div>`,
  });
}

/** A bad request to an admin page or action: what was wrong, and the way back. Nothing was changed. */
export function badRequest(ctx: AppContext, url: URL, section: Section, message: string, back: string): Promise<Response> {
  return adminPage(ctx, {
    title: 'Not done',
    section,
    status: 400,
    url: new URL(url.pathname, url),
    main: html`<p class="form-error" role="alert">${message}</p><p>Nothing was changed. <a href="${back}">Go back</a>.</p>`,
  });
}

/** The page an unknown address gets (src/pages/404.astro, as Astro builds it), for everyone who is not an admin. */
export function notFound(ctx: AppContext): Promise<Response> {
  return pageResponse(ctx, {
    title: 'Page not found',
    description: 'This page does not exist.',
    status: 404,
    headers: ADMIN_HEADERS,
    main: raw(
      '<div class="wrap prose"><h1>Page not found</h1><p>There is nothing at this address. It may have moved, or the link may be mistyped.</p><p><a class="button" href="/">See all courses</a></p></div>',
    ),
  });
}
