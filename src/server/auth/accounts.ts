// Reading and writing accounts. Every function takes an already normalised email.
import { eq, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../context.ts';
import { sessions, users, type User } from '../db/schema.ts';
import { revokeTokensStatement } from './tokens.ts';

export async function getUserByEmail(db: Db, email: string): Promise<User | null> {
  return (await db.select().from(users).where(eq(users.email, email)).get()) ?? null;
}

/**
 * Creates an account from the sign-up form, its password pending until the emailed confirmation
 * proves the address; returns null when the email already has an account.
 */
export async function createUser(db: Db, email: string, pendingPasswordHash: string, now: number): Promise<User | null> {
  const [user] = await db.insert(users).values({ email, pendingPasswordHash, createdAt: now, updatedAt: now }).onConflictDoNothing().returning();
  return user ?? null;
}

/**
 * Replaces the password: every session ends and every mailed token of the account stops working
 * (a reset link must not outlive the password it was meant to replace). The caller starts a new
 * session for the browser that asked, if any. Returns the account as it now is.
 */
export async function setPassword(db: Db, userId: number, passwordHash: string, now: number): Promise<User | null> {
  const [, , , [user]] = await db.batch([
    ...endSessionsStatements(db, userId, now),
    revokeTokensStatement(db, userId, now),
    db.update(users).set({ passwordHash, pendingPasswordHash: null, updatedAt: now }).where(eq(users.id, userId)).returning(),
  ]);
  return user ?? null;
}

/** Stores a stronger hash of the same password (at sign-in): nothing else changes. */
export async function rehashPassword(db: Db, userId: number, passwordHash: string, now: number): Promise<void> {
  await db.update(users).set({ passwordHash, updatedAt: now }).where(eq(users.id, userId));
}

/**
 * The statements that sign an account out everywhere: its session rows go, and every token carrying
 * an older session version stops working. Batch them with the change that calls for it. `userId`
 * may be SQL (a subquery that is NULL when the change does not happen: then they change nothing).
 */
export function endSessionsStatements(db: Db, userId: number | SQL, now: number) {
  return [
    db
      .update(users)
      .set({ sessionVersion: sql`${users.sessionVersion} + 1`, updatedAt: now })
      .where(eq(users.id, userId)),
    db.delete(sessions).where(eq(sessions.userId, userId)),
  ] as const;
}

/** Signs the account out everywhere. */
export async function bumpSessionVersion(db: Db, userId: number, now: number): Promise<void> {
  await db.batch(endSessionsStatements(db, userId, now));
}
