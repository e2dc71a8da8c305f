// The pieces every admin page is made of: the admin's navigation, tables that scroll sideways on
// a phone, money per currency, times in UTC, audit rows as sentences, the revenue chart (inline
// SVG drawn here, no script), the notices an action leaves, and the headers that keep admin pages
// out of caches, search engines and other sites' frames.
import type { AppContext } from '../context.ts';
import { html, raw, type HtmlValue, type SafeHtml } from '../http/html.ts';
import { pageResponse } from '../http/page-shell.ts';
import { formatMoney, messagesOf, type Texts } from '../i18n/index.ts';
import type { AuditRow } from './queries.ts';

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

/** The audit row's detail (JSON written by auditSql); a detail that is not an object reads as none. */
function detailOf(row: AuditRow): Record<string, unknown> {
  try {
    const detail: unknown = JSON.parse(row.detail ?? 'null');
    return detail && typeof detail === 'object' && !Array.isArray(detail) ? (detail as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/**
 * What an audit row says, in the site's language: the action as a sentence naming the member, the
 * course and what the detail recorded (a purchase number, an expiry, counts of an import), then
 * the note or the import key. An action this code does not know still reads as its name.
 */
export function auditSentence(t: Texts, row: AuditRow): string {
  const says = t.admin.auditSays;
  const detail = detailOf(row);
  const member = row.subjectEmail ?? says.someone;
  const course = row.courseSlug ?? '';
  const purchase = count(detail.purchaseId);
  const main = (() => {
    switch (row.action) {
      case 'grant':
        return detail.createdUser === true ? says.grantNewAccount(member, course, purchase) : says.grant(member, course, purchase);
      case 'revoke':
        return says.revoke(member, course, purchase);
      case 'create-admin':
        return detail.account === 'promoted'
          ? says.promotedAdmin(member)
          : detail.account === 'already-admin'
            ? says.renewedAdmin(member)
            : says.createdAdmin(member);
      case 'remove-admin':
        return says.removedAdmin(member);
      case 'set-password':
        return says.setPassword(member);
      case 'sign-out-everywhere':
        return says.signedOut(member);
      case 'password-email': {
        const until = when(typeof detail.expiresAt === 'number' ? detail.expiresAt : null);
        return detail.hasPassword === false ? says.setPasswordEmail(member, until) : says.resetEmail(member, until);
      }
      case 'import-snapshot':
        return says.importedSnapshot(count(detail.users), count(detail.purchases), count(detail.ledger), count(detail.progress), count(detail.waitlist));
      case 'import-django':
        return says.importedDjango(count(detail.users), count(detail.grants), text(detail.source) ?? '');
      case 'import-csv':
        return says.importedCsv(count(detail.rows), count(detail.accounts), count(detail.grants), count(detail.refused), text(detail.source) ?? '');
      default:
        return says.other(row.action);
    }
  })();
  const amount = text(detail.amount);
  const more = [
    text(detail.import) && says.importKey(text(detail.import)!),
    amount && says.paidElsewhere(`${amount}${text(detail.currency) ? ` ${text(detail.currency)}` : ''}`),
    text(detail.note) && says.note(text(detail.note)!),
  ].filter(Boolean);
  return [main, ...more].join(' ');
}

/** "2026-09" in the site's language: short under a bar, long in the table of figures. */
function monthName(t: Texts, month: string, style: 'short' | 'long'): string {
  const [year, number] = month.split('-').map(Number) as [number, number];
  const options: Intl.DateTimeFormatOptions = style === 'short' ? { month: 'short', year: '2-digit' } : { month: 'long', year: 'numeric' };
  return new Intl.DateTimeFormat(t.locale, { ...options, timeZone: 'UTC' }).format(Date.UTC(year, number - 1, 1));
}

/** Every month from the first to the last of `months` ("YYYY-MM"), the last `limit` of them. */
function monthRange(months: string[], limit: number): string[] {
  const sorted = [...months].sort();
  if (sorted.length === 0) return [];
  const [firstYear, firstMonth] = sorted[0]!.split('-').map(Number) as [number, number];
  const [lastYear, lastMonth] = sorted.at(-1)!.split('-').map(Number) as [number, number];
  const range: string[] = [];
  for (let index = firstYear * 12 + firstMonth - 1; index <= lastYear * 12 + lastMonth - 1; index++)
    range.push(`${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`);
  return range.slice(-limit);
}

export const CHART_MONTHS = 12;
const CHART = { height: 120, top: 24, bar: 24, step: 40, left: 8, labels: 18 };

/**
 * One currency's revenue per month (amounts never added across currencies) as a bar chart: a
 * visible caption, an inline SVG the server draws, so it needs no script, announced as one image
 * with a title and a description, and the same figures as a table for whoever cannot see the bars. Months
 * without sales between the first and the last are drawn as empty bars; at most the last twelve.
 */
export function revenueChart(t: Texts, currency: string, revenue: { month: string; revenueMinor: number }[]): SafeHtml {
  const byMonth = new Map<string, number>();
  for (const row of revenue) byMonth.set(row.month, (byMonth.get(row.month) ?? 0) + row.revenueMinor);
  const points = monthRange([...byMonth.keys()], CHART_MONTHS).map((month) => ({ month, minor: byMonth.get(month) ?? 0 }));
  if (points.length === 0) return html``;
  const max = Math.max(1, ...points.map((point) => point.minor));
  const best = points.reduce((top, point) => (point.minor > top.minor ? point : top));
  const id = `revenue-chart-${currency.toLowerCase()}`;
  const title = t.admin.chartTitle(currency);
  const description = t.admin.chartDescription(
    points.length,
    monthName(t, points[0]!.month, 'long'),
    monthName(t, points.at(-1)!.month, 'long'),
    monthName(t, best.month, 'long'),
    money(t, best.minor, currency),
  );
  const width = CHART.left * 2 + points.length * CHART.step;
  const height = CHART.top + CHART.height + CHART.labels;
  const bars = points.map((point, index) => {
    const barHeight = Math.round((Math.max(0, point.minor) / max) * CHART.height);
    const x = CHART.left + index * CHART.step + (CHART.step - CHART.bar) / 2;
    return html`<rect class="bar" data-month="${point.month}" x="${x}" y="${CHART.top + CHART.height - barHeight}" width="${CHART.bar}" height="${barHeight}" fill="currentColor" />
      <text x="${x + CHART.bar / 2}" y="${height - 4}" text-anchor="middle" font-size="10" fill="currentColor">${monthName(t, point.month, 'short')}</text>`;
  });
  return html`<figure class="admin-chart" id="${id}">
    <figcaption>${title}</figcaption>
    <svg role="img" aria-labelledby="${id}-title ${id}-desc" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">
      <title id="${id}-title">${title}</title>
      <desc id="${id}-desc">${description}</desc>
      <text x="${CHART.left}" y="12" font-size="10" fill="currentColor">${money(t, max, currency)}</text>
      <line x1="${CHART.left}" x2="${width - CHART.left}" y1="${CHART.top}" y2="${CHART.top}" stroke="currentColor" stroke-dasharray="2 3" stroke-width="0.5" />
      <line x1="${CHART.left}" x2="${width - CHART.left}" y1="${CHART.top + CHART.height}" y2="${CHART.top + CHART.height}" stroke="currentColor" stroke-width="1" />
      ${bars}
    </svg>
    <details>
        <summary>${t.admin.chartFigures(currency)}</summary>
        ${table(
          `${id}-figures`,
          title,
          t.admin.chartHead,
          points.map(
            (point) =>
              html`<tr><th scope="row">${monthName(t, point.month, 'long')}</th><td class="num" data-chart="${currency} ${point.month}">${money(t, point.minor, currency)}</td></tr>`,
          ),
          '',
        )}
    </details>
  </figure>`;
}
