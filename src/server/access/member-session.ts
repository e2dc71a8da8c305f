// The session half of a request that may cost at most one store query (the lesson gate, /api/me).
// `getMember` reads the member with a query of its own; these requests instead verify the token
// here, without the store, and check the session version inside the one query they make anyway.
// The rules are getMember's: a dead token is cleared, a token older than a day is renewed.
import { decodeJwt } from 'jose';
import type { Config } from '../config.ts';
import type { AppContext } from '../context.ts';
import {
  clearSessionCookie,
  createSessionToken,
  SESSION_COOKIE,
  SESSION_RENEW_AFTER_S,
  sessionCookie,
  verifySessionToken,
  type SessionClaims,
} from '../auth/session.ts';

/** The session token in a Cookie header, or null. Same reading as cookies.ts `readCookie`. */
export function sessionTokenOf(cookieHeader: string | null | undefined): string | null {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(';')) {
    const index = part.indexOf('=');
    if (index === -1 || part.slice(0, index).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(index + 1).trim();
    return value === '' ? null : value;
  }
  return null;
}

/**
 * Tokens that verified, until they expire. A lesson page is read many times with the same
 * cookie; an HMAC check per request is most of the gate's own CPU time. Only successes are kept,
 * per configuration (a test process may run several), and the map is bounded.
 */
const verified = new WeakMap<Config, Map<string, { claims: SessionClaims; expiresAtMs: number }>>();
const MAX_VERIFIED = 10_000;

export async function verifiedClaims(token: string, config: Config, now: number): Promise<SessionClaims | null> {
  let cache = verified.get(config);
  if (!cache) verified.set(config, (cache = new Map()));
  const hit = cache.get(token);
  if (hit) {
    if (hit.expiresAtMs > now) return hit.claims;
    cache.delete(token);
  }
  const claims = await verifySessionToken(token, config, now);
  if (!claims) return null;
  const exp = decodeJwt(token).exp;
  if (typeof exp === 'number') {
    // Map keeps insertion order: the first key is the oldest entry.
    if (cache.size >= MAX_VERIFIED) cache.delete(cache.keys().next().value!);
    cache.set(token, { claims, expiresAtMs: exp * 1000 });
  }
  return claims;
}

/** What the cookie says before the store is asked: no token, a dead token, or valid claims. */
export type SessionRead = { claims: SessionClaims | null; hadToken: boolean };

export async function readSession(cookieHeader: string | null | undefined, ctx: AppContext): Promise<SessionRead> {
  const token = sessionTokenOf(cookieHeader);
  if (token === null) return { claims: null, hadToken: false };
  return { claims: await verifiedClaims(token, ctx.config, ctx.clock.now()), hadToken: true };
}

/** A stand-in Request for the cookie helpers, which only read its URL's protocol. */
function requestFor(url: string, config: Config): Request {
  try {
    return new Request(url);
  } catch {
    return new Request(config.siteUrl);
  }
}

/** The Set-Cookie that clears a token the store did not accept (or that did not verify). */
export function clearedSessionCookie(url: string, ctx: AppContext): string {
  return clearSessionCookie(requestFor(url, ctx.config), ctx.config);
}

/** A renewed token for a member whose token is older than a day, or null. */
export async function renewedSessionCookie(
  claims: SessionClaims,
  url: string,
  ctx: AppContext,
): Promise<string | null> {
  const now = ctx.clock.now();
  if (Math.floor(now / 1000) - claims.issuedAt <= SESSION_RENEW_AFTER_S) return null;
  const token = await createSessionToken({ id: claims.userId, sessionVersion: claims.sessionVersion }, ctx.config, now);
  return sessionCookie(token, requestFor(url, ctx.config), ctx.config);
}
