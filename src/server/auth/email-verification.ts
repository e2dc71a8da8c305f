// Proof that a person controls an email address, and what follows from it: the one place that
// says what using a mailed token does (docs/decisions/0006-email-verification.md). Every mailed
// token (sign-in link, reset, a guest buyer's set-password link, the confirmation sent at sign-up)
// is used through `useMailedToken`, so the rule cannot differ between them:
// - the address becomes verified, for good;
// - the first verification ends every session of the account and clears the password, because
//   whoever set it had not proven the address was theirs (an address can be signed up by anyone),
//   unless the token itself sets the new password or the person verifying proved they know it;
// - a password chosen at sign-up and still pending becomes the password only through its own
//   confirmation; any other use of a mailed token drops it;
// - every other outstanding mailed token of the account stops working.
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../context.ts';
import { users, type User } from '../db/schema.ts';
import { sha256Hex } from '../sha256.ts';
import { endSessionsStatements } from './accounts.ts';
import { TOKEN_PATTERN, claimTokenStatement, revokeTokensStatement, tokenOwnerSql, type TokenPurpose } from './tokens.ts';

export type MailedTokenUse = {
  token: string;
  purpose: TokenPurpose;
  now: number;
  /** The password the token sets (a reset or set-password link). */
  newPasswordHash?: string;
  /**
   * The sign-up confirmation: the person verifying typed the account's password, or the password
   * chosen at sign-up that is still pending, whose hash this is. It becomes or stays the password
   * if it is still the account's own or pending one; any other password is cleared as usual.
   */
  provenPasswordHash?: string;
};

/**
 * Uses a mailed token up and applies what it proves, in one batch (a transaction on libSQL and
 * D1): everything happens if and only if this call is the one that uses the token. Every
 * statement is keyed by the token's owner as SQL, which is NULL once the token is used, expired
 * or unknown, so a racing second use changes nothing. Returns the account as it now is, or null
 * when the token was not usable.
 */
export async function useMailedToken(db: Db, use: MailedTokenUse): Promise<User | null> {
  if (!TOKEN_PATTERN.test(use.token)) return null;
  const { now } = use;
  const tokenHash = await sha256Hex(use.token);
  const owner = tokenOwnerSql(tokenHash, use.purpose, now);
  // A new password ends every session anyway; otherwise only the first verification does.
  const unverifiedOwner = sql`(SELECT ${users.id} FROM ${users} WHERE ${users.id} = ${owner} AND ${users.emailVerifiedAt} IS NULL)`;
  const password = use.newPasswordHash
    ? sql`${use.newPasswordHash}`
    : use.provenPasswordHash
      ? sql`CASE WHEN ${users.emailVerifiedAt} IS NOT NULL OR ${users.passwordHash} = ${use.provenPasswordHash} THEN ${users.passwordHash} WHEN ${users.pendingPasswordHash} = ${use.provenPasswordHash} THEN ${users.pendingPasswordHash} END`
      : sql`CASE WHEN ${users.emailVerifiedAt} IS NOT NULL THEN ${users.passwordHash} END`;
  // SQLite evaluates every SET expression against the row as it was, so `password` still sees
  // the old email_verified_at.
  const results = await db.batch([
    ...endSessionsStatements(db, use.newPasswordHash ? owner : unverifiedOwner, now),
    db
      .update(users)
      .set({ passwordHash: password, pendingPasswordHash: null, emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, ${now})`, updatedAt: now })
      .where(eq(users.id, owner)),
    revokeTokensStatement(db, owner, now, { exceptHash: tokenHash }),
    claimTokenStatement(db, tokenHash, use.purpose, now),
  ]);
  const userId = results[4][0]?.userId;
  if (userId === undefined) return null;
  return (await db.select().from(users).where(eq(users.id, userId)).get()) ?? null;
}

/**
 * The statements that make the operator's word the proof (create-admin, set-password): the
 * account is marked verified, every session and mailed token of it ends, and the given password
 * is the only one. Batch them with the change and its audit row.
 */
export function operatorVerifiedStatements(db: Db, userId: number, passwordHash: string, now: number) {
  return [
    ...endSessionsStatements(db, userId, now),
    revokeTokensStatement(db, userId, now),
    db
      .update(users)
      .set({ passwordHash, pendingPasswordHash: null, emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, ${now})`, updatedAt: now })
      .where(eq(users.id, userId)),
  ] as const;
}
