// The queries: everything the admin reads, never writes. Sales per course and month, refunds and
// disputes, the store's courses against the last content sync, one member's purchases, ledger and
// progress, the lists of members and purchases, and the audit log. What changes the store is in
// commands.ts. Free of Node and Astro (the pages run on both targets). Money is kept per
// currency: an amount is never added to one in another currency.
import { sql, type SQL } from 'drizzle-orm';
import { hasAccessSql, latestActionSql, stateOf, type AccessAction, type AccessState } from '../access/ledger.ts';
import type { Db } from '../context.ts';

/**
 * The tax a purchase still holds: a refund gives back its share of the tax (Stripe reverses the
 * tax of a refunded amount in proportion), so the tax kept is the tax times the part not refunded.
 * One rule, used by every report: revenue is what was charged, less refunds, less this.
 */
const TAX_KEPT: SQL = sql`(CASE WHEN p.amount_minor > 0 THEN round(p.tax_minor * (p.amount_minor - p.amount_refunded_minor) * 1.0 / p.amount_minor) ELSE 0 END)`;

/** A month of one course's sales in one currency. Refunds count in the month of the purchase. */
export type RevenueRow = {
  month: string;
  courseSlug: string;
  courseTitle: string | null;
  currency: string;
  purchases: number;
  chargedMinor: number;
  refundedMinor: number;
  /** Tax collected and kept (not refunded), which the author owes to the tax offices. */
  taxMinor: number;
};

/** Paid purchases (source `stripe`) grouped by month (UTC), course and currency, newest month first. */
export async function revenueByMonth(db: Db): Promise<RevenueRow[]> {
  const rows = await db.all<{
    month: string;
    course_slug: string;
    title: string | null;
    currency: string;
    purchases: number;
    charged: number;
    refunded: number;
    tax: number;
  }>(
    sql`SELECT strftime('%Y-%m', p.created_at / 1000, 'unixepoch') AS month, p.course_slug, c.title, p.currency,
        count(*) AS purchases, sum(p.amount_minor) AS charged, sum(p.amount_refunded_minor) AS refunded, sum(${TAX_KEPT}) AS tax
      FROM purchases p LEFT JOIN courses c ON c.slug = p.course_slug
      WHERE p.source = 'stripe'
      GROUP BY month, p.course_slug, p.currency
      ORDER BY month DESC, coalesce(c.position, 1e9), p.course_slug, p.currency`,
  );
  return rows.map((row) => ({
    month: row.month,
    courseSlug: row.course_slug,
    courseTitle: row.title,
    currency: row.currency,
    purchases: Number(row.purchases),
    chargedMinor: Number(row.charged),
    refundedMinor: Number(row.refunded),
    taxMinor: Number(row.tax),
  }));
}

/** What the author keeps of sales: charged, less refunds, less the tax collected. */
export function revenueNetOfTax(row: { chargedMinor: number; refundedMinor: number; taxMinor: number }): number {
  return row.chargedMinor - row.refundedMinor - row.taxMinor;
}

export type CurrencyTotal = {
  currency: string;
  purchases: number;
  chargedMinor: number;
  refundedMinor: number;
  taxMinor: number;
  /** Purchases whose payment is disputed now (Stripe holds the money until it decides). */
  openDisputes: number;
  openDisputedMinor: number;
  disputesLost: number;
};

/** All-time totals of paid purchases per currency. */
export async function totalsByCurrency(db: Db): Promise<CurrencyTotal[]> {
  const rows = await db.all<{
    currency: string;
    purchases: number;
    charged: number;
    refunded: number;
    tax: number;
    open: number;
    open_amount: number;
    lost: number;
  }>(
    sql`SELECT p.currency, count(*) AS purchases, sum(p.amount_minor) AS charged, sum(p.amount_refunded_minor) AS refunded, sum(${TAX_KEPT}) AS tax,
        sum(p.status = 'disputed') AS open, sum(CASE WHEN p.status = 'disputed' THEN p.amount_minor ELSE 0 END) AS open_amount,
        sum(p.status = 'dispute_lost') AS lost
      FROM purchases p WHERE p.source = 'stripe' GROUP BY p.currency ORDER BY p.currency`,
  );
  return rows.map((row) => ({
    currency: row.currency,
    purchases: Number(row.purchases),
    chargedMinor: Number(row.charged),
    refundedMinor: Number(row.refunded),
    taxMinor: Number(row.tax),
    openDisputes: Number(row.open),
    openDisputedMinor: Number(row.open_amount),
    disputesLost: Number(row.lost),
  }));
}

/** Sales per currency and the country their tax was computed for (none: sold without tax). */
export type TaxCountryRow = { currency: string; country: string | null; purchases: number; chargedMinor: number; refundedMinor: number; taxMinor: number };

/** All-time paid purchases per currency and tax country: what a tax return asks for. */
export async function taxByCountry(db: Db): Promise<TaxCountryRow[]> {
  const rows = await db.all<{ currency: string; country: string | null; purchases: number; charged: number; refunded: number; tax: number }>(
    sql`SELECT p.currency, p.tax_country AS country, count(*) AS purchases, sum(p.amount_minor) AS charged,
        sum(p.amount_refunded_minor) AS refunded, sum(${TAX_KEPT}) AS tax
      FROM purchases p WHERE p.source = 'stripe'
      GROUP BY p.currency, p.tax_country ORDER BY p.currency, p.tax_country IS NULL, p.tax_country`,
  );
  return rows.map((row) => ({
    currency: row.currency,
    country: row.country,
    purchases: Number(row.purchases),
    chargedMinor: Number(row.charged),
    refundedMinor: Number(row.refunded),
    taxMinor: Number(row.tax),
  }));
}

export type MemberCounts = { accounts: number; admins: number; withAccess: number };

export async function memberCounts(db: Db): Promise<MemberCounts> {
  const [row] = await db.all<{ accounts: number; admins: number; with_access: number }>(
    sql`SELECT count(*) AS accounts, sum(role = 'admin') AS admins,
        (SELECT count(DISTINCT p.user_id) FROM purchases p WHERE (SELECT l.action FROM access_ledger l WHERE l.purchase_id = p.id ORDER BY l.seq DESC LIMIT 1) IN ('grant', 'restore')) AS with_access
      FROM users`,
  );
  return { accounts: Number(row?.accounts ?? 0), admins: Number(row?.admins ?? 0), withAccess: Number(row?.with_access ?? 0) };
}

export type ContentSync = { finishedAt: number; written: number; summary: Record<string, unknown> | null };

/** The latest content sync that changed something (an unchanged bundle writes no row). */
export async function latestContentSync(db: Db): Promise<ContentSync | null> {
  const [row] = await db.all<{ finished_at: number; written: number; summary: string }>(
    sql`SELECT finished_at, written, summary FROM content_syncs ORDER BY finished_at DESC, id DESC LIMIT 1`,
  );
  if (!row) return null;
  let summary: Record<string, unknown> | null = null;
  try {
    const parsed: unknown = JSON.parse(row.summary);
    if (parsed && typeof parsed === 'object') summary = parsed as Record<string, unknown>;
  } catch {
    // A summary the page cannot read is shown as missing rather than failing the dashboard.
  }
  return { finishedAt: Number(row.finished_at), written: Number(row.written), summary };
}

export type CourseOverview = {
  slug: string;
  title: string;
  published: boolean;
  comingSoon: boolean;
  priceMinor: number;
  currency: string;
  saleEndsAt: number | null;
  updatedAt: number;
  lessonsPublished: number;
  lessonsUnpublished: number;
  /** Members with a Stripe purchase of the course, whatever became of it. */
  buyers: number;
  /** Members who may read it now (purchases and grants). */
  withAccess: number;
  /** Of those, members who completed every published lesson. */
  completed: number;
  waitlist: number;
};

/** Every course the store holds (published or not), in catalogue order, with its numbers. */
export async function courseOverview(db: Db, slug?: string): Promise<CourseOverview[]> {
  const rows = await db.all<{
    slug: string;
    title: string;
    published: number;
    coming_soon: number;
    price_minor: number;
    currency: string;
    sale_ends_at: number | null;
    updated_at: number;
    lessons_published: number;
    lessons_unpublished: number;
    buyers: number;
    with_access: number;
    completed: number;
    waitlist: number;
  }>(sql`SELECT c.slug, c.title, c.published, c.coming_soon, c.price_minor, c.currency, c.sale_ends_at, c.updated_at,
      (SELECT count(*) FROM lessons l WHERE l.course_slug = c.slug AND l.published = 1) AS lessons_published,
      (SELECT count(*) FROM lessons l WHERE l.course_slug = c.slug AND l.published = 0) AS lessons_unpublished,
      (SELECT count(DISTINCT p.user_id) FROM purchases p WHERE p.course_slug = c.slug AND p.source = 'stripe') AS buyers,
      (SELECT count(*) FROM users u WHERE ${hasAccessSql(sql`u.id`, sql`c.slug`)}) AS with_access,
      (SELECT count(*) FROM users u WHERE ${hasAccessSql(sql`u.id`, sql`c.slug`)}
        AND EXISTS (SELECT 1 FROM lessons l WHERE l.course_slug = c.slug AND l.published = 1)
        AND NOT EXISTS (SELECT 1 FROM lessons l WHERE l.course_slug = c.slug AND l.published = 1
          AND NOT EXISTS (SELECT 1 FROM lesson_progress lp WHERE lp.user_id = u.id AND lp.course_slug = c.slug AND lp.lesson_slug = l.slug))) AS completed,
      (SELECT count(*) FROM course_waitlist w WHERE w.course_slug = c.slug) AS waitlist
    FROM courses c ${slug === undefined ? sql`` : sql`WHERE c.slug = ${slug}`}
    ORDER BY c.position, c.slug`);
  return rows.map((row) => ({
    slug: row.slug,
    title: row.title,
    published: Boolean(row.published),
    comingSoon: Boolean(row.coming_soon),
    priceMinor: Number(row.price_minor),
    currency: row.currency,
    saleEndsAt: row.sale_ends_at === null ? null : Number(row.sale_ends_at),
    updatedAt: Number(row.updated_at),
    lessonsPublished: Number(row.lessons_published),
    lessonsUnpublished: Number(row.lessons_unpublished),
    buyers: Number(row.buyers),
    withAccess: Number(row.with_access),
    completed: Number(row.completed),
    waitlist: Number(row.waitlist),
  }));
}

export type LessonOverview = { slug: string; title: string; position: number; preview: boolean; published: boolean; updatedAt: number; completions: number };

export async function courseLessons(db: Db, courseSlug: string): Promise<LessonOverview[]> {
  const rows = await db.all<{ slug: string; title: string; position: number; preview: number; published: number; updated_at: number; completions: number }>(
    sql`SELECT l.slug, l.title, l.position, l.preview, l.published, l.updated_at,
        (SELECT count(*) FROM lesson_progress lp WHERE lp.course_slug = l.course_slug AND lp.lesson_slug = l.slug) AS completions
      FROM lessons l WHERE l.course_slug = ${courseSlug} ORDER BY l.published DESC, l.position, l.slug`,
  );
  return rows.map((row) => ({
    slug: row.slug,
    title: row.title,
    position: Number(row.position),
    preview: Boolean(row.preview),
    published: Boolean(row.published),
    updatedAt: Number(row.updated_at),
    completions: Number(row.completions),
  }));
}

export type WaitlistEntry = { email: string; createdAt: number };

export async function courseWaitlist(db: Db, courseSlug: string): Promise<WaitlistEntry[]> {
  const rows = await db.all<{ email: string; created_at: number }>(
    sql`SELECT email, created_at FROM course_waitlist WHERE course_slug = ${courseSlug} ORDER BY created_at, id`,
  );
  return rows.map((row) => ({ email: row.email, createdAt: Number(row.created_at) }));
}

export type MemberDetail = {
  id: number;
  email: string;
  role: 'member' | 'admin';
  hasPassword: boolean;
  emailVerifiedAt: number | null;
  createdAt: number;
};

export async function getMemberDetail(db: Db, userId: number): Promise<MemberDetail | null> {
  const [row] = await db.all<{
    id: number;
    email: string;
    role: 'member' | 'admin';
    has_password: number;
    email_verified_at: number | null;
    created_at: number;
  }>(sql`SELECT id, email, role, password_hash IS NOT NULL AS has_password, email_verified_at, created_at FROM users WHERE id = ${userId}`);
  if (!row) return null;
  return {
    id: Number(row.id),
    email: row.email,
    role: row.role,
    hasPassword: Boolean(row.has_password),
    emailVerifiedAt: row.email_verified_at === null ? null : Number(row.email_verified_at),
    createdAt: Number(row.created_at),
  };
}

export type LedgerRow = {
  purchaseId: number;
  seq: number;
  courseSlug: string;
  action: AccessAction;
  reason: string;
  stripeObjectId: string | null;
  actorEmail: string | null;
  note: string | null;
  createdAt: number;
};

/** Every access ledger entry of a member, by purchase and in order. */
export async function memberLedger(db: Db, userId: number): Promise<LedgerRow[]> {
  const rows = await db.all<{
    purchase_id: number;
    seq: number;
    course_slug: string;
    action: AccessAction;
    reason: string;
    stripe_object_id: string | null;
    actor_email: string | null;
    note: string | null;
    created_at: number;
  }>(sql`SELECT l.purchase_id, l.seq, l.course_slug, l.action, l.reason, l.stripe_object_id, actor.email AS actor_email, l.note, l.created_at
    FROM access_ledger l LEFT JOIN users actor ON actor.id = l.actor_user_id
    WHERE l.user_id = ${userId} ORDER BY l.created_at, l.purchase_id, l.seq`);
  return rows.map((row) => ({
    purchaseId: Number(row.purchase_id),
    seq: Number(row.seq),
    courseSlug: row.course_slug,
    action: row.action,
    reason: row.reason,
    stripeObjectId: row.stripe_object_id,
    actorEmail: row.actor_email,
    note: row.note,
    createdAt: Number(row.created_at),
  }));
}

export type MemberProgress = { courseSlug: string; title: string | null; completed: number; total: number; hasAccess: boolean };

/**
 * Progress in every course the member has a purchase of or a completed lesson in, including
 * courses taken away (their progress is kept), against the course's published lessons.
 */
export async function memberProgress(db: Db, userId: number): Promise<MemberProgress[]> {
  const rows = await db.all<{ course_slug: string; title: string | null; completed: number; total: number; has_access: number }>(
    sql`SELECT k.course_slug, c.title,
        (SELECT count(*) FROM lesson_progress lp JOIN lessons l ON l.course_slug = lp.course_slug AND l.slug = lp.lesson_slug AND l.published = 1
          WHERE lp.user_id = ${userId} AND lp.course_slug = k.course_slug) AS completed,
        (SELECT count(*) FROM lessons l WHERE l.course_slug = k.course_slug AND l.published = 1) AS total,
        ${hasAccessSql(userId, sql`k.course_slug`)} AS has_access
      FROM (SELECT course_slug FROM purchases WHERE user_id = ${userId} UNION SELECT course_slug FROM lesson_progress WHERE user_id = ${userId}) k
      LEFT JOIN courses c ON c.slug = k.course_slug
      ORDER BY coalesce(c.position, 1e9), k.course_slug`,
  );
  return rows.map((row) => ({
    courseSlug: row.course_slug,
    title: row.title,
    completed: Number(row.completed),
    total: Number(row.total),
    hasAccess: Boolean(row.has_access),
  }));
}

// ---------------------------------------------------------------------------------------------
// Lists: members, courses and purchases, filtered and paged

export type CourseSummary = { slug: string; title: string; published: boolean };

/** The store's courses (written by the content sync), in catalogue order. */
export async function listCourses(db: Db): Promise<CourseSummary[]> {
  const rows = await db.all<{ slug: string; title: string; published: number }>(sql`SELECT slug, title, published FROM courses ORDER BY position, slug`);
  return rows.map((row) => ({ slug: row.slug, title: row.title, published: Boolean(row.published) }));
}

export type UserSummary = {
  id: number;
  email: string;
  role: 'member' | 'admin';
  hasPassword: boolean;
  emailVerified: boolean;
  createdAt: number;
  /** Courses the member may read now. */
  activeCourses: number;
  /** Purchases and grants, whatever their state. */
  purchases: number;
};

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

function userConditions(options: { search?: string; role?: 'member' | 'admin' }): SQL {
  const conditions: SQL[] = [];
  if (options.search) conditions.push(sql`u.email LIKE ${likePattern(options.search.trim().toLowerCase())} ESCAPE '\\'`);
  if (options.role) conditions.push(sql`u.role = ${options.role}`);
  return conditions.length ? sql`WHERE ${sql.join(conditions, sql` AND `)}` : sql``;
}

/** How many accounts match, for paging. */
export async function countUsers(db: Db, options: { search?: string; role?: 'member' | 'admin' } = {}): Promise<number> {
  const [row] = await db.all<{ n: number }>(sql`SELECT count(*) AS n FROM users u ${userConditions(options)}`);
  return Number(row?.n ?? 0);
}

/** Members, oldest first; `search` matches part of the email (case-insensitive). */
export async function listUsers(db: Db, options: { search?: string; role?: 'member' | 'admin'; limit?: number; offset?: number } = {}): Promise<UserSummary[]> {
  const rows = await db.all<{
    id: number;
    email: string;
    role: 'member' | 'admin';
    has_password: number;
    verified: number;
    created_at: number;
    active: number;
    purchases: number;
  }>(sql`SELECT u.id, u.email, u.role, u.password_hash IS NOT NULL AS has_password, u.email_verified_at IS NOT NULL AS verified, u.created_at,
      (SELECT count(DISTINCT p.course_slug) FROM purchases p WHERE p.user_id = u.id AND ${latestActionSql(sql`p.id`)} IN ('grant', 'restore')) AS active,
      (SELECT count(*) FROM purchases p WHERE p.user_id = u.id) AS purchases
    FROM users u
    ${userConditions(options)}
    ORDER BY u.id LIMIT ${options.limit ?? -1} OFFSET ${options.offset ?? 0}`);
  return rows.map((row) => ({
    id: Number(row.id),
    email: row.email,
    role: row.role,
    hasPassword: Boolean(row.has_password),
    emailVerified: Boolean(row.verified),
    createdAt: Number(row.created_at),
    activeCourses: Number(row.active),
    purchases: Number(row.purchases),
  }));
}

export type PurchaseSummary = {
  id: number;
  createdAt: number;
  userId: number;
  email: string;
  courseSlug: string;
  /** Null when the store has no such course (not synced yet). */
  courseTitle: string | null;
  source: 'stripe' | 'grant';
  /** Stripe's view of the money (paid, refunded, ...) or `granted`. */
  status: string;
  /** What the purchase gives now, from its latest ledger entry. */
  access: AccessState;
  /** The reason of the latest ledger entry (purchase, refund, gift, ...). */
  accessReason: string | null;
  amountMinor: number;
  amountRefundedMinor: number;
  currency: string;
  /** Tax in the amount, its country, the buyer's tax IDs and Stripe's invoice (see the purchases table). */
  taxMinor: number;
  taxCountry: string | null;
  buyerTaxIds: string | null;
  invoiceId: string | null;
  checkoutSessionId: string | null;
  paymentIntentId: string | null;
  livemode: boolean;
};

/** Which purchases a list shows; every field is optional and they combine with AND. */
export type PurchaseFilter = {
  course?: string;
  email?: string;
  userId?: number;
  /** Stripe's status, or `granted` for grants. */
  status?: string;
  /** Created at or after (ms). */
  from?: number;
  /** Created before (ms). */
  before?: number;
};

function purchaseConditions(filter: PurchaseFilter): SQL {
  const conditions: SQL[] = [];
  if (filter.course) conditions.push(sql`p.course_slug = ${filter.course}`);
  if (filter.email) conditions.push(sql`u.email = ${filter.email.trim().toLowerCase()}`);
  if (filter.userId !== undefined) conditions.push(sql`p.user_id = ${filter.userId}`);
  if (filter.status) conditions.push(sql`p.status = ${filter.status}`);
  if (filter.from !== undefined) conditions.push(sql`p.created_at >= ${filter.from}`);
  if (filter.before !== undefined) conditions.push(sql`p.created_at < ${filter.before}`);
  return conditions.length ? sql`WHERE ${sql.join(conditions, sql` AND `)}` : sql``;
}

/** How many purchases match, for paging. */
export async function countPurchases(db: Db, filter: PurchaseFilter = {}): Promise<number> {
  const [row] = await db.all<{ n: number }>(sql`SELECT count(*) AS n FROM purchases p JOIN users u ON u.id = p.user_id ${purchaseConditions(filter)}`);
  return Number(row?.n ?? 0);
}

/** Purchases and grants, oldest first (or newest first), optionally filtered. */
export async function listPurchases(
  db: Db,
  options: PurchaseFilter & { limit?: number; offset?: number; newestFirst?: boolean } = {},
): Promise<PurchaseSummary[]> {
  const rows = await db.all<{
    id: number;
    created_at: number;
    user_id: number;
    email: string;
    course_slug: string;
    title: string | null;
    source: 'stripe' | 'grant';
    status: string;
    action: AccessAction | null;
    reason: string | null;
    amount_minor: number;
    amount_refunded_minor: number;
    currency: string;
    tax_minor: number;
    tax_country: string | null;
    buyer_tax_ids: string | null;
    invoice_id: string | null;
    checkout_session_id: string | null;
    payment_intent_id: string | null;
    livemode: number;
  }>(sql`SELECT p.id, p.created_at, p.user_id, u.email, p.course_slug, c.title, p.source, p.status,
      l.action, l.reason, p.amount_minor, p.amount_refunded_minor, p.currency, p.tax_minor, p.tax_country, p.buyer_tax_ids, p.invoice_id,
      p.checkout_session_id, p.payment_intent_id, p.livemode
    FROM purchases p
    JOIN users u ON u.id = p.user_id
    LEFT JOIN courses c ON c.slug = p.course_slug
    LEFT JOIN access_ledger l ON l.purchase_id = p.id AND l.seq = (SELECT max(seq) FROM access_ledger WHERE purchase_id = p.id)
    ${purchaseConditions(options)}
    ORDER BY ${options.newestFirst ? sql`p.created_at DESC, p.id DESC` : sql`p.created_at, p.id`} LIMIT ${options.limit ?? -1} OFFSET ${options.offset ?? 0}`);
  return rows.map((row) => ({
    id: Number(row.id),
    createdAt: Number(row.created_at),
    userId: Number(row.user_id),
    email: row.email,
    courseSlug: row.course_slug,
    courseTitle: row.title,
    source: row.source,
    status: row.status,
    access: stateOf(row.action),
    accessReason: row.reason,
    amountMinor: Number(row.amount_minor),
    amountRefundedMinor: Number(row.amount_refunded_minor),
    currency: row.currency,
    taxMinor: Number(row.tax_minor),
    taxCountry: row.tax_country,
    buyerTaxIds: row.buyer_tax_ids,
    invoiceId: row.invoice_id,
    checkoutSessionId: row.checkout_session_id,
    paymentIntentId: row.payment_intent_id,
    livemode: Boolean(row.livemode),
  }));
}

// ---------------------------------------------------------------------------------------------
// The audit log

export type AuditRow = {
  id: number;
  createdAt: number;
  via: string;
  action: string;
  actorEmail: string | null;
  subjectEmail: string | null;
  courseSlug: string | null;
  reason: string | null;
  detail: string | null;
};

/** How many audit rows there are, for paging. */
export async function countAudit(db: Db): Promise<number> {
  const [row] = await db.all<{ n: number }>(sql`SELECT count(*) AS n FROM audit_log`);
  return Number(row?.n ?? 0);
}

/** The newest audit rows first, optionally about one member. */
export async function listAudit(db: Db, options: { subjectUserId?: number; limit?: number; offset?: number } = {}): Promise<AuditRow[]> {
  const rows = await db.all<{
    id: number;
    created_at: number;
    via: string;
    action: string;
    actor_email: string | null;
    subject_email: string | null;
    course_slug: string | null;
    reason: string | null;
    detail: string | null;
  }>(sql`SELECT a.id, a.created_at, a.via, a.action, actor.email AS actor_email, subject.email AS subject_email, a.course_slug, a.reason, a.detail
    FROM audit_log a
    LEFT JOIN users actor ON actor.id = a.actor_user_id
    LEFT JOIN users subject ON subject.id = a.subject_user_id
    ${options.subjectUserId ? sql`WHERE a.subject_user_id = ${options.subjectUserId}` : sql``}
    ORDER BY a.id DESC LIMIT ${options.limit ?? 100} OFFSET ${options.offset ?? 0}`);
  return rows.map((row) => ({
    id: Number(row.id),
    createdAt: Number(row.created_at),
    via: row.via,
    action: row.action,
    actorEmail: row.actor_email,
    subjectEmail: row.subject_email,
    courseSlug: row.course_slug,
    reason: row.reason,
    detail: row.detail,
  }));
}
