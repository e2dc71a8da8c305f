// Single-use secrets sent by email (password reset and set-password, sign-in link, the address
// confirmation sent at sign-up). The email carries 32 random bytes; the store keeps only their
// SHA-256, so a copy of the store cannot be used to sign in. Using one is email-verification.ts.
import { and, eq, gt, isNull, ne, sql, type SQL } from 'drizzle-orm';
import type { AppContext, Db } from '../context.ts';
import { caughtUp } from '../db/replica.ts';
import { authTokens, users, type User } from '../db/schema.ts';
import { sha256Hex } from '../sha256.ts';

export type TokenPurpose = 'reset' | 'link' | 'verify';

export const TOKEN_LIFETIME_MS: Record<TokenPurpose, number> = {
  reset: 60 * 60 * 1000,
  link: 15 * 60 * 1000,
  // It also asks for the password chosen at sign-up, so a week in an inbox costs little.
  verify: 7 * 24 * 60 * 60 * 1000,
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

/**
 * The statement that spends every outstanding mailed token of an account (of one purpose, when
 * given; all but the token whose hash is `exceptHash`, when given): a password change, a
 * verification or a newer link of the same kind makes them worthless.
 */
export function revokeTokensStatement(db: Db, userId: number | SQL, now: number, options: { purpose?: TokenPurpose; exceptHash?: string } = {}) {
  return db
    .update(authTokens)
    .set({ usedAt: now })
    .where(
      and(
        eq(authTokens.userId, userId),
        isNull(authTokens.usedAt),
        options.purpose ? eq(authTokens.purpose, options.purpose) : undefined,
        options.exceptHash ? ne(authTokens.tokenHash, options.exceptHash) : undefined,
      ),
    );
}

/** The statement that stores a new token; with `revokeTokensStatement` of its purpose, in one batch. */
export function insertTokenStatement(db: Db, input: { userId: number; purpose: TokenPurpose; tokenHash: string; now: number; lifetimeMs: number }) {
  return db
    .insert(authTokens)
    .values({ userId: input.userId, purpose: input.purpose, tokenHash: input.tokenHash, expiresAt: input.now + input.lifetimeMs, createdAt: input.now });
}

/**
 * Creates a token for `userId` and returns the secret to put in the link. Older unused tokens of
 * the same purpose stop working: only the newest link of a kind works.
 */
export async function issueToken(db: Db, userId: number, purpose: TokenPurpose, now: number, lifetimeMs = TOKEN_LIFETIME_MS[purpose]): Promise<string> {
  const token = newTokenSecret();
  await db.batch([
    revokeTokensStatement(db, userId, now, { purpose }),
    insertTokenStatement(db, { userId, purpose, tokenHash: await sha256Hex(token), now, lifetimeMs }),
  ]);
  return token;
}

/** SQL: the account a usable token of this hash and purpose belongs to (NULL for any other token). */
export function tokenOwnerSql(tokenHash: string, purpose: TokenPurpose, now: number): SQL {
  return sql`(SELECT ${authTokens.userId} FROM ${authTokens} WHERE ${usableSql(tokenHash, purpose, now)})`;
}

function usableSql(tokenHash: string, purpose: TokenPurpose, now: number): SQL {
  return and(eq(authTokens.tokenHash, tokenHash), eq(authTokens.purpose, purpose), isNull(authTokens.usedAt), gt(authTokens.expiresAt, now))!;
}

/**
 * The account a still-usable token belongs to, without using it up (to show the right form). On a
 * replica, a token not found is looked for again after a sync: it may have been issued through
 * another server a moment ago (docs/decisions/0016).
 */
export async function getTokenUser(ctx: Pick<AppContext, 'db' | 'replica'>, token: string, purpose: TokenPurpose, now: number): Promise<User | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const tokenHash = await sha256Hex(token);
  const find = async () =>
    (
      await ctx.db
        .select({ user: users })
        .from(authTokens)
        .innerJoin(users, eq(users.id, authTokens.userId))
        .where(usableSql(tokenHash, purpose, now))
        .limit(1)
    )[0];
  const row = (await find()) ?? ((await caughtUp(ctx)) ? await find() : undefined);
  return row?.user ?? null;
}

/**
 * The statement that marks a usable token as used and returns its account id. One conditional
 * UPDATE, so that of two requests racing with the same link only one gets a row back.
 */
export function claimTokenStatement(db: Db, tokenHash: string, purpose: TokenPurpose, now: number) {
  return db
    .update(authTokens)
    .set({ usedAt: now })
    .where(usableSql(tokenHash, purpose, now))
    .returning({ userId: authTokens.userId });
}
