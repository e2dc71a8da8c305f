// A JSON snapshot of what the store knows about people: accounts, purchases, the access ledger and
// lesson progress. For moving a site to another store (a file to a libSQL server, to D1) and for
// a copy that outlives the store's format. Courses and lessons are not in it: the content sync
// writes them from git. Tokens, rate limits and handled Stripe events are transient.
//
// Importing never changes or deletes a row the store has: it adds what is missing, matched by
// natural keys (an account's email; a purchase's Checkout Session id, or for a grant its member,
// course and time; a ledger entry's purchase and position; progress's member, course and lesson),
// so importing the same snapshot twice adds nothing the second time.
import { asc, eq, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import { z } from 'zod';
import { insertPurchaseSql } from '../access/ledger.ts';
import { rowsAffected } from '../db/results.ts';
import { normaliseEmail } from '../auth/credentials.ts';
import type { Db } from '../context.ts';
import { KNOWN_MIGRATIONS, LATEST_MIGRATION } from '../db/migrations.ts';
import { accessLedger, courseWaitlist, lessonProgress, purchases, users } from '../db/schema.ts';
import { auditSql, runBatch, type AdminActor, type AdminContext } from '../admin/audit.ts';

export const SNAPSHOT_FORMAT = 'course-store-snapshot';
export const SNAPSHOT_VERSION = 1;

/** The store schema this build writes and reads: the tag of its latest migration. */
export const SNAPSHOT_SCHEMA = LATEST_MIGRATION.tag;

/** The number a migration tag starts with ("0002_roles_and_audit" is 2), or null. */
function migrationNumber(tag: string): number | null {
  const match = /^(\d{4,})_/.exec(tag);
  return match ? Number(match[1]) : null;
}

const email = z.string().min(3).max(254).transform(normaliseEmail);
const time = z.number().int();

const userSchema = z.object({
  /** The id in the exporting store: kept on import when it is free, so session cookies stay valid. */
  id: z.number().int().positive(),
  email,
  passwordHash: z.string().nullable(),
  role: z.enum(['member', 'admin']).default('member'),
  sessionVersion: z.number().int().min(1).default(1),
  emailVerifiedAt: time.nullable().default(null),
  /** The Checkout Session whose fulfilment created the account; snapshots older than 0004 have none. */
  createdByCheckout: z.string().nullable().default(null),
  createdAt: time,
  updatedAt: time,
});

const purchaseSchema = z.object({
  /** The id in the exporting store: what ledger entries of the snapshot refer to. */
  id: z.number().int().positive(),
  user: email,
  courseSlug: z.string().min(1),
  source: z.enum(['stripe', 'grant']),
  checkoutSessionId: z.string().nullable(),
  paymentIntentId: z.string().nullable(),
  amountMinor: z.number().int(),
  currency: z.string(),
  amountRefundedMinor: z.number().int().default(0),
  status: z.string(),
  createdUser: z.boolean().default(false),
  /** Opens once the address is verified (0005); older snapshots' purchases counted without. */
  requiresVerifiedEmail: z.boolean().default(false),
  livemode: z.boolean().default(false),
  /** Tax, invoice and consent (0007); older snapshots' purchases were sold without tax. */
  subtotalMinor: z.number().int().nullable().default(null),
  taxMinor: z.number().int().default(0),
  taxCountry: z.string().nullable().default(null),
  buyerTaxIds: z.string().nullable().default(null),
  invoiceId: z.string().nullable().default(null),
  invoiceUrl: z.string().nullable().default(null),
  invoicePdfUrl: z.string().nullable().default(null),
  creditNotes: z.string().nullable().default(null),
  consentGiven: z.boolean().default(false),
  createdAt: time,
  updatedAt: time,
});

/**
 * A purchase's own fields, named the same in a snapshot and in the store: all of the snapshot's
 * but its id in the exporting store and its buyer's address. Export and import both pick them
 * here, so a new purchase column is one line of the schema above.
 */
type PurchaseFields = Omit<z.infer<typeof purchaseSchema>, 'id' | 'user'>;
const PURCHASE_FIELDS = Object.keys(purchaseSchema.shape).filter((key) => key !== 'id' && key !== 'user') as (keyof PurchaseFields)[];
const purchaseFieldsOf = (purchase: PurchaseFields): PurchaseFields =>
  Object.fromEntries(PURCHASE_FIELDS.map((field) => [field, purchase[field]])) as PurchaseFields;

const ledgerSchema = z.object({
  purchase: z.number().int().positive(),
  seq: z.number().int().positive(),
  action: z.enum(['grant', 'revoke', 'suspend', 'restore']),
  reason: z.string(),
  stripeObjectId: z.string().nullable().default(null),
  stripeEventId: z.string().nullable().default(null),
  /** The admin who made the entry, by email. */
  actor: email.nullable().default(null),
  note: z.string().nullable().default(null),
  createdAt: time,
});

const progressSchema = z.object({ user: email, courseSlug: z.string().min(1), lessonSlug: z.string().min(1), completedAt: time });

const snapshotSchema = z.object({
  format: z.literal(SNAPSHOT_FORMAT),
  version: z.literal(SNAPSHOT_VERSION),
  schema: z.string(),
  exportedAt: z.string(),
  users: z.array(userSchema),
  purchases: z.array(purchaseSchema),
  ledger: z.array(ledgerSchema),
  progress: z.array(progressSchema),
  /** "Notify me" sign-ups of coming-soon courses; snapshots made before the waitlist have none. */
  waitlist: z.array(z.object({ courseSlug: z.string().min(1), email, createdAt: time })).default([]),
});

export type Snapshot = z.infer<typeof snapshotSchema>;

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

/** Reads every row of people's tables in one read transaction, so the copy is consistent. */
export async function exportSnapshot(db: Db, now: number): Promise<Snapshot> {
  const actors = alias(users, 'actors');
  const [userRows, purchaseRows, ledgerRows, progressRows, waitlistRows] = await db.batch([
    db.select().from(users).orderBy(asc(users.id)),
    db.select({ purchase: purchases, user: users.email }).from(purchases).innerJoin(users, eq(users.id, purchases.userId)).orderBy(asc(purchases.id)),
    db
      .select({ entry: accessLedger, actor: actors.email })
      .from(accessLedger)
      .leftJoin(actors, eq(actors.id, accessLedger.actorUserId))
      .orderBy(asc(accessLedger.purchaseId), asc(accessLedger.seq)),
    db
      .select({ progress: lessonProgress, user: users.email })
      .from(lessonProgress)
      .innerJoin(users, eq(users.id, lessonProgress.userId))
      .orderBy(asc(lessonProgress.userId), asc(lessonProgress.courseSlug), asc(lessonProgress.lessonSlug)),
    db.select().from(courseWaitlist).orderBy(asc(courseWaitlist.id)),
  ]);
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    schema: SNAPSHOT_SCHEMA,
    exportedAt: new Date(now).toISOString(),
    users: userRows.map((user) => ({
      id: user.id,
      email: user.email,
      passwordHash: user.passwordHash,
      role: user.role,
      sessionVersion: user.sessionVersion,
      emailVerifiedAt: user.emailVerifiedAt,
      createdByCheckout: user.createdByCheckout,
      createdAt: user.createdAt,
      updatedAt: user.updatedAt,
    })),
    purchases: purchaseRows.map(({ purchase, user }) => ({
      id: purchase.id,
      user,
      ...purchaseFieldsOf(purchase),
    })),
    ledger: ledgerRows.map(({ entry, actor }) => ({
      purchase: entry.purchaseId,
      seq: entry.seq,
      action: entry.action,
      reason: entry.reason,
      stripeObjectId: entry.stripeObjectId,
      stripeEventId: entry.stripeEventId,
      actor,
      note: entry.note,
      createdAt: entry.createdAt,
    })),
    progress: progressRows.map(({ progress, user }) => ({
      user,
      courseSlug: progress.courseSlug,
      lessonSlug: progress.lessonSlug,
      completedAt: progress.completedAt,
    })),
    waitlist: waitlistRows.map((row) => ({ courseSlug: row.courseSlug, email: row.email, createdAt: row.createdAt })),
  };
}

/**
 * Checks a parsed JSON value is a snapshot this build can import. Refuses, with a message that
 * says what to do, another format, a newer format version, and a snapshot of a newer schema (made
 * by a newer version of the site: upgrade this one first).
 */
export function parseSnapshot(value: unknown): Snapshot {
  const head = z.object({ format: z.unknown(), version: z.unknown(), schema: z.unknown() }).safeParse(value);
  if (!head.success || head.data.format !== SNAPSHOT_FORMAT)
    throw new SnapshotError(`This is not a course store snapshot (no "format": "${SNAPSHOT_FORMAT}").`);
  if (typeof head.data.version !== 'number' || head.data.version > SNAPSHOT_VERSION) {
    throw new SnapshotError(
      `The snapshot has format version ${String(head.data.version)}; this site reads version ${SNAPSHOT_VERSION}. Upgrade the site before importing it.`,
    );
  }
  const schema = typeof head.data.schema === 'string' ? head.data.schema : '';
  const number = migrationNumber(schema);
  if (number === null) throw new SnapshotError(`The snapshot names no store schema ("schema": "${schema}").`);
  const known = KNOWN_MIGRATIONS.includes(schema);
  if (number > (migrationNumber(SNAPSHOT_SCHEMA) ?? 0) || (!known && number === migrationNumber(SNAPSHOT_SCHEMA))) {
    throw new SnapshotError(
      `The snapshot was made with a newer store schema (${schema}) than this site knows (${SNAPSHOT_SCHEMA}). Upgrade the site before importing it.`,
    );
  }
  if (!known) throw new SnapshotError(`The snapshot's store schema ${schema} is not one this site knows.`);
  const parsed = snapshotSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SnapshotError(`The snapshot is damaged at ${issue.path.join('.') || 'the top'}: ${issue.message}`);
  }
  const purchaseIds = new Set(parsed.data.purchases.map((purchase) => purchase.id));
  const emails = new Set(parsed.data.users.map((user) => user.email));
  for (const purchase of parsed.data.purchases)
    if (!emails.has(purchase.user)) throw new SnapshotError(`Purchase ${purchase.id} belongs to ${purchase.user}, who is not in the snapshot.`);
  for (const entry of parsed.data.ledger)
    if (!purchaseIds.has(entry.purchase)) throw new SnapshotError(`A ledger entry refers to purchase ${entry.purchase}, which is not in the snapshot.`);
  for (const row of parsed.data.progress) if (!emails.has(row.user)) throw new SnapshotError(`Progress of ${row.user}, who is not in the snapshot.`);
  return parsed.data;
}

export type ImportCounts = {
  added: number;
  unchanged: number;
  /** The store already has this row with other values: the store's row is kept. */
  kept: number;
};

export type ImportReport = {
  users: ImportCounts;
  purchases: ImportCounts;
  ledger: ImportCounts;
  progress: ImportCounts;
  waitlist: ImportCounts;
  /** Accounts whose id in the snapshot was taken in this store, so they got another one. */
  renumberedUsers: number;
  /** Courses that purchases name but this store does not have yet (run the content sync). */
  unknownCourses: string[];
  dryRun: boolean;
};

type Batch = Parameters<Db['batch']>[0];

function purchaseKey(purchase: { source: string; checkoutSessionId: string | null; user: string; courseSlug: string; createdAt: number }): string {
  return purchase.checkoutSessionId ? `cs ${purchase.checkoutSessionId}` : `${purchase.source} ${purchase.user} ${purchase.courseSlug} ${purchase.createdAt}`;
}

/** SQL: the id, in this store, of the purchase with the snapshot purchase's natural key. */
function purchaseIdSql(purchase: Snapshot['purchases'][number]): SQL {
  if (purchase.checkoutSessionId) return sql`(SELECT id FROM purchases WHERE checkout_session_id = ${purchase.checkoutSessionId})`;
  return sql`(SELECT min(id) FROM purchases WHERE checkout_session_id IS NULL AND source = ${purchase.source} AND course_slug = ${purchase.courseSlug}
    AND created_at = ${purchase.createdAt} AND user_id = (SELECT id FROM users WHERE email = ${purchase.user}))`;
}

/**
 * Adds what the store is missing from a snapshot, in one atomic batch, and reports what it added,
 * what was already there, and what the store has differently (kept). `dryRun` only reports.
 */
export async function importSnapshot(ctx: AdminContext, snapshot: Snapshot, options: { actor: AdminActor; dryRun?: boolean }): Promise<ImportReport> {
  const { db } = ctx;
  const [userRows, purchaseRows, ledgerRows, progressRows, courseRows, waitlistRows] = (await db.batch([
    db.select({ id: users.id, email: users.email, passwordHash: users.passwordHash, role: users.role }).from(users),
    db.select({ purchase: purchases, user: users.email }).from(purchases).innerJoin(users, eq(users.id, purchases.userId)),
    db
      .select({
        purchaseId: accessLedger.purchaseId,
        seq: accessLedger.seq,
        action: accessLedger.action,
        reason: accessLedger.reason,
        createdAt: accessLedger.createdAt,
      })
      .from(accessLedger),
    db
      .select({ user: users.email, courseSlug: lessonProgress.courseSlug, lessonSlug: lessonProgress.lessonSlug })
      .from(lessonProgress)
      .innerJoin(users, eq(users.id, lessonProgress.userId)),
    db.all<{ slug: string }>(sql`SELECT slug FROM courses`),
    db.select({ courseSlug: courseWaitlist.courseSlug, email: courseWaitlist.email }).from(courseWaitlist),
  ] as unknown as Batch)) as unknown as [
    { id: number; email: string; passwordHash: string | null; role: string }[],
    { purchase: typeof purchases.$inferSelect; user: string }[],
    { purchaseId: number; seq: number; action: string; reason: string; createdAt: number }[],
    { user: string; courseSlug: string; lessonSlug: string }[],
    { slug: string }[],
    { courseSlug: string; email: string }[],
  ];

  const report: ImportReport = {
    users: { added: 0, unchanged: 0, kept: 0 },
    purchases: { added: 0, unchanged: 0, kept: 0 },
    ledger: { added: 0, unchanged: 0, kept: 0 },
    progress: { added: 0, unchanged: 0, kept: 0 },
    waitlist: { added: 0, unchanged: 0, kept: 0 },
    renumberedUsers: 0,
    unknownCourses: [],
    dryRun: Boolean(options.dryRun),
  };
  const statements: { kind: keyof Pick<ImportReport, 'users' | 'purchases' | 'ledger' | 'progress' | 'waitlist'>; sql: SQL }[] = [];

  // Accounts: keep the snapshot's id when it is free here, so that a session cookie signed with
  // the same SESSION_SECRET names the same person after a move; otherwise take a new one.
  const byEmail = new Map(userRows.map((user) => [user.email, user]));
  const takenIds = new Set(userRows.map((user) => Number(user.id)));
  for (const user of snapshot.users) {
    const existing = byEmail.get(user.email);
    if (existing) {
      report.users[existing.passwordHash === user.passwordHash && existing.role === user.role ? 'unchanged' : 'kept']++;
      continue;
    }
    const id = takenIds.has(user.id) ? null : user.id;
    if (id === null) report.renumberedUsers++;
    else takenIds.add(id);
    report.users.added++;
    statements.push({
      kind: 'users',
      sql: sql`INSERT INTO users (id, email, password_hash, session_version, role, email_verified_at, created_by_checkout, created_at, updated_at)
        VALUES (${id}, ${user.email}, ${user.passwordHash}, ${user.sessionVersion}, ${user.role}, ${user.emailVerifiedAt}, ${user.createdByCheckout}, ${user.createdAt}, ${user.updatedAt})
        ON CONFLICT DO NOTHING`,
    });
  }

  // Purchases, in their original order so that a fresh store numbers them the same way.
  const existingPurchases = new Map(purchaseRows.map(({ purchase, user }) => [purchaseKey({ ...purchase, user }), purchase]));
  const targetIdOf = new Map<number, number | null>();
  const courses = new Set(courseRows.map((row) => row.slug));
  const unknownCourses = new Set<string>();
  for (const purchase of snapshot.purchases) {
    if (!courses.has(purchase.courseSlug)) unknownCourses.add(purchase.courseSlug);
    const existing = existingPurchases.get(purchaseKey(purchase));
    targetIdOf.set(purchase.id, existing ? existing.id : null);
    if (existing) {
      const same =
        existing.status === purchase.status && existing.amountRefundedMinor === purchase.amountRefundedMinor && existing.amountMinor === purchase.amountMinor;
      report.purchases[same ? 'unchanged' : 'kept']++;
      continue;
    }
    report.purchases.added++;
    statements.push({
      kind: 'purchases',
      sql: insertPurchaseSql(
        { ...purchaseFieldsOf(purchase), userId: sql`u.id` },
        sql`u.email = ${purchase.user} AND ${purchaseIdSql(purchase)} IS NULL`,
        sql` ON CONFLICT DO NOTHING`,
      ),
    });
  }
  report.unknownCourses = [...unknownCourses].sort();

  // Ledger entries: a purchase's entries are added after those the store has, as long as the
  // store's agree with the snapshot's; where they disagree the store's history is kept.
  const ledgerHere = new Map<string, { action: string; reason: string; createdAt: number }>();
  for (const entry of ledgerRows) ledgerHere.set(`${entry.purchaseId} ${entry.seq}`, entry);
  const purchasesById = new Map(snapshot.purchases.map((purchase) => [purchase.id, purchase]));
  const diverged = new Set<number>();
  for (const entry of [...snapshot.ledger].sort((a, b) => a.purchase - b.purchase || a.seq - b.seq)) {
    const purchase = purchasesById.get(entry.purchase)!;
    const targetId = targetIdOf.get(entry.purchase);
    const here = targetId ? ledgerHere.get(`${targetId} ${entry.seq}`) : undefined;
    if (diverged.has(entry.purchase)) {
      report.ledger.kept++;
      continue;
    }
    if (here) {
      if (here.action === entry.action && here.reason === entry.reason && Number(here.createdAt) === entry.createdAt) report.ledger.unchanged++;
      else {
        report.ledger.kept++;
        diverged.add(entry.purchase);
      }
      continue;
    }
    report.ledger.added++;
    const purchaseId = purchaseIdSql(purchase);
    statements.push({
      kind: 'ledger',
      sql: sql`INSERT INTO access_ledger (purchase_id, user_id, course_slug, seq, action, reason, stripe_object_id, stripe_event_id, actor_user_id, note, created_at)
        SELECT p.id, p.user_id, p.course_slug, ${entry.seq}, ${entry.action}, ${entry.reason}, ${entry.stripeObjectId}, ${entry.stripeEventId},
          ${entry.actor ? sql`(SELECT id FROM users WHERE email = ${entry.actor})` : null}, ${entry.note}, ${entry.createdAt}
        FROM purchases p WHERE p.id = ${purchaseId}
        ON CONFLICT DO NOTHING`,
    });
  }

  const progressHere = new Set(progressRows.map((row) => `${row.user} ${row.courseSlug} ${row.lessonSlug}`));
  for (const row of snapshot.progress) {
    if (progressHere.has(`${row.user} ${row.courseSlug} ${row.lessonSlug}`)) {
      report.progress.unchanged++;
      continue;
    }
    report.progress.added++;
    statements.push({
      kind: 'progress',
      sql: sql`INSERT INTO lesson_progress (user_id, course_slug, lesson_slug, completed_at)
        SELECT id, ${row.courseSlug}, ${row.lessonSlug}, ${row.completedAt} FROM users WHERE email = ${row.user}
        ON CONFLICT DO NOTHING`,
    });
  }

  const waitlistHere = new Set(waitlistRows.map((row) => `${row.courseSlug} ${row.email}`));
  for (const row of snapshot.waitlist) {
    if (waitlistHere.has(`${row.courseSlug} ${row.email}`)) {
      report.waitlist.unchanged++;
      continue;
    }
    report.waitlist.added++;
    statements.push({
      kind: 'waitlist',
      sql: sql`INSERT INTO course_waitlist (course_slug, email, created_at) VALUES (${row.courseSlug}, ${row.email}, ${row.createdAt}) ON CONFLICT DO NOTHING`,
    });
  }

  if (options.dryRun || statements.length === 0) return report;

  const audit = auditSql({
    actor: options.actor,
    action: 'import-snapshot',
    detail: {
      schema: snapshot.schema,
      exportedAt: snapshot.exportedAt,
      users: report.users.added,
      purchases: report.purchases.added,
      ledger: report.ledger.added,
      progress: report.progress.added,
      waitlist: report.waitlist.added,
    },
    now: ctx.clock.now(),
  });
  const results = await runBatch(db, [...statements.map((statement) => statement.sql), audit]);
  // What another writer added in the meantime counts as already there.
  for (const kind of ['users', 'purchases', 'ledger', 'progress', 'waitlist'] as const) {
    const planned = report[kind].added;
    const written = statements.reduce((count, statement, index) => count + (statement.kind === kind ? rowsAffected(results[index]) : 0), 0);
    report[kind].added = written;
    report[kind].unchanged += planned - written;
  }
  return report;
}
