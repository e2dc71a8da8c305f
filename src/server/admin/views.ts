// The pieces every admin page is made of: the admin's navigation, tables that scroll sideways on
// a phone, money per currency, times in UTC, the notices an action leaves, and the headers that
// keep admin pages out of caches, search engines and other sites' frames.
import type { AppContext } from '../context.ts';
import { html, raw, type HtmlValue, type SafeHtml } from '../http/html.ts';
import { pageResponse } from '../http/page-shell.ts';
import { formatMoney, messagesOf, type Texts } from '../i18n/index.ts';

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

/** An amount in the site's locale, like every page and email. */
export function money(t: Texts, minor: number, currency: string): string {
  return formatMoney(t, minor, currency);
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
  { href: '/admin/', key: 'dashboard' },
  { href: '/admin/members', key: 'members' },
  { href: '/admin/purchases', key: 'purchases' },
  { href: '/admin/courses', key: 'courses' },
  { href: '/admin/audit', key: 'audit' },
] as const;

export type Section = (typeof SECTIONS)[number]['key'];

/** The notice or error an action redirected with; unknown codes show nothing (no query text is echoed). */
export function adminMessages(t: Texts, url: URL): SafeHtml {
  const notice = url.searchParams.get('notice');
  const error = url.searchParams.get('error');
  const notices: Record<string, string> = t.admin.notices;
  const errors: Record<string, string> = t.admin.errors;
  return html`${notice !== null && Object.hasOwn(notices, notice) && html`<p class="notice" role="status">${notices[notice]!}</p>`}${
    error !== null && Object.hasOwn(errors, error) && html`<p class="form-error" role="alert">${errors[error]!}</p>`
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
export function pager(t: Texts, url: URL, page: number, pages: number): SafeHtml {
  if (pages <= 1) return html``;
  const link = (to: number) => {
    const query = new URLSearchParams(url.search);
    query.delete('notice');
    query.delete('error');
    query.set('page', String(to));
    return `${url.pathname}?${query}`;
  };
  return html`<nav class="admin-pager" aria-label="${t.admin.pages}">
    ${page > 1 ? html`<a href="${link(page - 1)}" rel="prev">${t.admin.previous}</a>` : ''}
    <span>${t.admin.pageOf(page, pages)}</span>
    ${page < pages ? html`<a href="${link(page + 1)}" rel="next">${t.admin.next}</a>` : ''}
  </nav>`;
}

export type AdminPage = { title: string; section: Section; main: SafeHtml; status?: number; url: URL };

export async function adminPage(ctx: AppContext, page: AdminPage): Promise<Response> {
  const t = await messagesOf(ctx);
  return pageResponse(ctx, {
    title: `${page.title} · ${t.admin.suffix}`,
    description: t.admin.suffix,
    status: page.status,
    headers: ADMIN_HEADERS,
    main: html`<div class="wrap admin">
  <nav class="admin-nav" aria-label="${t.admin.nav}">
    <ul>${SECTIONS.map((section) => html`<li><a href="${section.href}"${section.key === page.section ? raw(' aria-current="page"') : ''}>${t.admin.sections[section.key]}</a></li>`)}</ul>
  </nav>
  <h1>${page.title}</h1>
  ${adminMessages(t, page.url)}
  ${page.main}
</div>`,
  });
}

/** A bad request to an admin page or action: what was wrong, and the way back. Nothing was changed. */
export async function badRequest(ctx: AppContext, url: URL, section: Section, message: (t: Texts) => string, back: string): Promise<Response> {
  const t = await messagesOf(ctx);
  return adminPage(ctx, {
    title: t.admin.notDone,
    section,
    status: 400,
    url: new URL(url.pathname, url),
    main: html`<p class="form-error" role="alert">${message(t)}</p><p>${t.admin.nothingChanged(back)}</p>`,
  });
}

/** The page an unknown address gets (src/pages/404.astro, as Astro builds it), for everyone who is not an admin. */
export async function notFound(ctx: AppContext): Promise<Response> {
  const t = await messagesOf(ctx);
  return pageResponse(ctx, {
    title: t.site.notFoundTitle,
    description: t.site.notFoundDescription,
    status: 404,
    headers: ADMIN_HEADERS,
    main: html`<div class="wrap prose"><h1>${t.site.notFoundTitle}</h1><p>${t.site.notFoundMessage}</p><p><a class="button" href="/">${t.site.seeAllCourses}</a></p></div>`,
  });
}
