// The one session module: every path that asks who is signed in (pages, API, the lesson gate,
// private media, admin, /api/me) reads, checks, renews and clears the session here, on Node and
// on Cloudflare alike. A session is two things:
//
// - a row in `sessions` (one per signed-in browser) with an absolute end, `expires_at`, that no
//   renewal passes; signing out deletes the row, so a copied token dies with it;
// - a JWT in an HttpOnly cookie naming the row (`sid`), the member (`sub`) and the account's
//   session version (`sv`; signing out everywhere or a new password bumps it). The token slides:
//   past a day old it is replaced, never beyond the row's end.
//
// The token is verified without the store (verifications are remembered: most of a lesson
// request's own CPU time is the HMAC), and the row is checked inside the one query each request
// makes anyway: `sessionColumnsSql` is the fragment that query includes, `settleSession` the rule
// applied to its answer. See docs/security.md, "Sessions and the success-page sign-in".
import { sql, type SQL } from 'drizzle-orm';
import { SignJWT, jwtVerify } from 'jose';
import type { AppContext } from '../context.ts';
import type { Config } from '../config.ts';
import { caughtUp } from '../db/replica.ts';
import { sessions, type User } from '../db/schema.ts';
import { serializeCookie } from '../http/cookies.ts';
import { redirect } from '../http/responses.ts';

/** How long a token is good for without being renewed (it is renewed after a day of use). */
export const SESSION_TOKEN_LIFETIME_S = 30 * 24 * 60 * 60;
/** A token older than this is replaced by a fresh one on the next request (sliding expiry). */
export const SESSION_RENEW_AFTER_S = 24 * 60 * 60;
/** The absolute end of a session after sign-in, however often it is renewed. */
export const SESSION_ABSOLUTE_LIFETIME_MS = 90 * 24 * 60 * 60 * 1000;
/**
 * The cookie earlier releases used, with tokens that carry no `sid` (checked by session version
 * alone). Accepted for one release and replaced on sight by a session with a row; see
 * `settleSession`. Remove with LEGACY tokens in the release after.
 */
export const LEGACY_SESSION_COOKIE = 'session';

const ALGORITHM = 'HS256';
/** Expired rows deleted per new session: the sweep costs a bounded, indexed delete. */
const SWEEP_BATCH = 50;

/**
 * The cookie's name. `__Host-` on an https site without COOKIE_DOMAIN: the browser then only
 * accepts it Secure, for Path=/ and this host alone, so no sibling subdomain or plain-http page can
 * plant or shadow it. With COOKIE_DOMAIN the cookie must carry a Domain, which `__Host-` forbids:
 * `__Secure-` keeps the https guarantee. On a plain-http site (loopback development) browsers
 * refuse both prefixes, so the name stays `session`.
 */
export function sessionCookieName(config: Config): string {
  if (config.siteUrl.protocol !== 'https:') return LEGACY_SESSION_COOKIE;
  return config.cookieDomain ? '__Secure-session' : '__Host-session';
}

export type SessionClaims = {
  userId: number;
  sessionVersion: number;
  /** The row in `sessions`; null for a token of an earlier release (see LEGACY_SESSION_COOKIE). */
  sessionId: string | null;
  issuedAt: number;
};

/** Read from the account's row on every request, so a changed role or password applies at once. */
export type Member = { id: number; email: string; hasPassword: boolean; emailVerified: boolean; sessionVersion: number; role: User['role'] };

function key(config: Config): Uint8Array {
  return new TextEncoder().encode(config.sessionSecret);
}

/** Random, 128 bits, base64url: the id of a session row. */
function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * A signed token. `endsAtMs`, the row's absolute end, caps the token's own expiry. Without a
 * `sessionId` it is a token as earlier releases made them (tests of the upgrade sign those).
 */
export async function createSessionToken(
  session: { userId: number; sessionVersion: number; sessionId: string | null; endsAtMs?: number },
  config: Config,
  now: number,
): Promise<string> {
  const issuedAt = Math.floor(now / 1000);
  const expiresAt = Math.min(issuedAt + SESSION_TOKEN_LIFETIME_S, session.endsAtMs === undefined ? Infinity : Math.floor(session.endsAtMs / 1000));
  return new SignJWT(session.sessionId === null ? { sv: session.sessionVersion } : { sv: session.sessionVersion, sid: session.sessionId })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(String(session.userId))
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .sign(key(config));
}

/** The claims of a valid token, or null for anything else (tampered, expired, other algorithm). */
async function verifySessionToken(token: string, config: Config, now: number): Promise<{ claims: SessionClaims; expiresAtMs: number } | null> {
  try {
    const { payload } = await jwtVerify(token, key(config), {
      algorithms: [ALGORITHM],
      currentDate: new Date(now),
      requiredClaims: ['sub', 'iat', 'exp', 'sv'],
    });
    const userId = Number(payload.sub);
    const { sv, sid } = payload;
    if (!Number.isSafeInteger(userId) || userId < 1 || typeof sv !== 'number' || !Number.isSafeInteger(sv)) return null;
    if (sid !== undefined && (typeof sid !== 'string' || !/^[\w-]{10,64}$/.test(sid))) return null;
    return { claims: { userId, sessionVersion: sv, sessionId: sid ?? null, issuedAt: payload.iat! }, expiresAtMs: payload.exp! * 1000 };
  } catch {
    return null;
  }
}

/**
 * Tokens that verified, until they expire. A lesson page is read many times with the same
 * cookie. Only successes are kept, per configuration (a test process may run several), and the
 * map is bounded. A remembered token is still checked against its row at every request.
 */
const verified = new WeakMap<Config, Map<string, { claims: SessionClaims; expiresAtMs: number }>>();
const MAX_VERIFIED = 10_000;

async function verifiedClaims(token: string, config: Config, now: number): Promise<SessionClaims | null> {
  let cache = verified.get(config);
  if (!cache) verified.set(config, (cache = new Map()));
  const hit = cache.get(token);
  if (hit) {
    if (hit.expiresAtMs > now) return hit.claims;
    cache.delete(token);
  }
  const result = await verifySessionToken(token, config, now);
  if (!result) return null;
  // Map keeps insertion order: the first key is the oldest entry.
  if (cache.size >= MAX_VERIFIED) cache.delete(cache.keys().next().value!);
  cache.set(token, result);
  return result.claims;
}

/** The value of cookie `name` in a Cookie header (the first one), or null. */
function cookieValue(header: string, name: string): string | null {
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index === -1 || part.slice(0, index).trim() !== name) continue;
    const value = part.slice(index + 1).trim();
    return value === '' ? null : value;
  }
  return null;
}

/** What the cookies say before the store is asked. */
export type SessionRead = {
  /** Valid claims, or null (no token, or one that does not verify). */
  claims: SessionClaims | null;
  /** A session cookie was sent (a dead one is cleared). */
  hadToken: boolean;
  /** Which cookie names were sent, so that exactly those are cleared or replaced. */
  sentCurrent: boolean;
  sentLegacy: boolean;
};

/** Reads the session cookie (the current name first, then the earlier release's) and verifies it. */
export async function readSession(cookieHeader: string | null | undefined, ctx: AppContext): Promise<SessionRead> {
  const name = sessionCookieName(ctx.config);
  const current = cookieHeader ? cookieValue(cookieHeader, name) : null;
  const legacy = cookieHeader && name !== LEGACY_SESSION_COOKIE ? cookieValue(cookieHeader, LEGACY_SESSION_COOKIE) : null;
  const token = current ?? legacy;
  const read = { claims: null, hadToken: token !== null, sentCurrent: current !== null, sentLegacy: legacy !== null };
  if (token === null) return read;
  return { ...read, claims: await verifiedClaims(token, ctx.config, ctx.clock.now()) };
}

/** Secure whenever the site is HTTPS, or this request reached us over HTTPS (a trusted proxy). */
function secure(url: string, config: Config): boolean {
  return config.siteUrl.protocol === 'https:' || url.startsWith('https:');
}

function cookieOptions(url: string, config: Config, maxAge: number) {
  const name = sessionCookieName(config);
  // `__Host-` forbids a Domain; the other names carry COOKIE_DOMAIN when one is set.
  return { maxAge, secure: secure(url, config), domain: name.startsWith('__Host-') ? undefined : config.cookieDomain };
}

function tokenCookie(token: string, maxAgeS: number, url: string, config: Config): string {
  return serializeCookie(sessionCookieName(config), token, cookieOptions(url, config, Math.max(0, maxAgeS)));
}

/**
 * The Set-Cookie values that clear a session: the current cookie, and the earlier release's if it
 * was sent (`read`) or might be there (no `read`: signing out clears both).
 */
export function clearSessionCookies(url: string, config: Config, read?: Pick<SessionRead, 'sentCurrent' | 'sentLegacy'>): string[] {
  const name = sessionCookieName(config);
  const cookies: string[] = [];
  if (!read || read.sentCurrent || name === LEGACY_SESSION_COOKIE) cookies.push(serializeCookie(name, '', cookieOptions(url, config, 0)));
  if (name !== LEGACY_SESSION_COOKIE && (!read || read.sentLegacy)) {
    cookies.push(serializeCookie(LEGACY_SESSION_COOKIE, '', { maxAge: 0, secure: secure(url, config), domain: config.cookieDomain }));
  }
  return cookies;
}

/**
 * Signs `user` in on this browser: a new session row (with its absolute end) and the Set-Cookie
 * carrying its token. A few expired rows of anyone are swept in the same batch.
 */
export async function startSession(user: { id: number; sessionVersion: number }, request: Request, ctx: AppContext): Promise<string> {
  const now = ctx.clock.now();
  const sessionId = newSessionId();
  const endsAtMs = now + SESSION_ABSOLUTE_LIFETIME_MS;
  await ctx.db.batch([
    ctx.db.insert(sessions).values({ id: sessionId, userId: user.id, createdAt: now, expiresAt: endsAtMs }),
    ctx.db.run(sql`DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at <= ${now} LIMIT ${SWEEP_BATCH})`),
  ]);
  const token = await createSessionToken({ userId: user.id, sessionVersion: user.sessionVersion, sessionId, endsAtMs }, ctx.config, now);
  return tokenCookie(token, SESSION_TOKEN_LIFETIME_S, request.url, ctx.config);
}

/**
 * SQL: the columns a request's one query adds to check the session, in a query over `users u`:
 * the account's session version (`sv`) and the end of the token's row (`sx`, null when this
 * member has no such row). `sessionId` is the token's `sid` ('' for a token without one).
 */
export function sessionColumnsSql(sessionId: SQL | string): SQL {
  return sql`u.session_version AS sv, (SELECT s.expires_at FROM sessions s WHERE s.id = ${sessionId} AND s.user_id = u.id) AS sx`;
}

/** What the query returned of `sessionColumnsSql` (no row at all: no such member). */
export type SessionRecord = { sv: number | bigint; sx: number | bigint | null };

export type SettledSession = { valid: boolean; setCookies: string[] };

/**
 * Whether the query's answer may only mean that a replica has not yet seen a write made through
 * another server (docs/decisions/0016): no such member (just signed up), no such session row (just
 * signed in), or an account version older than the token's (a password just changed). A version
 * newer than the token's, or a row past its end, is a real "no".
 */
export function mayBeUnseen(claims: SessionClaims, record: SessionRecord | undefined): boolean {
  return !record || Number(record.sv) < claims.sessionVersion || (claims.sessionId !== null && record.sx === null);
}

/**
 * The request's one query, asked again after the replica caught up when its answer would turn the
 * member away and may only be behind: the session looks unknown, or `refused(row)` (a course not
 * owned). On a store that is its own primary the first answer stands.
 */
export async function readCurrent<R extends SessionRecord>(
  claims: SessionClaims,
  query: () => Promise<R | undefined>,
  ctx: AppContext,
  refused?: (row: R) => boolean,
): Promise<R | undefined> {
  const row = await query();
  if (!ctx.replica || !(mayBeUnseen(claims, row) || (row && refused?.(row)))) return row;
  return (await caughtUp(ctx)) ? query() : row;
}

/**
 * The rule, applied to the one query's answer for verified `read.claims`: the token must carry
 * the account's current session version, and its row must exist and not be past its end. A dead
 * session is cleared; a live one is renewed after a day (never past the row's end), or, for a
 * token of the earlier release (no row; checked by version alone), replaced at once by a session
 * with a row under the current cookie name, the old cookie cleared: nobody is signed out by the
 * upgrade, and from then on signing out ends the session on the server.
 */
export async function settleSession(
  read: SessionRead & { claims: SessionClaims },
  record: SessionRecord | undefined,
  url: string,
  ctx: AppContext,
): Promise<SettledSession> {
  const { claims } = read;
  const now = ctx.clock.now();
  const dead = (): SettledSession => ({ valid: false, setCookies: clearSessionCookies(url, ctx.config, read) });
  if (!record || Number(record.sv) !== claims.sessionVersion) return dead();

  if (claims.sessionId === null) {
    const cookie = await startSession({ id: claims.userId, sessionVersion: claims.sessionVersion }, requestAt(url, ctx.config), ctx);
    ctx.log.info('session.upgraded', { userId: claims.userId });
    const name = sessionCookieName(ctx.config);
    return {
      valid: true,
      setCookies: name === LEGACY_SESSION_COOKIE ? [cookie] : [cookie, ...clearSessionCookies(url, ctx.config, { sentCurrent: false, sentLegacy: true })],
    };
  }

  const endsAtMs = record.sx === null ? null : Number(record.sx);
  if (endsAtMs === null || endsAtMs <= now) return dead();
  const movedName = !read.sentCurrent;
  if (!movedName && Math.floor(now / 1000) - claims.issuedAt <= SESSION_RENEW_AFTER_S) return { valid: true, setCookies: [] };
  const token = await createSessionToken({ ...claims, endsAtMs }, ctx.config, now);
  const renewed = tokenCookie(token, Math.min(SESSION_TOKEN_LIFETIME_S, Math.floor((endsAtMs - now) / 1000)), url, ctx.config);
  return { valid: true, setCookies: movedName ? [renewed, ...clearSessionCookies(url, ctx.config, { sentCurrent: false, sentLegacy: true })] : [renewed] };
}

/** A stand-in Request for `startSession`, which only reads its URL's protocol. */
function requestAt(url: string, config: Config): Request {
  try {
    return new Request(url);
  } catch {
    return new Request(config.siteUrl);
  }
}

export type SessionState = {
  member: Member | null;
  /** The session row of the request, when there is a live one (what signing out deletes). */
  sessionId: string | null;
  /** Set-Cookie values to send back: a renewed token, an upgraded one, or the clearing of a dead one. */
  setCookies: string[];
};

/**
 * Who is making this request, for the paths that need the member's account (pages, forms, admin):
 * one query reads the account and checks the session. A missing cookie is anonymous; a cookie that
 * is invalid for any reason is anonymous too and gets cleared, never an error.
 */
export async function getMember(request: Request, ctx: AppContext): Promise<SessionState> {
  const read = await readSession(request.headers.get('cookie'), ctx);
  if (!read.claims) return { member: null, sessionId: null, setCookies: read.hadToken ? clearSessionCookies(request.url, ctx.config, read) : [] };
  const { userId, sessionId } = read.claims;
  // `all`, not `get`: drizzle's raw `get` throws instead of answering nothing for a deleted member.
  type Row = SessionRecord & { email: string; hasPassword: number; emailVerified: number; role: User['role'] };
  const query = async () =>
    (
      await ctx.db.all<Row>(
        sql`SELECT u.email AS email, u.password_hash IS NOT NULL AS hasPassword, u.email_verified_at IS NOT NULL AS emailVerified, u.role AS role, ${sessionColumnsSql(sessionId ?? '')}
          FROM users u WHERE u.id = ${userId}`,
      )
    )[0];
  const row = await readCurrent(read.claims, query, ctx);
  const settled = await settleSession({ ...read, claims: read.claims }, row, request.url, ctx);
  if (!settled.valid || !row) return { member: null, sessionId: null, setCookies: settled.setCookies };
  return {
    member: {
      id: userId,
      email: row.email,
      hasPassword: Boolean(row.hasPassword),
      emailVerified: Boolean(row.emailVerified),
      sessionVersion: Number(row.sv),
      role: row.role,
    },
    sessionId,
    setCookies: settled.setCookies,
  };
}

/** Where a visitor signs in on their way to `next` (a path of this site), and comes back to it. */
export function signInPath(next: string): string {
  return `/login?${new URLSearchParams({ next })}`;
}

/**
 * The signed-in member, for a page or form that only a member may use; anyone else is sent to sign
 * in and brought back to `next` afterwards (their dead cookie cleared on the way).
 */
export async function requireMember(request: Request, ctx: AppContext, next: string): Promise<(SessionState & { member: Member }) | Response> {
  const state = await getMember(request, ctx);
  return state.member ? { ...state, member: state.member } : redirect(signInPath(next), state.setCookies);
}

/**
 * Signing out on this browser: the token's row is deleted, so the token is dead wherever a copy
 * of it is, and both cookie names are cleared. Returns the Set-Cookie values.
 */
export async function endSession(request: Request, ctx: AppContext): Promise<string[]> {
  const read = await readSession(request.headers.get('cookie'), ctx);
  if (read.claims?.sessionId) {
    await ctx.db.run(sql`DELETE FROM sessions WHERE id = ${read.claims.sessionId} AND user_id = ${read.claims.userId}`);
  }
  return clearSessionCookies(request.url, ctx.config);
}
