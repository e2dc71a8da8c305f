// The admin pages (GET): the dashboard, members and one member, purchases, courses and one course,
// and the audit log. Each reads through queries.ts and renders into the site's layout; the forms
// they show post to actions.ts.
import { z } from 'zod';
import { REQUEST_SLUG } from '../access/lesson-gate.ts';
import type { AppContext } from '../context.ts';
import { html, raw, type SafeHtml } from '../http/html.ts';
import {
  countAudit,
  countPurchases,
  countUsers,
  courseLessons,
  courseOverview,
  courseWaitlist,
  getMemberDetail,
  latestContentSync,
  listAudit,
  listCourses,
  listPurchases,
  listUsers,
  memberCounts,
  memberLedger,
  memberProgress,
  revenueByMonth,
  revenueNetOfTax,
  taxByCountry,
  totalsByCurrency,
  type CourseOverview,
  type PurchaseFilter,
  type PurchaseSummary,
} from './queries.ts';
import { adminPage, auditSentence, badRequest, day, money, pager, revenueChart, table, when } from './views.ts';
import { TOKEN_LIFETIME_MS } from '../auth/tokens.ts';
import { messagesOf, type Texts } from '../i18n/index.ts';
import { SET_PASSWORD_LINK_MS } from '../payments/fulfil.ts';

export const PAGE_SIZE = 50;

/** Why an admin gives a course; `other` needs a note. */
export const GRANT_REASONS = ['gift', 'support', 'migration', 'other'] as const;
/** Why an admin takes one away; `other` needs a note. */
export const REVOKE_REASONS = ['refunded outside Stripe', 'chargeback', 'abuse', 'mistake', 'other'] as const;

export const PURCHASE_STATUSES = ['paid', 'partially_refunded', 'refunded', 'disputed', 'dispute_won', 'dispute_lost', 'granted'] as const;

const DAY_MS = 86_400_000;
const isoDay = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value));
/** An empty field in a GET form means "any". */
const optional = <T extends z.ZodType>(schema: T) => z.union([z.literal('').transform(() => undefined), schema]).optional();
const pageNumber = optional(
  z
    .string()
    .regex(/^[1-9]\d{0,5}$/)
    .transform(Number),
);

/** The filters of /admin/purchases and /admin/purchases.csv, from the query string. */
export const purchaseQuery = z.object({
  course: optional(z.string().regex(REQUEST_SLUG)),
  status: optional(z.enum(PURCHASE_STATUSES)),
  from: optional(isoDay),
  to: optional(isoDay),
  page: pageNumber,
  excel: optional(z.literal('fr')),
});
export const memberQuery = z.object({ q: optional(z.string().trim().max(254)), page: pageNumber, excel: optional(z.literal('fr')) });
const pageQuery = z.object({ page: pageNumber });

/** The query's parameters as an object: a repeated parameter is an array, which the schemas refuse. */
export function queryFields(url: URL): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const previous = fields[name];
    fields[name] = previous === undefined ? value : [previous, value].flat();
  }
  // Notices an action left belong to the page, not to its filters.
  delete fields.notice;
  delete fields.error;
  return fields;
}

export function purchaseFilter(query: z.output<typeof purchaseQuery>): PurchaseFilter {
  return {
    course: query.course,
    status: query.status,
    from: query.from ? Date.parse(`${query.from}T00:00:00Z`) : undefined,
    // `to` is a whole day, included.
    before: query.to ? Date.parse(`${query.to}T00:00:00Z`) + DAY_MS : undefined,
  };
}

function courseCell(slug: string, title: string | null): SafeHtml {
  return html`<a href="/admin/courses/${slug}">${title ?? slug}</a>`;
}

function memberCell(id: number, email: string): SafeHtml {
  return html`<a href="/admin/members/${id}">${email}</a>`;
}

/** Stripe's dashboard page of a payment, in test or live mode as the purchase was made. */
export function stripePaymentUrl(paymentIntentId: string, livemode: boolean): string {
  return `https://dashboard.stripe.com${livemode ? '' : '/test'}/payments/${encodeURIComponent(paymentIntentId)}`;
}

function amountCell(t: Texts, row: PurchaseSummary): SafeHtml {
  if (row.source === 'grant') return html`<td>${t.admin.granted}</td>`;
  return html`<td class="num">${money(t, row.amountMinor, row.currency)}${row.amountRefundedMinor > 0 && html`<br /><small>${t.admin.refunded(money(t, row.amountRefundedMinor, row.currency))}</small>`}</td>`;
}

function purchaseRows(t: Texts, rows: PurchaseSummary[], options: { member?: boolean } = {}): SafeHtml[] {
  return rows.map(
    (row) => html`<tr>
      <td>${row.id}</td>
      <td>${when(row.createdAt)}</td>
      ${options.member === false ? '' : html`<td>${memberCell(row.userId, row.email)}</td>`}
      <td>${courseCell(row.courseSlug, row.courseTitle)}</td>
      ${amountCell(t, row)}
      <td>${row.status}</td>
      <td>${row.access}${row.accessReason && html`<br /><small>${row.accessReason}</small>`}</td>
      <td class="ids">${
        row.source === 'stripe'
          ? html`${row.paymentIntentId && html`<a href="${stripePaymentUrl(row.paymentIntentId, row.livemode)}" rel="noreferrer">${row.paymentIntentId}</a><br />`}<small>${row.checkoutSessionId}</small>${!row.livemode && html` <small>${t.admin.test}</small>`}`
          : ''
      }</td>
    </tr>`,
  );
}

function purchaseHead(t: Texts, options: { member?: boolean } = {}): string[] {
  const head = t.admin.purchaseHead;
  return [head.id, head.date, ...(options.member === false ? [] : [head.member]), head.course, head.amount, head.status, head.access, head.stripe];
}

// ---------------------------------------------------------------------------------------------

export async function dashboardPage(ctx: AppContext, url: URL): Promise<Response> {
  const [months, totals, countries, counts, sync, courses, recent, refunds, disputes] = await Promise.all([
    revenueByMonth(ctx.db),
    totalsByCurrency(ctx.db),
    taxByCountry(ctx.db),
    memberCounts(ctx.db),
    latestContentSync(ctx.db),
    courseOverview(ctx.db),
    listPurchases(ctx.db, { newestFirst: true, limit: 10 }),
    listRefunds(ctx),
    listPurchases(ctx.db, { status: 'disputed', newestFirst: true }),
  ]);
  const t = await messagesOf(ctx);
  return adminPage(ctx, {
    title: t.admin.sections.dashboard,
    section: 'dashboard',
    url,
    main: html`
  <section aria-labelledby="totals-heading">
    <h2 id="totals-heading">${t.admin.sales}</h2>
    <p class="admin-counts">${t.admin.counts(counts.accounts, counts.withAccess, counts.admins)}</p>
    ${table(
      'totals',
      t.admin.totalsCaption,
      t.admin.totalsHead,
      totals.map(
        (row) =>
          html`<tr><th scope="row">${row.currency}</th><td class="num">${row.purchases}</td><td class="num">${money(t, row.chargedMinor, row.currency)}</td><td class="num">${money(t, row.refundedMinor, row.currency)}</td><td class="num" data-tax="${row.currency}">${money(t, row.taxMinor, row.currency)}</td><td class="num" data-revenue="${row.currency}">${money(t, revenueNetOfTax(row), row.currency)}</td><td class="num">${row.openDisputes}${row.openDisputes > 0 && html` (${money(t, row.openDisputedMinor, row.currency)})`}</td><td class="num">${row.disputesLost}</td></tr>`,
      ),
      t.admin.noSales,
    )}
    ${
      months.length > 0 &&
      html`<h3>${t.admin.chartsHeading}</h3>
    <div class="admin-charts">${[...new Set(months.map((row) => row.currency))].sort().map((currency) =>
      revenueChart(
        t,
        currency,
        months.filter((row) => row.currency === currency).map((row) => ({ month: row.month, revenueMinor: revenueNetOfTax(row) })),
      ),
    )}</div>`
    }
    ${table(
      'months',
      t.admin.monthsCaption,
      t.admin.monthsHead,
      months.map(
        (row) =>
          html`<tr><td>${row.month}</td><td>${courseCell(row.courseSlug, row.courseTitle)}</td><td>${row.currency}</td><td class="num">${row.purchases}</td><td class="num">${money(t, row.chargedMinor, row.currency)}</td><td class="num">${money(t, row.refundedMinor, row.currency)}</td><td class="num">${money(t, row.taxMinor, row.currency)}</td><td class="num" data-month-revenue="${row.month} ${row.courseSlug} ${row.currency}">${money(t, revenueNetOfTax(row), row.currency)}</td></tr>`,
      ),
      t.admin.noSales,
    )}
    ${table(
      'tax-countries',
      t.admin.countriesCaption,
      t.admin.countriesHead,
      countries.map(
        (row) =>
          html`<tr><td>${row.currency}</td><td>${row.country ?? t.admin.noCountry}</td><td class="num">${row.purchases}</td><td class="num">${money(t, row.chargedMinor, row.currency)}</td><td class="num">${money(t, row.refundedMinor, row.currency)}</td><td class="num" data-country-tax="${row.currency} ${row.country ?? '-'}">${money(t, row.taxMinor, row.currency)}</td><td class="num" data-country-revenue="${row.currency} ${row.country ?? '-'}">${money(t, revenueNetOfTax(row), row.currency)}</td></tr>`,
      ),
      t.admin.noSales,
    )}
  </section>
  <section aria-labelledby="recent-heading">
    <h2 id="recent-heading">${t.admin.recent}</h2>
    ${table('recent', t.admin.latest, purchaseHead(t), purchaseRows(t, recent), t.admin.noPurchasesYet)}
    ${table('refunds', t.admin.refundsCaption, purchaseHead(t), purchaseRows(t, refunds), t.admin.noRefunds)}
    ${table('disputes', t.admin.disputesCaption, purchaseHead(t), purchaseRows(t, disputes), t.admin.noDisputes)}
  </section>
  <section aria-labelledby="content-heading">
    <h2 id="content-heading">${t.admin.content}</h2>
    ${syncSummary(t, sync)}
    ${coursesTable(t, courses)}
  </section>`,
  });
}

/** Purchases with money given back, the latest refund first. */
async function listRefunds(ctx: AppContext): Promise<PurchaseSummary[]> {
  const rows = await Promise.all(
    (['refunded', 'partially_refunded'] as const).map((status) => listPurchases(ctx.db, { status, newestFirst: true, limit: 10 })),
  );
  return rows
    .flat()
    .sort((a, b) => b.createdAt - a.createdAt)
    .slice(0, 10);
}

function syncSummary(t: Texts, sync: Awaited<ReturnType<typeof latestContentSync>>): SafeHtml {
  if (!sync) return html`<p>${t.admin.noSync}</p>`;
  const counts = (key: string) => {
    const value = sync.summary?.[key] as Record<string, number> | undefined;
    return value
      ? Object.entries(value)
          .map(([name, n]) => `${n} ${name}`)
          .join(', ')
      : t.admin.notRecorded;
  };
  return html`<p>${t.admin.lastSync(when(sync.finishedAt), sync.written, counts('courses'), counts('lessons'))}</p>`;
}

function completion(t: Texts, course: CourseOverview): string {
  return course.withAccess === 0 ? '–' : t.admin.completion(Math.round((course.completed / course.withAccess) * 100), course.completed, course.withAccess);
}

function coursesTable(t: Texts, courses: CourseOverview[]): SafeHtml {
  return table(
    'courses',
    t.admin.coursesCaption,
    t.admin.coursesHead,
    courses.map(
      (course) => html`<tr>
        <th scope="row">${courseCell(course.slug, course.title)}<br /><small>${course.slug}</small></th>
        <td>${course.published ? (course.comingSoon ? t.admin.comingSoon : t.admin.published) : t.admin.unpublished}${course.saleEndsAt !== null && html`<br /><small>${t.admin.saleEnds(when(course.saleEndsAt))}</small>`}</td>
        <td class="num">${money(t, course.priceMinor, course.currency)}</td>
        <td class="num">${t.admin.lessonsPublished(course.lessonsPublished)}${course.lessonsUnpublished > 0 && html`<br /><small>${t.admin.lessonsUnpublished(course.lessonsUnpublished)}</small>`}</td>
        <td class="num">${course.buyers}</td>
        <td class="num">${course.withAccess}</td>
        <td class="num">${completion(t, course)}</td>
        <td class="num">${course.waitlist}</td>
      </tr>`,
    ),
    t.admin.noCourses,
  );
}

// ---------------------------------------------------------------------------------------------

export async function membersPage(ctx: AppContext, url: URL): Promise<Response> {
  const query = memberQuery.safeParse(queryFields(url));
  if (!query.success) return badRequest(ctx, url, 'members', (t) => t.admin.badSearch, '/admin/members');
  const search = query.data.q || undefined;
  const total = await countUsers(ctx.db, { search });
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const page = Math.min(query.data.page ?? 1, pages);
  const [users, courses] = await Promise.all([listUsers(ctx.db, { search, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE }), listCourses(ctx.db)]);
  const csvHref = `/admin/members.csv?${new URLSearchParams(search ? { q: search } : {})}`;
  const excelHref = `/admin/members.csv?${new URLSearchParams({ ...(search ? { q: search } : {}), excel: 'fr' })}`;
  const t = await messagesOf(ctx);
  return adminPage(ctx, {
    title: t.admin.sections.members,
    section: 'members',
    url,
    main: html`<form class="admin-filters" method="get" action="/admin/members" role="search">
      <div class="admin-field"><label for="q">${t.admin.emailContains}</label><input id="q" name="q" type="search" value="${search ?? ''}" maxlength="254" /></div>
      <button class="button" type="submit">${t.admin.search}</button>
    </form>
    <p>${t.admin.accounts(total, search)} <a href="${csvHref.replace(/\?$/, '')}" download>${t.admin.downloadCsv}</a> (<a href="${excelHref}" download>${t.admin.forExcel}</a>)</p>
    ${table(
      'members',
      t.admin.membersCaption,
      t.admin.membersHead,
      users.map(
        (user) =>
          html`<tr><td>${user.id}</td><th scope="row">${memberCell(user.id, user.email)}</th><td>${user.role}</td><td>${user.hasPassword ? t.admin.yes : t.admin.no}</td><td class="num">${user.activeCourses}</td><td class="num">${user.purchases}</td><td>${day(user.createdAt)}</td></tr>`,
      ),
      t.admin.noAccount,
    )}
    ${pager(t, url, page, pages)}
    <div class="admin-actions">
      <form class="form" method="post" action="/admin/members/grant">
        <h2>${t.admin.giveToEmail}</h2>
        <p class="hint">${t.admin.giveToEmailHint(SET_PASSWORD_LINK_MS / 86_400_000)}</p>
        <label for="new-grant-email">${t.admin.email}</label>
        <input id="new-grant-email" name="email" type="email" autocomplete="off" maxlength="254" required />
        ${grantFields(t, 'new-grant', courses)}
        <button class="button" type="submit">${t.admin.grant}</button>
      </form>
    </div>`,
  });
}

/** The course, reason and note of a grant form; `id` keeps two such forms' fields apart. */
function grantFields(t: Texts, id: string, courses: { slug: string; title: string; published: boolean }[]): SafeHtml {
  return html`<label for="${id}-course">${t.admin.course}</label>
        <select id="${id}-course" name="course" required>${courses.map((course) => html`<option value="${course.slug}">${course.title}${!course.published && t.admin.unpublishedSuffix}</option>`)}</select>
        <label for="${id}-reason">${t.admin.reason}</label>
        <select id="${id}-reason" name="reason" required>${GRANT_REASONS.map((reason) => html`<option value="${reason}">${reason}</option>`)}</select>
        <label for="${id}-note">${t.admin.note} <small>${t.admin.noteRequired}</small></label>
        <input id="${id}-note" name="note" maxlength="200" />`;
}

export async function memberPage(ctx: AppContext, url: URL, userId: number): Promise<Response | null> {
  const member = await getMemberDetail(ctx.db, userId);
  if (!member) return null;
  const [purchases, ledger, progress, audit, courses] = await Promise.all([
    listPurchases(ctx.db, { userId, newestFirst: true }),
    memberLedger(ctx.db, userId),
    memberProgress(ctx.db, userId),
    listAudit(ctx.db, { subjectUserId: userId, limit: 20 }),
    listCourses(ctx.db),
  ]);
  const base = `/admin/members/${userId}`;
  const t = await messagesOf(ctx);
  const readable = progress.filter((course) => course.hasAccess);
  const courseOptions = (list: { slug: string; title: string; published?: boolean }[]) =>
    list.map((course) => html`<option value="${course.slug}">${course.title}${course.published === false && t.admin.unpublishedSuffix}</option>`);
  const reasonOptions = (reasons: readonly string[]) => reasons.map((reason) => html`<option value="${reason}">${reason}</option>`);
  return adminPage(ctx, {
    title: member.email,
    section: 'members',
    url,
    main: html`<dl class="admin-facts">
      <dt>${t.admin.account}</dt><dd>${t.admin.accountFacts(member.id, member.role, when(member.createdAt))}</dd>
      <dt>${t.admin.password}</dt><dd>${member.hasPassword ? t.admin.passwordSet : t.admin.passwordNone}</dd>
      <dt>${t.admin.emailVerified}</dt><dd>${member.emailVerifiedAt === null ? t.admin.no : when(member.emailVerifiedAt)}</dd>
    </dl>

    <h2>${t.admin.progress}</h2>
    ${table(
      'progress',
      t.admin.progressCaption,
      t.admin.progressHead,
      progress.map(
        (course) =>
          html`<tr><th scope="row">${courseCell(course.courseSlug, course.title)}</th><td>${course.hasAccess ? t.admin.canRead : t.admin.noAccess}</td><td class="num">${t.admin.ofTotal(course.completed, course.total)}</td></tr>`,
      ),
      t.admin.noProgress,
    )}

    <h2>${t.admin.purchases}</h2>
    ${table('purchases', t.admin.memberPurchasesCaption, purchaseHead(t, { member: false }), purchaseRows(t, purchases, { member: false }), t.admin.noPurchases)}

    <h2>${t.admin.ledger}</h2>
    ${table(
      'ledger',
      t.admin.ledgerCaption,
      t.admin.ledgerHead,
      ledger.map(
        (entry) =>
          html`<tr><td>${when(entry.createdAt)}</td><td>${entry.courseSlug}</td><td>#${entry.purchaseId}</td><td>${entry.action}</td><td>${entry.reason}${entry.stripeObjectId && html`<br /><small>${entry.stripeObjectId}</small>`}</td><td>${entry.actorEmail ?? (entry.stripeObjectId ? 'Stripe' : '')}</td><td>${entry.note}</td></tr>`,
      ),
      t.admin.noLedger,
    )}

    <h2>${t.admin.actions}</h2>
    <div class="admin-actions">
      <form class="form" method="post" action="${base}/grant">
        <h3>${t.admin.give}</h3>
        ${grantFields(t, 'grant', courses)}
        <button class="button" type="submit">${t.admin.grant}</button>
      </form>
      <form class="form" method="post" action="${base}/revoke">
        <h3>${t.admin.takeAway}</h3>
        ${
          readable.length === 0
            ? html`<p>${t.admin.cannotRead}</p>`
            : html`<label for="revoke-course">${t.admin.course}</label>
        <select id="revoke-course" name="course" required>${courseOptions(readable.map((course) => ({ slug: course.courseSlug, title: course.title ?? course.courseSlug })))}</select>
        <label for="revoke-reason">${t.admin.reason}</label>
        <select id="revoke-reason" name="reason" required>${reasonOptions(REVOKE_REASONS)}</select>
        <label for="revoke-note">${t.admin.note} <small>${t.admin.noteRequired}</small></label>
        <input id="revoke-note" name="note" maxlength="200" />
        <p class="hint">${t.admin.noRefund}</p>
        <button class="button secondary" type="submit">${t.admin.revoke}</button>`
        }
      </form>
      <form class="form" method="post" action="${base}/password-email">
        <h3>${t.admin.passwordEmail}</h3>
        <p>${member.hasPassword ? t.admin.resetLink(TOKEN_LIFETIME_MS.reset / 60_000) : t.admin.setLink(SET_PASSWORD_LINK_MS / 86_400_000)}</p>
        <button class="button secondary" type="submit">${t.admin.sendEmail}</button>
      </form>
      <form class="form" method="post" action="${base}/sign-out">
        <h3>${t.admin.sessions}</h3>
        <p>${t.admin.endSessions}</p>
        <button class="button secondary" type="submit">${t.admin.signOutEverywhere}</button>
      </form>
    </div>

    <h2>${t.admin.audit}</h2>
    ${auditTable(t, 'member-audit', t.admin.memberAuditCaption, audit)}`,
  });
}

function auditTable(t: Texts, id: string, caption: string, rows: Awaited<ReturnType<typeof listAudit>>): SafeHtml {
  return table(
    id,
    caption,
    t.admin.auditHead,
    rows.map(
      (row) =>
        html`<tr><td>${when(row.createdAt)}</td><td>${row.actorEmail ?? t.admin.operator} <small>(${row.via})</small></td><td data-audit="${row.action}">${auditSentence(t, row)}</td><td>${row.reason}</td></tr>`,
    ),
    t.admin.nothingYet,
  );
}

// ---------------------------------------------------------------------------------------------

export async function purchasesPage(ctx: AppContext, url: URL): Promise<Response> {
  const query = purchaseQuery.safeParse(queryFields(url));
  if (!query.success) return badRequest(ctx, url, 'purchases', (t) => t.admin.badFilters, '/admin/purchases');
  const filter = purchaseFilter(query.data);
  const [total, courses] = await Promise.all([countPurchases(ctx.db, filter), listCourses(ctx.db)]);
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const page = Math.min(query.data.page ?? 1, pages);
  const rows = await listPurchases(ctx.db, { ...filter, newestFirst: true, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });
  const filters = new URLSearchParams();
  for (const name of ['course', 'status', 'from', 'to'] as const) if (query.data[name]) filters.set(name, query.data[name]!);
  const selected = (on: boolean) => (on ? raw(' selected') : '');
  const t = await messagesOf(ctx);
  return adminPage(ctx, {
    title: t.admin.sections.purchases,
    section: 'purchases',
    url,
    main: html`<form class="admin-filters" method="get" action="/admin/purchases">
      <div class="admin-field"><label for="course">${t.admin.course}</label><select id="course" name="course"><option value="">${t.admin.any}</option>${courses.map((course) => html`<option value="${course.slug}"${selected(course.slug === query.data.course)}>${course.title}</option>`)}</select></div>
      <div class="admin-field"><label for="status">${t.admin.status}</label><select id="status" name="status"><option value="">${t.admin.any}</option>${PURCHASE_STATUSES.map((status) => html`<option${selected(status === query.data.status)}>${status}</option>`)}</select></div>
      <div class="admin-field"><label for="from">${t.admin.from}</label><input id="from" name="from" type="date" value="${query.data.from ?? ''}" /></div>
      <div class="admin-field"><label for="to">${t.admin.to}</label><input id="to" name="to" type="date" value="${query.data.to ?? ''}" /></div>
      <button class="button" type="submit">${t.admin.filter}</button>
    </form>
    <p>${t.admin.purchasesCount(total)} <a href="/admin/purchases.csv${filters.size ? `?${filters}` : ''}" download>${t.admin.downloadCsv}</a> (${t.admin.sameFilters}; <a href="/admin/purchases.csv?${String(new URLSearchParams([...filters, ['excel', 'fr']]))}" download>${t.admin.forExcel}</a>)</p>
    ${table('purchase-list', t.admin.purchasesCaption, purchaseHead(t), purchaseRows(t, rows), t.admin.noPurchaseMatches)}
    ${pager(t, url, page, pages)}`,
  });
}

// ---------------------------------------------------------------------------------------------

export async function coursesPage(ctx: AppContext, url: URL): Promise<Response> {
  const [courses, sync] = await Promise.all([courseOverview(ctx.db), latestContentSync(ctx.db)]);
  const t = await messagesOf(ctx);
  return adminPage(ctx, {
    title: t.admin.sections.courses,
    section: 'courses',
    url,
    main: html`<p>${t.admin.coursesIntro}</p>
    ${syncSummary(t, sync)}
    ${coursesTable(t, courses)}`,
  });
}

export async function coursePage(ctx: AppContext, url: URL, slug: string): Promise<Response | null> {
  const [course] = await courseOverview(ctx.db, slug);
  if (!course) return null;
  const [lessons, waitlist] = await Promise.all([courseLessons(ctx.db, slug), courseWaitlist(ctx.db, slug)]);
  const t = await messagesOf(ctx);
  return adminPage(ctx, {
    title: course.title,
    section: 'courses',
    url,
    main: html`<dl class="admin-facts">
      <dt>${t.admin.address}</dt><dd>${course.published ? html`<a href="/courses/${course.slug}/">/courses/${course.slug}/</a>` : html`/courses/${course.slug}/${t.admin.unpublishedSuffix}`}</dd>
      <dt>${t.admin.price}</dt><dd>${money(t, course.priceMinor, course.currency)}${course.comingSoon && t.admin.notOnSale}${course.saleEndsAt !== null && html`, ${t.admin.saleEnds(when(course.saleEndsAt))}`}</dd>
      <dt>${t.admin.buyers}</dt><dd>${t.admin.buyersFacts(course.buyers, course.withAccess, `/admin/purchases?course=${course.slug}`)}</dd>
      <dt>${t.admin.completed}</dt><dd>${completion(t, course)}</dd>
      <dt>${t.admin.synced}</dt><dd>${when(course.updatedAt)}</dd>
    </dl>
    ${table(
      'lessons',
      t.admin.lessonsCaption,
      t.admin.lessonsHead,
      lessons.map(
        (lesson) =>
          html`<tr><td>${lesson.position}</td><th scope="row">${lesson.title}<br /><small>${lesson.slug}</small></th><td>${lesson.published ? (lesson.preview ? t.admin.publishedPreview : t.admin.published) : t.admin.unpublished}</td><td class="num">${lesson.completions}</td><td>${when(lesson.updatedAt)}</td></tr>`,
      ),
      t.admin.noLessons,
    )}
    ${table(
      'waitlist',
      t.admin.waitlistCaption(waitlist.length),
      t.admin.waitlistHead,
      waitlist.map((entry) => html`<tr><td>${entry.email}</td><td>${when(entry.createdAt)}</td></tr>`),
      t.admin.noWaitlist,
    )}`,
  });
}

// ---------------------------------------------------------------------------------------------

export async function auditPage(ctx: AppContext, url: URL): Promise<Response> {
  const query = pageQuery.safeParse(queryFields(url));
  if (!query.success) return badRequest(ctx, url, 'audit', (t) => t.admin.badPage, '/admin/audit');
  const total = await countAudit(ctx.db);
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const page = Math.min(query.data.page ?? 1, pages);
  const rows = await listAudit(ctx.db, { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });
  const t = await messagesOf(ctx);
  return adminPage(ctx, {
    title: t.admin.sections.audit,
    section: 'audit',
    url,
    main: html`<p>${t.admin.auditIntro}</p>
    ${auditTable(t, 'audit', t.admin.auditCaption(total), rows)}
    ${pager(t, url, page, pages)}`,
  });
}
