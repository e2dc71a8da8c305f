// The admin pages (GET): the dashboard, members and one member, purchases, courses and one course,
// and the audit log. Each reads through the admin core and renders into the site's layout.
import { z } from 'zod';
import { SLUG } from '../access/lesson-gate.ts';
import type { AppContext } from '../context.ts';
import { html, raw, type SafeHtml } from '../http/html.ts';
import { countAudit, listAudit } from './audit.ts';
import { countPurchases, countUsers, listCourses, listPurchases, listUsers, type PurchaseFilter, type PurchaseSummary } from './members.ts';
import {
  courseLessons,
  courseOverview,
  courseWaitlist,
  getMemberDetail,
  latestContentSync,
  memberCounts,
  memberLedger,
  memberProgress,
  revenueByMonth,
  revenueNetOfTax,
  taxByCountry,
  totalsByCurrency,
  type CourseOverview,
} from './reports.ts';
import { adminPage, badRequest, day, money, pager, table, when } from './views.ts';

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
const pageNumber = optional(z.string().regex(/^[1-9]\d{0,5}$/).transform(Number));

/** The filters of /admin/purchases and /admin/purchases.csv, from the query string. */
export const purchaseQuery = z.object({
  course: optional(z.string().regex(SLUG)),
  status: optional(z.enum(PURCHASE_STATUSES)),
  from: optional(isoDay),
  to: optional(isoDay),
  page: pageNumber,
});
export const memberQuery = z.object({ q: optional(z.string().trim().max(254)), page: pageNumber });
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

function amountCell(row: PurchaseSummary): SafeHtml {
  if (row.source === 'grant') return html`<td>granted</td>`;
  return html`<td class="num">${money(row.amountMinor, row.currency)}${row.amountRefundedMinor > 0 && html`<br /><small>refunded ${money(row.amountRefundedMinor, row.currency)}</small>`}</td>`;
}

function purchaseRows(rows: PurchaseSummary[], options: { member?: boolean } = {}): SafeHtml[] {
  return rows.map(
    (row) => html`<tr>
      <td>${row.id}</td>
      <td>${when(row.createdAt)}</td>
      ${options.member === false ? '' : html`<td>${memberCell(row.userId, row.email)}</td>`}
      <td>${courseCell(row.courseSlug, row.courseTitle)}</td>
      ${amountCell(row)}
      <td>${row.status}</td>
      <td>${row.access}${row.accessReason && html`<br /><small>${row.accessReason}</small>`}</td>
      <td class="ids">${
        row.source === 'stripe'
          ? html`${row.paymentIntentId && html`<a href="${stripePaymentUrl(row.paymentIntentId, row.livemode)}" rel="noreferrer">${row.paymentIntentId}</a><br />`}<small>${row.checkoutSessionId}</small>${!row.livemode && html` <small>(test)</small>`}`
          : ''
      }</td>
    </tr>`,
  );
}

const PURCHASE_HEAD = ['#', 'Date', 'Member', 'Course', 'Amount', 'Status', 'Access', 'Stripe'];

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
  return adminPage(ctx, {
    title: 'Dashboard',
    section: 'dashboard',
    url,
    main: html`
  <section aria-labelledby="totals-heading">
    <h2 id="totals-heading">Sales</h2>
    <p class="admin-counts"><span><strong>${counts.accounts}</strong> accounts</span> <span><strong>${counts.withAccess}</strong> with a course</span> <span><strong>${counts.admins}</strong> admins</span></p>
    ${table(
      'totals',
      'All-time sales per currency (revenue: refunds and the tax collected taken off; open disputes are held by Stripe)',
      ['Currency', 'Purchases', 'Charged', 'Refunded', 'Tax collected', 'Revenue', 'Open disputes', 'Disputes lost'],
      totals.map(
        (row) => html`<tr><th scope="row">${row.currency}</th><td class="num">${row.purchases}</td><td class="num">${money(row.chargedMinor, row.currency)}</td><td class="num">${money(row.refundedMinor, row.currency)}</td><td class="num" data-tax="${row.currency}">${money(row.taxMinor, row.currency)}</td><td class="num" data-revenue="${row.currency}">${money(revenueNetOfTax(row), row.currency)}</td><td class="num">${row.openDisputes}${row.openDisputes > 0 && html` (${money(row.openDisputedMinor, row.currency)})`}</td><td class="num">${row.disputesLost}</td></tr>`,
      ),
      'No sales yet.',
    )}
    ${table(
      'months',
      'Revenue per course and month (UTC; a refund counts in the month of its purchase)',
      ['Month', 'Course', 'Currency', 'Purchases', 'Charged', 'Refunded', 'Tax', 'Revenue'],
      months.map(
        (row) => html`<tr><td>${row.month}</td><td>${courseCell(row.courseSlug, row.courseTitle)}</td><td>${row.currency}</td><td class="num">${row.purchases}</td><td class="num">${money(row.chargedMinor, row.currency)}</td><td class="num">${money(row.refundedMinor, row.currency)}</td><td class="num">${money(row.taxMinor, row.currency)}</td><td class="num" data-month-revenue="${row.month} ${row.courseSlug} ${row.currency}">${money(revenueNetOfTax(row), row.currency)}</td></tr>`,
      ),
      'No sales yet.',
    )}
    ${table(
      'tax-countries',
      'Tax collected per currency and country (the billing country Stripe Tax used; refunded tax taken off)',
      ['Currency', 'Country', 'Purchases', 'Charged', 'Refunded', 'Tax collected', 'Revenue'],
      countries.map(
        (row) => html`<tr><td>${row.currency}</td><td>${row.country ?? 'none recorded'}</td><td class="num">${row.purchases}</td><td class="num">${money(row.chargedMinor, row.currency)}</td><td class="num">${money(row.refundedMinor, row.currency)}</td><td class="num" data-country-tax="${row.currency} ${row.country ?? '-'}">${money(row.taxMinor, row.currency)}</td><td class="num" data-country-revenue="${row.currency} ${row.country ?? '-'}">${money(revenueNetOfTax(row), row.currency)}</td></tr>`,
      ),
      'No sales yet.',
    )}
  </section>
  <section aria-labelledby="recent-heading">
    <h2 id="recent-heading">Recent activity</h2>
    ${table('recent', html`Latest purchases and grants (<a href="/admin/purchases">all</a>)`, PURCHASE_HEAD, purchaseRows(recent), 'No purchases yet.')}
    ${table('refunds', 'Refunded purchases (fully or in part), newest purchase first', PURCHASE_HEAD, purchaseRows(refunds), 'No refunds.')}
    ${table('disputes', 'Open disputes', PURCHASE_HEAD, purchaseRows(disputes), 'No open disputes.')}
  </section>
  <section aria-labelledby="content-heading">
    <h2 id="content-heading">Content</h2>
    ${syncSummary(sync)}
    ${coursesTable(courses)}
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

function syncSummary(sync: Awaited<ReturnType<typeof latestContentSync>>): SafeHtml {
  if (!sync) return html`<p>No content sync has changed the store yet. Run <code>npm run content:sync</code> after a build.</p>`;
  const counts = (key: string) => {
    const value = sync.summary?.[key] as Record<string, number> | undefined;
    return value ? Object.entries(value).map(([name, n]) => `${n} ${name}`).join(', ') : 'not recorded';
  };
  return html`<p>Last content change: <strong>${when(sync.finishedAt)}</strong>, ${sync.written} rows written (courses: ${counts('courses')}; lessons: ${counts('lessons')}).
    A sync of an unchanged build writes nothing and is not listed.</p>`;
}

function completion(course: CourseOverview): string {
  return course.withAccess === 0 ? '–' : `${Math.round((course.completed / course.withAccess) * 100)}% (${course.completed} of ${course.withAccess})`;
}

function coursesTable(courses: CourseOverview[]): SafeHtml {
  return table(
    'courses',
    'Courses in the store (what the last content sync wrote from git)',
    ['Course', 'State', 'Price', 'Lessons', 'Buyers', 'With access', 'Completed', 'Waitlist'],
    courses.map(
      (course) => html`<tr>
        <th scope="row">${courseCell(course.slug, course.title)}<br /><small>${course.slug}</small></th>
        <td>${course.published ? (course.comingSoon ? 'coming soon' : 'published') : 'unpublished'}${course.saleEndsAt !== null && html`<br /><small>sale ends ${when(course.saleEndsAt)}</small>`}</td>
        <td class="num">${money(course.priceMinor, course.currency)}</td>
        <td class="num">${course.lessonsPublished} published${course.lessonsUnpublished > 0 && html`<br /><small>${course.lessonsUnpublished} unpublished</small>`}</td>
        <td class="num">${course.buyers}</td>
        <td class="num">${course.withAccess}</td>
        <td class="num">${completion(course)}</td>
        <td class="num">${course.waitlist}</td>
      </tr>`,
    ),
    'The store has no courses: run the content sync after a build.',
  );
}

// ---------------------------------------------------------------------------------------------

export async function membersPage(ctx: AppContext, url: URL): Promise<Response> {
  const query = memberQuery.safeParse(queryFields(url));
  if (!query.success) return badRequest(ctx, url, 'members', 'That search is not valid.', '/admin/members');
  const search = query.data.q || undefined;
  const total = await countUsers(ctx.db, { search });
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const page = Math.min(query.data.page ?? 1, pages);
  const users = await listUsers(ctx.db, { search, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });
  const csvHref = search ? `/admin/members.csv?${new URLSearchParams({ q: search })}` : '/admin/members.csv';
  return adminPage(ctx, {
    title: 'Members',
    section: 'members',
    url,
    main: html`<form class="admin-filters" method="get" action="/admin/members" role="search">
      <div class="admin-field"><label for="q">Email contains</label><input id="q" name="q" type="search" value="${search ?? ''}" maxlength="254" /></div>
      <button class="button" type="submit">Search</button>
    </form>
    <p>${total} account${total === 1 ? '' : 's'}${search && html` matching “${search}”`}. <a href="${csvHref}" download>Download as CSV</a></p>
    ${table(
      'members',
      'Accounts, oldest first',
      ['#', 'Email', 'Role', 'Password', 'Courses now', 'Purchases', 'Created'],
      users.map(
        (user) => html`<tr><td>${user.id}</td><th scope="row">${memberCell(user.id, user.email)}</th><td>${user.role}</td><td>${user.hasPassword ? 'yes' : 'no'}</td><td class="num">${user.activeCourses}</td><td class="num">${user.purchases}</td><td>${day(user.createdAt)}</td></tr>`,
      ),
      'No account matches.',
    )}
    ${pager(url, page, pages)}`,
  });
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
  const readable = progress.filter((course) => course.hasAccess);
  const courseOptions = (list: { slug: string; title: string; published?: boolean }[]) =>
    list.map((course) => html`<option value="${course.slug}">${course.title}${course.published === false && ' (unpublished)'}</option>`);
  const reasonOptions = (reasons: readonly string[]) => reasons.map((reason) => html`<option value="${reason}">${reason}</option>`);
  return adminPage(ctx, {
    title: member.email,
    section: 'members',
    url,
    main: html`<dl class="admin-facts">
      <dt>Account</dt><dd>#${member.id}, ${member.role}, created ${when(member.createdAt)}</dd>
      <dt>Password</dt><dd>${member.hasPassword ? 'set' : 'none yet (created by a purchase or a grant)'}</dd>
      <dt>Email verified</dt><dd>${member.emailVerifiedAt === null ? 'no' : when(member.emailVerifiedAt)}</dd>
    </dl>

    <h2>Progress</h2>
    ${table(
      'progress',
      'Courses and lessons completed (published lessons)',
      ['Course', 'Access', 'Completed'],
      progress.map(
        (course) => html`<tr><th scope="row">${courseCell(course.courseSlug, course.title)}</th><td>${course.hasAccess ? 'can read' : 'no access'}</td><td class="num">${course.completed} of ${course.total}</td></tr>`,
      ),
      'No purchases and no progress.',
    )}

    <h2>Purchases</h2>
    ${table('purchases', 'Purchases and grants, newest first', PURCHASE_HEAD.filter((label) => label !== 'Member'), purchaseRows(purchases, { member: false }), 'No purchases.')}

    <h2>Access ledger</h2>
    ${table(
      'ledger',
      'Every change to what this member may read, oldest first',
      ['Date', 'Course', 'Purchase', 'Action', 'Reason', 'By', 'Note'],
      ledger.map(
        (entry) => html`<tr><td>${when(entry.createdAt)}</td><td>${entry.courseSlug}</td><td>#${entry.purchaseId}</td><td>${entry.action}</td><td>${entry.reason}${entry.stripeObjectId && html`<br /><small>${entry.stripeObjectId}</small>`}</td><td>${entry.actorEmail ?? (entry.stripeObjectId ? 'Stripe' : '')}</td><td>${entry.note}</td></tr>`,
      ),
      'No ledger entries.',
    )}

    <h2>Actions</h2>
    <div class="admin-actions">
      <form class="form" method="post" action="${base}/grant">
        <h3>Give a course</h3>
        <label for="grant-course">Course</label>
        <select id="grant-course" name="course" required>${courseOptions(courses)}</select>
        <label for="grant-reason">Reason</label>
        <select id="grant-reason" name="reason" required>${reasonOptions(GRANT_REASONS)}</select>
        <label for="grant-note">Note <small>(required for “other”)</small></label>
        <input id="grant-note" name="note" maxlength="200" />
        <button class="button" type="submit">Grant</button>
      </form>
      <form class="form" method="post" action="${base}/revoke">
        <h3>Take a course away</h3>
        ${readable.length === 0
          ? html`<p>The member cannot read any course.</p>`
          : html`<label for="revoke-course">Course</label>
        <select id="revoke-course" name="course" required>${courseOptions(readable.map((course) => ({ slug: course.courseSlug, title: course.title ?? course.courseSlug })))}</select>
        <label for="revoke-reason">Reason</label>
        <select id="revoke-reason" name="reason" required>${reasonOptions(REVOKE_REASONS)}</select>
        <label for="revoke-note">Note <small>(required for “other”)</small></label>
        <input id="revoke-note" name="note" maxlength="200" />
        <p class="hint">This does not refund a payment: refund it in Stripe’s dashboard.</p>
        <button class="button secondary" type="submit">Revoke</button>`}
      </form>
      <form class="form" method="post" action="${base}/password-email">
        <h3>Password email</h3>
        <p>${member.hasPassword ? 'Email the member a link to choose a new password (valid 60 minutes).' : 'Email the member a link to set their password (valid 7 days).'}</p>
        <button class="button secondary" type="submit">Send the email</button>
      </form>
      <form class="form" method="post" action="${base}/sign-out">
        <h3>Sessions</h3>
        <p>End every session of this member, on every device.</p>
        <button class="button secondary" type="submit">Sign out everywhere</button>
      </form>
    </div>

    <h2>Audit</h2>
    ${auditTable('member-audit', 'Admin actions about this member, newest first (the last 20)', audit)}`,
  });
}

function auditTable(id: string, caption: string, rows: Awaited<ReturnType<typeof listAudit>>): SafeHtml {
  return table(
    id,
    caption,
    ['Date', 'By', 'Action', 'Member', 'Course', 'Reason', 'Detail'],
    rows.map(
      (row) => html`<tr><td>${when(row.createdAt)}</td><td>${row.actorEmail ?? 'operator'} <small>(${row.via})</small></td><td>${row.action}</td><td>${row.subjectEmail}</td><td>${row.courseSlug}</td><td>${row.reason}</td><td><small>${row.detail}</small></td></tr>`,
    ),
    'Nothing yet.',
  );
}

// ---------------------------------------------------------------------------------------------

export async function purchasesPage(ctx: AppContext, url: URL): Promise<Response> {
  const query = purchaseQuery.safeParse(queryFields(url));
  if (!query.success) return badRequest(ctx, url, 'purchases', 'Those filters are not valid: a course, a status, and dates as YYYY-MM-DD.', '/admin/purchases');
  const filter = purchaseFilter(query.data);
  const [total, courses] = await Promise.all([countPurchases(ctx.db, filter), listCourses(ctx.db)]);
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const page = Math.min(query.data.page ?? 1, pages);
  const rows = await listPurchases(ctx.db, { ...filter, newestFirst: true, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });
  const filters = new URLSearchParams();
  for (const name of ['course', 'status', 'from', 'to'] as const) if (query.data[name]) filters.set(name, query.data[name]!);
  const selected = (on: boolean) => (on ? raw(' selected') : '');
  return adminPage(ctx, {
    title: 'Purchases',
    section: 'purchases',
    url,
    main: html`<form class="admin-filters" method="get" action="/admin/purchases">
      <div class="admin-field"><label for="course">Course</label><select id="course" name="course"><option value="">any</option>${courses.map((course) => html`<option value="${course.slug}"${selected(course.slug === query.data.course)}>${course.title}</option>`)}</select></div>
      <div class="admin-field"><label for="status">Status</label><select id="status" name="status"><option value="">any</option>${PURCHASE_STATUSES.map((status) => html`<option${selected(status === query.data.status)}>${status}</option>`)}</select></div>
      <div class="admin-field"><label for="from">From</label><input id="from" name="from" type="date" value="${query.data.from ?? ''}" /></div>
      <div class="admin-field"><label for="to">To</label><input id="to" name="to" type="date" value="${query.data.to ?? ''}" /></div>
      <button class="button" type="submit">Filter</button>
    </form>
    <p>${total} purchase${total === 1 ? '' : 's'}. <a href="/admin/purchases.csv${filters.size ? `?${filters}` : ''}" download>Download as CSV</a> (the same filters, every page)</p>
    ${table('purchase-list', 'Purchases and grants, newest first (dates in UTC)', PURCHASE_HEAD, purchaseRows(rows), 'No purchase matches.')}
    ${pager(url, page, pages)}`,
  });
}

// ---------------------------------------------------------------------------------------------

export async function coursesPage(ctx: AppContext, url: URL): Promise<Response> {
  const [courses, sync] = await Promise.all([courseOverview(ctx.db), latestContentSync(ctx.db)]);
  return adminPage(ctx, {
    title: 'Courses',
    section: 'courses',
    url,
    main: html`<p>The store holds every course the content sync ever wrote from git: a course removed from git or
      unpublished there is kept as <em>unpublished</em> (nobody can buy it; its members keep their progress).
      The store follows git when the content sync runs after each build you deploy.</p>
    ${syncSummary(sync)}
    ${coursesTable(courses)}`,
  });
}

export async function coursePage(ctx: AppContext, url: URL, slug: string): Promise<Response | null> {
  const [course] = await courseOverview(ctx.db, slug);
  if (!course) return null;
  const [lessons, waitlist] = await Promise.all([courseLessons(ctx.db, slug), courseWaitlist(ctx.db, slug)]);
  return adminPage(ctx, {
    title: course.title,
    section: 'courses',
    url,
    main: html`<dl class="admin-facts">
      <dt>Address</dt><dd>${course.published ? html`<a href="/courses/${course.slug}/">/courses/${course.slug}/</a>` : html`/courses/${course.slug}/ (unpublished)`}</dd>
      <dt>Price</dt><dd>${money(course.priceMinor, course.currency)}${course.comingSoon && ', coming soon (not on sale)'}${course.saleEndsAt !== null && html`, sale ends ${when(course.saleEndsAt)}`}</dd>
      <dt>Buyers</dt><dd>${course.buyers} (${course.withAccess} can read it now; <a href="/admin/purchases?course=${course.slug}">purchases</a>)</dd>
      <dt>Completed</dt><dd>${completion(course)}</dd>
      <dt>Synced</dt><dd>${when(course.updatedAt)}</dd>
    </dl>
    ${table(
      'lessons',
      'Lessons in the store',
      ['#', 'Lesson', 'State', 'Completed by', 'Synced'],
      lessons.map(
        (lesson) => html`<tr><td>${lesson.position}</td><th scope="row">${lesson.title}<br /><small>${lesson.slug}</small></th><td>${lesson.published ? (lesson.preview ? 'published, free preview' : 'published') : 'unpublished'}</td><td class="num">${lesson.completions}</td><td>${when(lesson.updatedAt)}</td></tr>`,
      ),
      'No lessons.',
    )}
    ${table(
      'waitlist',
      `Waitlist (${waitlist.length})`,
      ['Email', 'Since'],
      waitlist.map((entry) => html`<tr><td>${entry.email}</td><td>${when(entry.createdAt)}</td></tr>`),
      'Nobody is on the waitlist of this course.',
    )}`,
  });
}

// ---------------------------------------------------------------------------------------------

export async function auditPage(ctx: AppContext, url: URL): Promise<Response> {
  const query = pageQuery.safeParse(queryFields(url));
  if (!query.success) return badRequest(ctx, url, 'audit', 'That page number is not valid.', '/admin/audit');
  const total = await countAudit(ctx.db);
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const page = Math.min(query.data.page ?? 1, pages);
  const rows = await listAudit(ctx.db, { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });
  return adminPage(ctx, {
    title: 'Audit log',
    section: 'audit',
    url,
    main: html`<p>Every change made by hand, on these pages (<em>web</em>) or with <code>npm run admin</code> (<em>cli</em>), newest first.</p>
    ${auditTable('audit', `Admin actions (${total})`, rows)}
    ${pager(url, page, pages)}`,
  });
}
