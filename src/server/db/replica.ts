// The two rules of a store that may be a replica of another (docs/decisions/0016): a "no" read
// from the local copy (an unknown session, a lesson not owned) is asked again after the copy has
// caught up with the primary, and a store whose primary cannot be reached answers 503 "try again",
// never 500, so that nobody is signed out or refused for a copy that is merely behind.
import type { AppContext } from '../context.ts';

/** The store's primary could not be reached, so an answer that needs it cannot be given now. */
export class StoreUnreachableError extends Error {
  constructor(detail: string) {
    super(`the store cannot be reached: ${detail}`);
    this.name = 'StoreUnreachableError';
  }
}

/**
 * On a replica, waits until the copy has caught up with the primary and returns true, so that the
 * caller reads again; false on a store that is its own primary (nothing to wait for). Throws
 * StoreUnreachableError when the primary cannot be reached: the "no" cannot be confirmed.
 */
export async function caughtUp(ctx: Pick<AppContext, 'replica'>): Promise<boolean> {
  if (!ctx.replica) return false;
  if (await ctx.replica.catchUp()) return true;
  throw new StoreUnreachableError('the replica could not sync with its primary');
}

/** Whether `error` (or what caused it: drizzle wraps the driver's errors) says the store is unreachable. */
export function isStoreUnreachable(error: unknown, ctx: AppContext): boolean {
  for (let cause = error, depth = 0; cause && depth < 5; cause = (cause as { cause?: unknown }).cause, depth += 1) {
    if (cause instanceof StoreUnreachableError || ctx.isStoreUnreachable?.(cause)) return true;
  }
  return false;
}
