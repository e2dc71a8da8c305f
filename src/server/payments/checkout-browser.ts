// The browser that started a guest checkout. The success page may sign a guest buyer in without a
// password, and only the browser that paid may be signed in that way, so it must prove it: at
// checkout it receives a random secret in an HttpOnly cookie (never in a URL, where history,
// screenshots and shared links would carry it), and the store keeps only the secret's SHA-256,
// keyed by the Checkout Session. The success page claims the row once (`used_at`, one conditional
// UPDATE), so a second use, by the buyer or anyone holding a copy, signs nobody in.
import { sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { rowsAffected } from '../db/results.ts';
import { serializeCookie } from '../http/cookies.ts';
import { sha256Hex } from '../sha256.ts';

/**
 * `__Host-` on an https site: only this host, over https, may set it, so no sibling subdomain can
 * plant a secret it knows. Plain-http development cannot use the prefix.
 */
export function checkoutCookieName(siteUrl: URL): string {
  return siteUrl.protocol === 'https:' ? '__Host-checkout' : 'checkout';
}

/** Long enough for the buyer to pay with a slow bank; the sign-in window itself is shorter. */
const COOKIE_LIFETIME_S = 24 * 60 * 60;
/** Rows older than this can no longer sign anyone in and are swept. */
const KEEP_MS = COOKIE_LIFETIME_S * 1000;
const SWEEP_BATCH = 50;
/** 32 random bytes, base64url. */
const SECRET = /^[A-Za-z0-9_-]{43}$/;

function cookieSecret(request: Request, name: string): string | null {
  const header = request.headers.get('cookie') ?? '';
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index !== -1 && part.slice(0, index).trim() === name) {
      const value = part.slice(index + 1).trim();
      return SECRET.test(value) ? value : null;
    }
  }
  return null;
}

function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Records that this browser started `checkoutSessionId` and returns the Set-Cookie holding its
 * secret. A browser keeps one secret for all its checkouts of the day, so a second tab does not
 * undo the first. Old rows are swept in the same batch.
 */
export async function rememberCheckoutBrowser(request: Request, checkoutSessionId: string, ctx: AppContext): Promise<string> {
  const name = checkoutCookieName(ctx.config.siteUrl);
  const secret = cookieSecret(request, name) ?? newSecret();
  const now = ctx.clock.now();
  await ctx.db.batch([
    ctx.db.run(sql`INSERT INTO checkout_starts (checkout_session_id, browser_secret_hash, created_at)
      VALUES (${checkoutSessionId}, ${await sha256Hex(secret)}, ${now}) ON CONFLICT (checkout_session_id) DO NOTHING`),
    ctx.db.run(sql`DELETE FROM checkout_starts WHERE checkout_session_id IN
      (SELECT checkout_session_id FROM checkout_starts WHERE created_at < ${now - KEEP_MS} LIMIT ${SWEEP_BATCH})`),
  ]);
  return serializeCookie(name, secret, { maxAge: COOKIE_LIFETIME_S, secure: ctx.config.siteUrl.protocol === 'https:' });
}

/**
 * True once, for the browser that started `checkoutSessionId`: its cookie's secret hashes to the
 * stored hash and the row was not used. The claim is one conditional UPDATE, so two requests
 * racing with the same cookie cannot both win.
 */
export async function claimCheckoutBrowser(request: Request, checkoutSessionId: string, ctx: AppContext): Promise<boolean> {
  const secret = cookieSecret(request, checkoutCookieName(ctx.config.siteUrl));
  if (!secret) return false;
  const result = await ctx.db.run(sql`UPDATE checkout_starts SET used_at = ${ctx.clock.now()}
    WHERE checkout_session_id = ${checkoutSessionId} AND browser_secret_hash = ${await sha256Hex(secret)} AND used_at IS NULL`);
  return rowsAffected(result) === 1;
}
