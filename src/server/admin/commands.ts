// The commands: every change an admin makes to members by hand (give or take away a course, make
// or unmake an admin, set a password, end sessions, mail a password link). What the admin reads is
// in queries.ts. Shared by `npm run admin` and the web admin pages; free of Node and Astro so that
// it runs on both targets. Every change writes its effect and its audit row in one batch (D1 has
// no interactive transactions), and every change is conditional in SQL, so a repeated or racing
// call writes nothing twice.
import { is, sql, SQL } from 'drizzle-orm';
import { z } from 'zod';
import { appendLedgerSql, grantAccessSql, latestActionSql, owns, stateOf, type AccessAction, type AccessState } from '../access/ledger.ts';
import { REQUEST_SLUG } from '../access/lesson-gate.ts';
import { rowsAffected } from '../db/results.ts';
import { emailSchema, newPasswordSchema } from '../auth/credentials.ts';
import { hashPassword } from '../auth/password-hasher.ts';
import { operatorVerifiedStatements } from '../auth/email-verification.ts';
import { newTokenSecret, revokeTokensStatement } from '../auth/tokens.ts';
import type { Db } from '../context.ts';
import type { User } from '../db/schema.ts';
import { sha256Hex } from '../sha256.ts';
import { endSessionsStatements } from '../auth/accounts.ts';
import { auditSql, runBatch, type AdminActor, type AdminContext } from './audit.ts';

export type { AdminActor, AdminContext } from './audit.ts';

/** Why an admin gave or took a course: free text such as gift, support, migration, chargeback. */
export const reasonSchema = z
  .string({ error: 'reason-missing' })
  .trim()
  .min(1, { error: 'reason-missing' })
  .max(200, { error: 'reason-too-long' })
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), { error: 'reason-invalid' });

export const courseSlugSchema = z.string().regex(REQUEST_SLUG, { error: 'course-invalid' });

/** Something in the input that cannot be used; `problem` is a short code for a form message. */
export type Invalid = { kind: 'invalid'; field: 'email' | 'course' | 'reason' | 'password'; problem: string };

type CourseInfo = { slug: string; title: string; published: boolean };

function invalid(field: Invalid['field'], error: z.ZodError): Invalid {
  return { kind: 'invalid', field, problem: error.issues[0]?.message ?? `${field}-invalid` };
}

/** The fields every grant and revoke names: the member's email, the course, and why. */
function parseMemberCourse(input: { email: string; course: string; reason: string }): Invalid | { kind: 'ok'; email: string; slug: string; reason: string } {
  const email = emailSchema.safeParse(input.email);
  if (!email.success) return invalid('email', email.error);
  const slug = courseSlugSchema.safeParse(input.course);
  if (!slug.success) return invalid('course', slug.error);
  const reason = reasonSchema.safeParse(input.reason);
  if (!reason.success) return invalid('reason', reason.error);
  return { kind: 'ok', email: email.data, slug: slug.data, reason: reason.data };
}

/** The first row of a query, or null (drizzle's `get` on raw SQL throws on libSQL when there is none). */
async function first<T>(db: Db, query: SQL): Promise<T | null> {
  const [row] = await db.all<T>(query);
  return row ?? null;
}

async function getCourse(db: Db, slug: string): Promise<CourseInfo | null> {
  const row = await first<{ slug: string; title: string; published: number }>(db, sql`SELECT slug, title, published FROM courses WHERE slug = ${slug}`);
  return row ? { slug: row.slug, title: row.title, published: Boolean(row.published) } : null;
}

async function getUser(db: Db, email: string): Promise<Pick<User, 'id' | 'email' | 'role' | 'passwordHash'> | null> {
  const row = await first<{ id: number; email: string; role: 'member' | 'admin'; password_hash: string | null }>(
    db,
    sql`SELECT id, email, role, password_hash FROM users WHERE email = ${email}`,
  );
  return row ? { id: Number(row.id), email: row.email, role: row.role, passwordHash: row.password_hash } : null;
}

const userIdByEmail = (email: string): SQL => sql`(SELECT id FROM users WHERE email = ${email})`;

// ---------------------------------------------------------------------------------------------
// Courses

export type GrantInput = {
  email: string;
  course: string;
  reason: string;
  actor: AdminActor;
  /** Create a member without a password when nobody has this email (they choose one with "Forgot your password?"). */
  create?: boolean;
  note?: string | null;
};

export type GrantResult =
  | { kind: 'granted'; userId: number; purchaseId: number; createdUser: boolean; course: CourseInfo }
  /** The member may already read the course: nothing written. */
  | { kind: 'already-owned'; userId: number; course: CourseInfo }
  | { kind: 'unknown-user'; email: string }
  /** No such course in the store (the content sync writes them). */
  | { kind: 'unknown-course'; course: string }
  | Invalid;

/**
 * Gives a member a course: a purchase of source `grant` and its ledger `grant`, with the reason
 * and the admin, and an audit row. A member who may already read the course gets nothing.
 */
export async function grantCourse(ctx: AdminContext, input: GrantInput): Promise<GrantResult> {
  const parsed = parseMemberCourse(input);
  if (parsed.kind === 'invalid') return parsed;
  const { email, slug, reason } = parsed;

  const course = await getCourse(ctx.db, slug);
  if (!course) return { kind: 'unknown-course', course: slug };
  const existing = await getUser(ctx.db, email);
  if (!existing && !input.create) return { kind: 'unknown-user', email: email };
  if (existing && (await owns(ctx.db, existing.id, course.slug))) return { kind: 'already-owned', userId: existing.id, course };

  const now = ctx.clock.now();
  const userId = existing ? existing.id : userIdByEmail(email);
  // For the address: whoever holds an unverified account of it reads the course only once the
  // address is proven, like a guest purchase. An account this grant creates has no password, so
  // only a mailed link signs into it: that grant counts at once (unless someone signed up with a
  // password in between, which the condition sees).
  const requiresVerifiedEmail = existing ? true : sql`(SELECT password_hash IS NOT NULL OR created_at <> ${now} FROM users WHERE email = ${email})`;
  const grant = grantAccessSql({
    userId,
    courseSlug: course.slug,
    reason: reason,
    actorUserId: input.actor.userId,
    note: input.note ?? `by an admin (${input.actor.via})`,
    now,
    requiresVerifiedEmail,
  });
  const statements = [
    ...(existing
      ? []
      : [
          sql`INSERT INTO users (email, session_version, role, created_at, updated_at) VALUES (${email}, 1, 'member', ${now}, ${now}) ON CONFLICT(email) DO NOTHING`,
        ]),
    grant.purchase,
    grant.ledger,
    auditSql({
      actor: input.actor,
      action: 'grant',
      subjectUserId: userId,
      courseSlug: course.slug,
      reason: reason,
      detail: { purchaseId: grant.purchaseId, createdUser: existing ? undefined : true, note: input.note ?? undefined },
      now,
      onlyIfChanged: true,
    }),
  ];
  const results = await runBatch(ctx.db, statements);
  const user = existing ?? (await getUser(ctx.db, email));
  if (!user) throw new Error(`The account ${email} was not created.`);
  if (rowsAffected(results[statements.length - 2]) === 0) return { kind: 'already-owned', userId: user.id, course };
  const purchase = await first<{ id: number }>(
    ctx.db,
    sql`SELECT id FROM purchases WHERE user_id = ${user.id} AND course_slug = ${course.slug} AND source = 'grant' AND created_at = ${now} ORDER BY id DESC LIMIT 1`,
  );
  return { kind: 'granted', userId: user.id, purchaseId: Number(purchase!.id), createdUser: !existing, course };
}

export type RevokedPurchase = { purchaseId: number; source: 'stripe' | 'grant'; checkoutSessionId: string | null; previous: AccessState };

export type RevokeInput = { email: string; course: string; reason: string; actor: AdminActor; note?: string | null };

export type RevokeResult =
  /** Every purchase of the course that gave (or, suspended, could give again) access is revoked. */
  | { kind: 'revoked'; userId: number; purchases: RevokedPurchase[] }
  /** Nothing to revoke: no purchase of the course gives access. Nothing written. */
  | { kind: 'not-owned'; userId: number }
  | { kind: 'unknown-user'; email: string }
  | { kind: 'unknown-course'; course: string }
  | Invalid;

/**
 * Takes a course away from a member: a ledger `revoke` (with the reason and the admin) on each of
 * their purchases of it that is active or suspended, each with an audit row. It does not refund a
 * payment: that is done in Stripe, whose refund event then finds the purchase already revoked.
 */
export async function revokeCourse(ctx: AdminContext, input: RevokeInput): Promise<RevokeResult> {
  const parsed = parseMemberCourse(input);
  if (parsed.kind === 'invalid') return parsed;
  const { email, slug, reason } = parsed;

  const user = await getUser(ctx.db, email);
  const held = user
    ? await ctx.db.all<{ id: number; source: 'stripe' | 'grant'; checkout_session_id: string | null; action: AccessAction | null }>(
        sql`SELECT p.id, p.source, p.checkout_session_id, ${latestActionSql(sql`p.id`)} AS action FROM purchases p WHERE p.user_id = ${user.id} AND p.course_slug = ${slug} ORDER BY p.id`,
      )
    : [];
  if (held.length === 0 && !(await getCourse(ctx.db, slug))) return { kind: 'unknown-course', course: slug };
  if (!user) return { kind: 'unknown-user', email: email };

  const revocable = held
    .map((row) => ({ purchaseId: Number(row.id), source: row.source, checkoutSessionId: row.checkout_session_id, previous: stateOf(row.action) }))
    .filter((row) => row.previous === 'active' || row.previous === 'suspended');
  if (revocable.length === 0) return { kind: 'not-owned', userId: user.id };

  const now = ctx.clock.now();
  const statements = revocable.flatMap((purchase) => [
    appendLedgerSql({
      purchaseId: purchase.purchaseId,
      userId: user.id,
      courseSlug: slug,
      action: 'revoke',
      reason: reason,
      actorUserId: input.actor.userId,
      note: input.note ?? `by an admin (${input.actor.via})`,
      now,
    }),
    auditSql({
      actor: input.actor,
      action: 'revoke',
      subjectUserId: user.id,
      courseSlug: slug,
      reason: reason,
      detail: {
        purchaseId: purchase.purchaseId,
        source: purchase.source,
        checkoutSessionId: purchase.checkoutSessionId ?? undefined,
        note: input.note ?? undefined,
      },
      now,
      onlyIfChanged: true,
    }),
  ]);
  const results = await runBatch(ctx.db, statements);
  const revoked = revocable.filter((_, index) => rowsAffected(results[index * 2]) > 0);
  return revoked.length ? { kind: 'revoked', userId: user.id, purchases: revoked } : { kind: 'not-owned', userId: user.id };
}

// ---------------------------------------------------------------------------------------------
// Accounts

export type AccountState = { exists: false } | { exists: true; userId: number; role: 'member' | 'admin'; hasPassword: boolean };

/** What an account is, before deciding what to ask for (create-admin asks a password only when needed). */
export async function getAccountState(db: Db, rawEmail: string): Promise<AccountState | Invalid> {
  const email = emailSchema.safeParse(rawEmail);
  if (!email.success) return invalid('email', email.error);
  const user = await getUser(db, email.data);
  return user ? { exists: true, userId: user.id, role: user.role, hasPassword: user.passwordHash !== null } : { exists: false };
}

/** Checks a new password with the rules of sign-up; returns a problem code or null. */
export function passwordProblem(password: string): string | null {
  const result = newPasswordSchema.safeParse(password);
  return result.success ? null : (result.error.issues[0]?.message ?? 'password-invalid');
}

export type MakeAdminInput = {
  email: string;
  /** The operator's password: the account's only password afterwards. */
  password?: string | null;
  /** PBKDF2 iterations for a new hash: config.passwordIterations. */
  iterations: number;
  actor: AdminActor;
};

export type MakeAdminResult =
  | { kind: 'created'; userId: number }
  /** An existing member became an admin, with the operator's password and nothing else of before. */
  | { kind: 'promoted'; userId: number }
  /** Already an admin: it still gets the operator's password, and every session of it ends. */
  | { kind: 'already-admin'; userId: number }
  | { kind: 'password-required' }
  | Invalid;

/** Runs drizzle statements and raw SQL as one batch (the typed statements come from the auth core). */
async function batchOf(db: Db, statements: readonly (SQL | { _: unknown })[]): Promise<readonly unknown[]> {
  const items = statements.map((statement) => (is(statement, SQL) ? db.run(statement) : statement));
  return (await db.batch(items as unknown as Parameters<Db['batch']>[0])) as unknown as readonly unknown[];
}

/**
 * Creates an admin account, or makes an existing account an admin. The operator's word stands for
 * the address: the account ends up verified, with the operator's password only, every session and
 * mailed token of it ended, so that whoever registered the address before (or bought for it as a
 * guest) no longer reaches /admin/.
 */
export async function makeAdmin(ctx: AdminContext, input: MakeAdminInput): Promise<MakeAdminResult> {
  const email = emailSchema.safeParse(input.email);
  if (!email.success) return invalid('email', email.error);
  const password = input.password;
  if (!password) return { kind: 'password-required' };
  const problem = passwordProblem(password);
  if (problem) return { kind: 'invalid', field: 'password', problem };
  const passwordHash = await hashPassword(password, { iterations: input.iterations });
  const user = await getUser(ctx.db, email.data);
  const now = ctx.clock.now();

  if (!user) {
    const results = await runBatch(ctx.db, [
      sql`INSERT INTO users (email, password_hash, session_version, role, email_verified_at, created_at, updated_at) VALUES (${email.data}, ${passwordHash}, 1, 'admin', ${now}, ${now}, ${now}) ON CONFLICT(email) DO NOTHING`,
      auditSql({
        actor: input.actor,
        action: 'create-admin',
        subjectUserId: userIdByEmail(email.data),
        detail: { account: 'created' },
        now,
        onlyIfChanged: true,
      }),
    ]);
    // Someone created the account in between: take it over as an existing one.
    if (rowsAffected(results[0]) === 0) return makeAdmin(ctx, input);
    return { kind: 'created', userId: (await getUser(ctx.db, email.data))!.id };
  }

  const promoted = user.role !== 'admin';
  await batchOf(ctx.db, [
    sql`UPDATE users SET role = 'admin', updated_at = ${now} WHERE id = ${user.id}`,
    ...operatorVerifiedStatements(ctx.db, user.id, passwordHash, now),
    auditSql({
      actor: input.actor,
      action: 'create-admin',
      subjectUserId: user.id,
      detail: { account: promoted ? 'promoted' : 'already-admin', passwordSet: true, signedOut: true },
      now,
    }),
  ]);
  return promoted ? { kind: 'promoted', userId: user.id } : { kind: 'already-admin', userId: user.id };
}

export type RemoveAdminResult = { kind: 'demoted'; userId: number } | { kind: 'not-admin'; userId: number } | { kind: 'unknown-user'; email: string } | Invalid;

/** Makes an admin a member again. Their sessions stay; /admin/ reads the role on every request. */
export async function removeAdmin(ctx: AdminContext, input: { email: string; actor: AdminActor }): Promise<RemoveAdminResult> {
  const email = emailSchema.safeParse(input.email);
  if (!email.success) return invalid('email', email.error);
  const user = await getUser(ctx.db, email.data);
  if (!user) return { kind: 'unknown-user', email: email.data };
  const now = ctx.clock.now();
  const results = await runBatch(ctx.db, [
    sql`UPDATE users SET role = 'member', updated_at = ${now} WHERE id = ${user.id} AND role = 'admin'`,
    auditSql({ actor: input.actor, action: 'remove-admin', subjectUserId: user.id, now, onlyIfChanged: true }),
  ]);
  return rowsAffected(results[0]) > 0 ? { kind: 'demoted', userId: user.id } : { kind: 'not-admin', userId: user.id };
}

export type SetPasswordInput = {
  email: string;
  password: string;
  iterations: number;
  actor: AdminActor;
};

export type SetPasswordResult = { kind: 'updated'; userId: number } | { kind: 'unknown-user'; email: string } | Invalid;

/**
 * Sets a member's password (checked like sign-up's) on the operator's word, which stands for the
 * address: it is marked verified, and every session and mailed token of the account ends, so that
 * afterwards only the new password reaches it. There is no keeping the sessions: one of them may
 * be the very person the operator is locking out.
 */
export async function setMemberPassword(ctx: AdminContext, input: SetPasswordInput): Promise<SetPasswordResult> {
  const email = emailSchema.safeParse(input.email);
  if (!email.success) return invalid('email', email.error);
  const problem = passwordProblem(input.password);
  if (problem) return { kind: 'invalid', field: 'password', problem };
  const user = await getUser(ctx.db, email.data);
  if (!user) return { kind: 'unknown-user', email: email.data };
  const passwordHash = await hashPassword(input.password, { iterations: input.iterations });
  const now = ctx.clock.now();
  await batchOf(ctx.db, [
    ...operatorVerifiedStatements(ctx.db, user.id, passwordHash, now),
    auditSql({ actor: input.actor, action: 'set-password', subjectUserId: user.id, detail: { signedOut: true, verified: true }, now }),
  ]);
  return { kind: 'updated', userId: user.id };
}

export type SignOutResult = { kind: 'signed-out'; userId: number } | { kind: 'unknown-user'; userId: number };

/** Ends every session of a member: their session rows go and every older token dies. */
export async function signOutMember(ctx: AdminContext, input: { userId: number; reason?: string | null; actor: AdminActor }): Promise<SignOutResult> {
  const now = ctx.clock.now();
  const results = await runBatch(ctx.db, [
    ...endSessionsStatements(ctx.db, input.userId, now).map((statement) => statement.getSQL()),
    auditSql({ actor: input.actor, action: 'sign-out-everywhere', subjectUserId: input.userId, reason: input.reason ?? null, now, onlyIfChanged: true }),
  ]);
  return rowsAffected(results[0]) > 0 ? { kind: 'signed-out', userId: input.userId } : { kind: 'unknown-user', userId: input.userId };
}

export type PasswordLinkResult =
  | { kind: 'issued'; userId: number; email: string; token: string; hasPassword: boolean; lifetimeMs: number }
  | { kind: 'unknown-user'; userId: number };

/**
 * A single-use `reset` token for a member, to email them a link that sets their password, written
 * with its audit row in one batch. The caller sends the email (after the response). `lifetimeMs`
 * is longer for a member who has no password yet (they were sent a set-password link at purchase).
 */
export async function issuePasswordLink(
  ctx: AdminContext,
  input: { userId: number; actor: AdminActor; lifetimeMs: (hasPassword: boolean) => number },
): Promise<PasswordLinkResult> {
  const user = await first<{ id: number; email: string; password_hash: string | null }>(
    ctx.db,
    sql`SELECT id, email, password_hash FROM users WHERE id = ${input.userId}`,
  );
  if (!user) return { kind: 'unknown-user', userId: input.userId };
  const hasPassword = user.password_hash !== null;
  const lifetimeMs = input.lifetimeMs(hasPassword);
  const token = newTokenSecret();
  const now = ctx.clock.now();
  // The newest reset link is the only one that works.
  await batchOf(ctx.db, [
    revokeTokensStatement(ctx.db, Number(user.id), now, { purpose: 'reset' }),
    sql`INSERT INTO auth_tokens (user_id, purpose, token_hash, expires_at, created_at) VALUES (${user.id}, 'reset', ${await sha256Hex(token)}, ${now + lifetimeMs}, ${now})`,
    auditSql({ actor: input.actor, action: 'password-email', subjectUserId: user.id, detail: { hasPassword, expiresAt: now + lifetimeMs }, now }),
  ]);
  return { kind: 'issued', userId: Number(user.id), email: user.email, token, hasPassword, lifetimeMs };
}
