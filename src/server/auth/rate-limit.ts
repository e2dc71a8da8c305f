// Attempt counters in the store, so that a limit holds across every process serving the site.
// Fixed windows: one upsert per subject and no background job; a burst at a window edge can reach
// twice the limit, which is still far from what guessing passwords needs.
import { and, eq, gt, lt, sql } from 'drizzle-orm';
import type { Db } from '../context.ts';
import { rateLimits } from '../db/schema.ts';
import { rateLimitSubjectOf } from '../http/client-address.ts';
import { sha256Hex } from '../sha256.ts';

export type Limit = { max: number; windowMs: number };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Per client generous (many people share an address behind NAT), per email strict where guessing
 * aims (a password). Nothing per email may lock an owner out of their account: a request for a
 * mailed link or reset is limited per client only, what reaches an inbox by the daily cap of
 * `mail`, and using a mailed token never waits on what anybody did with the password.
 */
export const LIMITS = {
  /** Password guesses at one account slow to 10 per 15 minutes; its sign-in link still works. */
  login: { ip: { max: 60, windowMs: 15 * MINUTE }, email: { max: 10, windowMs: 15 * MINUTE } },
  signup: { ip: { max: 30, windowMs: HOUR }, email: { max: 5, windowMs: HOUR } },
  reset: { ip: { max: 30, windowMs: HOUR } },
  link: { ip: { max: 30, windowMs: HOUR } },
  password: { ip: { max: 60, windowMs: 15 * MINUTE }, email: { max: 10, windowMs: 15 * MINUTE } },
  // A coming-soon course's "notify me": one address signs up a few times at most.
  waitlist: { ip: { max: 20, windowMs: HOUR }, email: { max: 5, windowMs: HOUR } },
  /** Each one creates a Checkout Session at Stripe. */
  checkout: { ip: { max: 30, windowMs: 15 * MINUTE } },
  /** Each one reads Stripe; the processing page reloads itself every 15 s, 60 times in the window. */
  'checkout-success': { ip: { max: 80, windowMs: 15 * MINUTE } },
  /** Mails that anyone can ask the site to send to an address, whoever asks (see sendAfterResponse). */
  mail: { email: { max: 10, windowMs: DAY } },
} satisfies Record<string, { ip?: Limit; email?: Limit }>;

export type LimitedAction = keyof typeof LIMITS;

/** The longest window: counters older than it count for nothing and may go. */
const LONGEST_WINDOW_MS = DAY;

function windowStartOf(limit: Limit, now: number): number {
  return now - (now % limit.windowMs);
}

/** Counts one attempt; returns the seconds to wait when over the limit, else null. */
async function hit(db: Db, key: string, limit: Limit, now: number): Promise<number | null> {
  const windowStart = windowStartOf(limit, now);
  const [row] = await db
    .insert(rateLimits)
    .values({ key, windowStart, count: 1 })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        count: sql`CASE WHEN ${rateLimits.windowStart} = ${windowStart} THEN ${rateLimits.count} + 1 ELSE 1 END`,
        windowStart: sql`${windowStart}`,
      },
    })
    .returning({ count: rateLimits.count });
  if (!row || row.count <= limit.max) return null;
  return Math.max(1, Math.ceil((windowStart + limit.windowMs - now) / 1000));
}

export type Subjects = { ip?: string; email?: string };

/** The counters' keys. Hashed, so the table holds no addresses of people who never had an account. */
async function keysOf(action: LimitedAction, subjects: Subjects): Promise<{ key: string; limit: Limit }[]> {
  const limits: { ip?: Limit; email?: Limit } = LIMITS[action];
  const keys: { key: string; limit: Limit }[] = [];
  if (limits.ip && subjects.ip !== undefined) keys.push({ key: `${action}:ip:${await sha256Hex(rateLimitSubjectOf(subjects.ip))}`, limit: limits.ip });
  if (limits.email && subjects.email) keys.push({ key: `${action}:email:${await sha256Hex(subjects.email.toLowerCase())}`, limit: limits.email });
  return keys;
}

/**
 * Counts an attempt of `action` from the client at `ip` (an IPv6 client by its /64) and for
 * `email`, each where the action has a limit for it. Returns the Retry-After seconds when a
 * limit is exceeded.
 */
export async function checkRateLimit(db: Db, action: LimitedAction, subjects: Subjects, now: number): Promise<number | null> {
  const waits = await Promise.all((await keysOf(action, subjects)).map(({ key, limit }) => hit(db, key, limit, now)));
  // Old windows are dead weight; sweeping on a small share of hits keeps the table small.
  if (Math.random() < 0.01) await db.delete(rateLimits).where(lt(rateLimits.windowStart, now - LONGEST_WINDOW_MS));
  const wait = Math.max(0, ...waits.map((value) => value ?? 0));
  return wait > 0 ? wait : null;
}

/** Whether the next attempt of `action` would be refused, without counting one. */
export async function isRateLimited(db: Db, action: LimitedAction, subjects: Subjects, now: number): Promise<boolean> {
  for (const { key, limit } of await keysOf(action, subjects)) {
    const row = await db
      .select({ count: rateLimits.count })
      .from(rateLimits)
      .where(and(eq(rateLimits.key, key), eq(rateLimits.windowStart, windowStartOf(limit, now)), gt(rateLimits.count, limit.max - 1)))
      .get();
    if (row) return true;
  }
  return false;
}
