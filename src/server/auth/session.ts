// Sessions are JWTs in a cookie, so any process can check one without shared memory. The store
// is still read once per request to compare the token's session version (`sv`) with the
// member's: signing out everywhere or changing the password bumps it and every older token dies.
import { eq } from 'drizzle-orm';
import { SignJWT, jwtVerify } from 'jose';
import type { AppContext } from '../context.ts';
import type { Config } from '../config.ts';
import { users, type User } from '../db/schema.ts';
import { readCookie, serializeCookie } from '../http/cookies.ts';

export const SESSION_COOKIE = 'session';
export const SESSION_LIFETIME_S = 30 * 24 * 60 * 60;
/** A token older than this is replaced by a fresh one on the next request (sliding expiry). */
export const SESSION_RENEW_AFTER_S = 24 * 60 * 60;

const ALGORITHM = 'HS256';

export type SessionClaims = { userId: number; sessionVersion: number; issuedAt: number };

/** Read from the account's row on every request, so a changed role or password applies at once. */
export type Member = { id: number; email: string; hasPassword: boolean; emailVerified: boolean; sessionVersion: number; role: User['role'] };

function key(config: Config): Uint8Array {
  return new TextEncoder().encode(config.sessionSecret);
}

export async function createSessionToken(user: { id: number; sessionVersion: number }, config: Config, now: number): Promise<string> {
  const issuedAt = Math.floor(now / 1000);
  return new SignJWT({ sv: user.sessionVersion })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(String(user.id))
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + SESSION_LIFETIME_S)
    .sign(key(config));
}

/** The claims of a valid token, or null for anything else (tampered, expired, other algorithm). */
export async function verifySessionToken(token: string, config: Config, now: number): Promise<SessionClaims | null> {
  try {
    const { payload } = await jwtVerify(token, key(config), {
      algorithms: [ALGORITHM],
      currentDate: new Date(now),
      requiredClaims: ['sub', 'iat', 'exp', 'sv'],
    });
    const userId = Number(payload.sub);
    const sessionVersion = payload.sv;
    if (!Number.isSafeInteger(userId) || userId < 1 || typeof sessionVersion !== 'number' || !Number.isSafeInteger(sessionVersion)) return null;
    return { userId, sessionVersion, issuedAt: payload.iat! };
  } catch {
    return null;
  }
}

/** Secure whenever the site is HTTPS, or this request reached us over HTTPS (a trusted proxy). */
function secure(request: Request, config: Config): boolean {
  return config.siteUrl.protocol === 'https:' || new URL(request.url).protocol === 'https:';
}

export function sessionCookie(token: string, request: Request, config: Config): string {
  return serializeCookie(SESSION_COOKIE, token, { maxAge: SESSION_LIFETIME_S, secure: secure(request, config), domain: config.cookieDomain });
}

export function clearSessionCookie(request: Request, config: Config): string {
  return serializeCookie(SESSION_COOKIE, '', { maxAge: 0, secure: secure(request, config), domain: config.cookieDomain });
}

export async function startSession(user: { id: number; sessionVersion: number }, request: Request, ctx: AppContext): Promise<string> {
  return sessionCookie(await createSessionToken(user, ctx.config, ctx.clock.now()), request, ctx.config);
}

export type SessionState = {
  member: Member | null;
  /** A Set-Cookie value to send back: a renewed token, or the clearing of a dead one. */
  setCookie: string | null;
};

function toMember(user: User): Member {
  return { id: user.id, email: user.email, hasPassword: user.passwordHash !== null, emailVerified: user.emailVerifiedAt !== null, sessionVersion: user.sessionVersion, role: user.role };
}

/**
 * Who is making this request. A missing cookie is anonymous; a cookie that is invalid for any
 * reason is anonymous too and gets cleared, never an error.
 */
export async function getMember(request: Request, ctx: AppContext): Promise<SessionState> {
  const token = readCookie(request, SESSION_COOKIE);
  if (token === null) return { member: null, setCookie: null };
  const now = ctx.clock.now();
  const claims = await verifySessionToken(token, ctx.config, now);
  const user = claims ? await ctx.db.select().from(users).where(eq(users.id, claims.userId)).get() : undefined;
  if (!claims || !user || user.sessionVersion !== claims.sessionVersion) {
    return { member: null, setCookie: clearSessionCookie(request, ctx.config) };
  }
  const renew = Math.floor(now / 1000) - claims.issuedAt > SESSION_RENEW_AFTER_S;
  return { member: toMember(user), setCookie: renew ? await startSession(user, request, ctx) : null };
}
