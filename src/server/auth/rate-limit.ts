// Attempt counters in the store, so that a limit holds across every process serving the site.
// Fixed windows: one upsert per subject and no background job; a burst at a window edge can reach
// twice the limit, which is still far from what guessing passwords needs.
import { lt, sql } from 'drizzle-orm';
import type { Db } from '../context.ts';
import { rateLimits } from '../db/schema.ts';
import { sha256Hex } from '../sha256.ts';

export type Limit = { max: number; windowMs: number };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Per IP generous (many people share an address behind NAT), per email strict (that is where
 * guessing aims).
 */
export const LIMITS = {
  login: { ip: { max: 60, windowMs: 15 * MINUTE }, email: { max: 10, windowMs: 15 * MINUTE } },
  signup: { ip: { max: 30, windowMs: HOUR }, email: { max: 5, windowMs: HOUR } },
  reset: { ip: { max: 30, windowMs: HOUR }, email: { max: 5, windowMs: HOUR } },
  link: { ip: { max: 30, windowMs: HOUR }, email: { max: 5, windowMs: HOUR } },
  password: { ip: { max: 60, windowMs: 15 * MINUTE }, email: { max: 10, windowMs: 15 * MINUTE } },
  // A coming-soon course's "notify me": one address signs up a few times at most.
  waitlist: { ip: { max: 20, windowMs: HOUR }, email: { max: 5, windowMs: HOUR } },
} satisfies Record<string, { ip: Limit; email: Limit }>;

export type LimitedAction = keyof typeof LIMITS;

/** Counts one attempt; returns the seconds to wait when over the limit, else null. */
async function hit(db: Db, key: string, limit: Limit, now: number): Promise<number | null> {
  const windowStart = now - (now % limit.windowMs);
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

/**
 * Counts an attempt of `action` from `ip` (and for `email`, when the form named one). Returns the
 * Retry-After seconds when either limit is exceeded.
 */
export async function checkRateLimit(
  db: Db,
  action: LimitedAction,
  subjects: { ip: string; email?: string },
  now: number,
): Promise<number | null> {
  const limits = LIMITS[action];
  // Hashed, so the table holds no addresses of people who never had an account.
  const waits = await Promise.all([
    hit(db, `${action}:ip:${await sha256Hex(subjects.ip)}`, limits.ip, now),
    subjects.email ? hit(db, `${action}:email:${await sha256Hex(subjects.email)}`, limits.email, now) : null,
  ]);
  // Old windows are dead weight; sweeping on a small share of hits keeps the table small.
  if (Math.random() < 0.01) await db.delete(rateLimits).where(lt(rateLimits.windowStart, now - 2 * HOUR));
  const wait = Math.max(...waits.map((value) => value ?? 0));
  return wait > 0 ? wait : null;
}
