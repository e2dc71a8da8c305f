// The access ledger: every change to who may read a course is a new row, never an update. A
// purchase gives access while its latest entry is `grant` or `restore`; a member may read a course
// while one of their purchases of it gives access. Everything that asks "may this member read this
// course?" uses the SQL below, so the gate, checkout and the account page agree.
import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../context.ts';
import { rowsAffected } from '../db/results.ts';
import { purchases } from '../db/schema.ts';

export type AccessAction = 'grant' | 'revoke' | 'suspend' | 'restore';
/** What a purchase currently gives: derived from its latest ledger entry (none: no entry yet). */
export type AccessState = 'active' | 'suspended' | 'revoked' | 'none';

/** The state after each action. */
const STATE_AFTER: Record<AccessAction, AccessState> = { grant: 'active', restore: 'active', suspend: 'suspended', revoke: 'revoked' };

/** From which latest action each action may follow; anything else would be a meaningless step. */
const ALLOWED_AFTER: Record<AccessAction, (AccessAction | null)[]> = {
  grant: [null],
  suspend: ['grant', 'restore'],
  restore: ['suspend', 'revoke'],
  revoke: ['grant', 'restore', 'suspend'],
};

/**
 * The revokes Stripe can undo: a refund that fails or is cancelled, a lost dispute won on appeal.
 * A revoke for any other reason (an admin's) is never restored by a payment.
 */
export const PAYMENT_REVOKE_REASONS = ['refund', 'dispute_lost'] as const;

/** SQL: the latest ledger action of the purchase whose id is the given SQL expression. */
export function latestActionSql(purchaseId: SQL | number): SQL {
  return sql`(SELECT l.action FROM access_ledger l WHERE l.purchase_id = ${purchaseId} ORDER BY l.seq DESC LIMIT 1)`;
}

function latestReasonSql(purchaseId: SQL | number): SQL {
  return sql`(SELECT l.reason FROM access_ledger l WHERE l.purchase_id = ${purchaseId} ORDER BY l.seq DESC LIMIT 1)`;
}

/**
 * SQL: true when one of the member's purchases of the course is active, whether or not it opens
 * yet (see hasAccessSql): a grant or a second purchase on top of it would be a double.
 */
export function ownsSql(userId: SQL | number, courseSlug: SQL | string): SQL {
  return sql`EXISTS (SELECT 1 FROM purchases p WHERE p.user_id = ${userId} AND p.course_slug = ${courseSlug} AND ${latestActionSql(sql`p.id`)} IN ('grant', 'restore'))`;
}

/**
 * SQL: true when the member may read the course: one of their purchases of it is active and
 * counts. A purchase made for the address rather than by the account (a guest checkout, a grant)
 * counts once the address is verified, or when that purchase created the account: whoever signed
 * up with someone else's address must not read what its owner buys without signing in
 * (docs/decisions/0006-email-verification.md). Use it inside the one query a request makes (the
 * lesson gate joins it with the page and the member).
 */
export function hasAccessSql(userId: SQL | number, courseSlug: SQL | string): SQL {
  return sql`EXISTS (SELECT 1 FROM purchases p WHERE p.user_id = ${userId} AND p.course_slug = ${courseSlug} AND ${latestActionSql(sql`p.id`)} IN ('grant', 'restore')
    AND (p.requires_verified_email = 0 OR p.created_user = 1 OR (SELECT v.email_verified_at FROM users v WHERE v.id = p.user_id) IS NOT NULL))`;
}

/**
 * SQL: whether the member in the query's `users u` row may read the course's paid lessons: they
 * have access, or they are an admin (the author reads everything they sell, through the same gate
 * as buyers; the role is read with each request, so a demotion applies at once).
 */
export function mayReadSql(courseSlug: SQL | string): SQL {
  return sql`(u.role = 'admin' OR ${hasAccessSql(sql`u.id`, courseSlug)})`;
}

/**
 * SQL: true when an active purchase of the course waits for the member to verify their address
 * (so that checkout sends them to verify it instead of charging them again).
 */
export function awaitsVerificationSql(userId: SQL | number, courseSlug: SQL | string): SQL {
  return sql`${ownsSql(userId, courseSlug)} AND NOT ${hasAccessSql(userId, courseSlug)}`;
}

export async function hasAccess(db: Db, userId: number, courseSlug: string): Promise<boolean> {
  const row = await db.get<{ ok: number }>(sql`SELECT ${hasAccessSql(userId, courseSlug)} AS ok`);
  return Boolean(row?.ok);
}

export async function owns(db: Db, userId: number, courseSlug: string): Promise<boolean> {
  const row = await db.get<{ ok: number }>(sql`SELECT ${ownsSql(userId, courseSlug)} AS ok`);
  return Boolean(row?.ok);
}

export async function awaitsVerification(db: Db, userId: number, courseSlug: string): Promise<boolean> {
  const row = await db.get<{ ok: number }>(sql`SELECT ${awaitsVerificationSql(userId, courseSlug)} AS ok`);
  return Boolean(row?.ok);
}

export function stateOf(action: AccessAction | null | undefined): AccessState {
  return action ? STATE_AFTER[action] : 'none';
}

export async function getAccessState(db: Db, purchaseId: number): Promise<AccessState> {
  const row = await db.get<{ action: AccessAction | null }>(sql`SELECT ${latestActionSql(purchaseId)} AS action`);
  return stateOf(row?.action);
}

export type LedgerAppend = {
  /** A number, or an SQL subquery when the purchase is inserted in the same batch. */
  purchaseId: number | SQL;
  userId: number | SQL;
  courseSlug: string;
  action: AccessAction;
  reason: string;
  stripeObjectId?: string | null;
  stripeEventId?: string | null;
  actorUserId?: number | null;
  note?: string | null;
  now: number;
  /** A further condition for the append (e.g. that a purchase inserted earlier in the batch exists). */
  when?: SQL;
};

/**
 * The statement that appends `action` to a purchase's ledger if, and only if, the purchase's
 * latest entry allows it. It is one INSERT ... SELECT, so the check and the write are atomic:
 * of two writers racing to make the same change, one appends and the other appends nothing
 * (and the unique (purchase_id, seq) index stops any other interleaving). Usable in a batch.
 */
export function appendLedgerSql(entry: LedgerAppend): SQL {
  const allowed = ALLOWED_AFTER[entry.action];
  const latest = latestActionSql(entry.purchaseId);
  const condition = allowed.includes(null)
    ? sql`${latest} IS NULL`
    : sql`${latest} IN (${sql.join(
        allowed.map((action) => sql`${action}`),
        sql`, `,
      )})`;
  // A restore after a revoke only when a payment caused the revoke (see PAYMENT_REVOKE_REASONS).
  const restorable =
    entry.action === 'restore'
      ? sql` AND (${latest} <> 'revoke' OR ${latestReasonSql(entry.purchaseId)} IN (${sql.join(
          PAYMENT_REVOKE_REASONS.map((reason) => sql`${reason}`),
          sql`, `,
        )}))`
      : sql``;
  return sql`INSERT INTO access_ledger (purchase_id, user_id, course_slug, seq, action, reason, stripe_object_id, stripe_event_id, actor_user_id, note, created_at)
    SELECT ${entry.purchaseId}, ${entry.userId}, ${entry.courseSlug},
      coalesce((SELECT max(seq) FROM access_ledger WHERE purchase_id = ${entry.purchaseId}), 0) + 1,
      ${entry.action}, ${entry.reason}, ${entry.stripeObjectId ?? null}, ${entry.stripeEventId ?? null},
      ${entry.actorUserId ?? null}, ${entry.note ?? null}, ${entry.now}
    WHERE ${condition}${restorable}${entry.when ? sql` AND (${entry.when})` : sql``}`;
}

/** Appends if allowed; tells whether a row was written. */
export async function appendLedger(db: Db, entry: LedgerAppend): Promise<boolean> {
  const result = await db.run(appendLedgerSql(entry));
  return rowsAffected(result) > 0;
}

/**
 * The actions that take a purchase from its current state to the target state, in order. A
 * revoked purchase comes back only through `restore`, which the ledger allows only after a revoke
 * that a payment caused (a refund that then failed, a dispute lost and then won on appeal).
 */
export function transitionsTo(current: AccessState, target: Exclude<AccessState, 'none'>): AccessAction[] {
  if (current === target) return [];
  if (current === 'none') return target === 'active' ? ['grant'] : ['grant', target === 'suspended' ? 'suspend' : 'revoke'];
  if (current === 'revoked') return target === 'active' ? ['restore'] : ['restore', 'suspend'];
  if (target === 'active') return ['restore'];
  return [target === 'suspended' ? 'suspend' : 'revoke'];
}

/** A purchase's values for insertPurchaseSql: each a value, or SQL over the `users` row `u` it is selected with. */
export type PurchaseValues = { [Column in keyof typeof purchases.$inferInsert]?: SQL | string | number | boolean | null } & {
  userId: SQL;
  courseSlug: string;
  source: 'stripe' | 'grant';
  status: string;
  createdAt: number;
};

/**
 * The one way a purchase row is written (a payment, a grant, a restored snapshot):
 * `INSERT INTO purchases (...) SELECT ... FROM users u WHERE <where>`, so that the account is
 * looked up in the same statement. The columns are the schema's: a new one is written wherever a
 * caller gives it, and takes its default elsewhere.
 */
export function insertPurchaseSql(values: PurchaseValues, where: SQL, onConflict: SQL = sql``): SQL {
  const given = Object.entries(getTableColumns(purchases)).filter(([key]) => key in values || key === 'updatedAt');
  const value = (key: string): SQL | string | number | null => {
    const item = key === 'updatedAt' ? (values.updatedAt ?? values.createdAt) : values[key as keyof PurchaseValues];
    return typeof item === 'boolean' ? (item ? 1 : 0) : (item ?? null);
  };
  return sql`INSERT INTO purchases (${sql.raw(given.map(([, column]) => column.name).join(', '))})
    SELECT ${sql.join(
      given.map(([key]) => sql`${value(key)}`),
      sql`, `,
    )}
    FROM users u WHERE ${where}${onConflict}`;
}

/**
 * Gives a member a course by hand (a gift, support, a migration from another platform): a purchase
 * of source `grant`, then its ledger entry (a purchase without an entry gives nothing, so a crash
 * between the two loses nothing). Returns the purchase id.
 */
export async function grantAccess(
  db: Db,
  input: {
    userId: number;
    courseSlug: string;
    reason: string;
    actorUserId?: number | null;
    note?: string | null;
    now: number;
    requiresVerifiedEmail?: boolean;
  },
): Promise<number> {
  const [inserted] = await db
    .insert(purchases)
    .values({
      userId: input.userId,
      courseSlug: input.courseSlug,
      source: 'grant',
      amountMinor: 0,
      currency: 'XXX',
      status: 'granted',
      requiresVerifiedEmail: input.requiresVerifiedEmail ?? false,
      createdAt: input.now,
      updatedAt: input.now,
    })
    .returning({ id: purchases.id });
  await appendLedger(db, {
    purchaseId: inserted!.id,
    userId: input.userId,
    courseSlug: input.courseSlug,
    action: 'grant',
    reason: input.reason,
    actorUserId: input.actorUserId ?? null,
    note: input.note ?? null,
    now: input.now,
  });
  return inserted!.id;
}

export type GrantStatements = {
  /** Inserts the `grant` purchase, unless the member already owns the course (or `unless` holds). */
  purchase: SQL;
  /** Appends the purchase's `grant` entry; appends nothing when the purchase insert did not happen. */
  ledger: SQL;
  /** SQL: the id of the purchase the statements above made (null when they made none). */
  purchaseId: SQL;
};

/**
 * grantAccess as statements for one atomic batch, for callers that write other rows with it (an
 * account, an audit row). Run `purchase` then `ledger`, in that order, in the same batch. A member
 * who already owns the course (even one that opens only once their address is verified) gets
 * nothing, so a repeated or racing grant writes nothing.
 */
export function grantAccessSql(input: {
  userId: number | SQL;
  courseSlug: string;
  reason: string;
  actorUserId?: number | null;
  note?: string | null;
  now: number;
  /** A condition under which no grant is made (e.g. this migration granted it before). */
  unless?: SQL;
  /**
   * Given to an address rather than to someone who proved it: it opens once the address is
   * verified (see hasAccessSql). An author's grant always is; an import's grant to the account it
   * creates is not, since the imported password is the one the old platform's buyer chose.
   * SQL when it depends on what the same batch wrote before.
   */
  requiresVerifiedEmail: boolean | SQL;
}): GrantStatements {
  const { userId, courseSlug, now } = input;
  const purchase = insertPurchaseSql(
    {
      userId: sql`u.id`,
      courseSlug,
      source: 'grant',
      amountMinor: 0,
      currency: 'XXX',
      status: 'granted',
      requiresVerifiedEmail: typeof input.requiresVerifiedEmail === 'boolean' ? input.requiresVerifiedEmail : sql`coalesce(${input.requiresVerifiedEmail}, 1)`,
      createdAt: now,
    },
    sql`u.id = ${userId} AND NOT ${ownsSql(sql`u.id`, courseSlug)}${input.unless ? sql` AND NOT (${input.unless})` : sql``}`,
  );
  // Within the batch nobody else writes, so the newest grant purchase of this member and course
  // made at `now` is the one just inserted (AUTOINCREMENT ids only grow).
  const purchaseId = sql`(SELECT max(id) FROM purchases WHERE user_id = ${userId} AND course_slug = ${courseSlug} AND source = 'grant' AND created_at = ${now})`;
  const ledger = appendLedgerSql({
    purchaseId,
    userId,
    courseSlug,
    action: 'grant',
    reason: input.reason,
    actorUserId: input.actorUserId ?? null,
    note: input.note ?? null,
    now,
    when: sql`${purchaseId} IS NOT NULL`,
  });
  return { purchase, ledger, purchaseId };
}
