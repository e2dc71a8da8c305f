// Single-use secrets sent by email (password reset, sign-in link). The email carries 32 random
// bytes; the store keeps only their SHA-256, so a copy of the store cannot be used to sign in.
import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Db } from '../context.ts';
import { authTokens, users, type User } from '../db/schema.ts';
import { sha256Hex } from '../sha256.ts';

export type TokenPurpose = 'reset' | 'link';

export const TOKEN_LIFETIME_MS: Record<TokenPurpose, number> = {
  reset: 60 * 60 * 1000,
  link: 15 * 60 * 1000,
};

/** Shape of a token in a URL: 43 base64url characters. Anything else is not worth a query. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** 32 random bytes as base64url: the secret of every emailed token. */
export function newTokenSecret(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** Creates a token for `userId` and returns the secret to put in the link. */
export async function issueToken(db: Db, userId: number, purpose: TokenPurpose, now: number, lifetimeMs = TOKEN_LIFETIME_MS[purpose]): Promise<string> {
  const token = newTokenSecret();
  await db.insert(authTokens).values({
    userId,
    purpose,
    tokenHash: await sha256Hex(token),
    expiresAt: now + lifetimeMs,
    createdAt: now,
  });
  return token;
}

/** The account a still-usable token belongs to, without using it up (to show the right form). */
export async function getTokenUser(db: Db, token: string, purpose: TokenPurpose, now: number): Promise<User | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const [row] = await db
    .select({ user: users })
    .from(authTokens)
    .innerJoin(users, eq(users.id, authTokens.userId))
    .where(
      and(eq(authTokens.tokenHash, await sha256Hex(token)), eq(authTokens.purpose, purpose), isNull(authTokens.usedAt), gt(authTokens.expiresAt, now)),
    )
    .limit(1);
  return row?.user ?? null;
}

/**
 * Marks a usable token as used and returns its account id, or null. One conditional UPDATE, so
 * that two requests racing with the same link cannot both succeed.
 */
export async function claimToken(db: Db, token: string, purpose: TokenPurpose, now: number): Promise<number | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const [row] = await db
    .update(authTokens)
    .set({ usedAt: now })
    .where(
      and(eq(authTokens.tokenHash, await sha256Hex(token)), eq(authTokens.purpose, purpose), isNull(authTokens.usedAt), gt(authTokens.expiresAt, now)),
    )
    .returning({ userId: authTokens.userId });
  return row?.userId ?? null;
}
