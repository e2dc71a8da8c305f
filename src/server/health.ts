// GET /healthz, for the deploy script, the service manager, Caddy's health checks and uptime
// monitors: 200 when the store answers and has every migration this build knows, 503 otherwise.
// On an embedded replica it also says how far behind the copy may be (time since its last sync
// with the primary, its frame, the sync error while the primary is out of reach): reads still work
// then, so the status stays 200, and Caddy keeps sending that machine its readers.
import { sql } from 'drizzle-orm';
import type { AppContext } from './context.ts';
import { LATEST_MIGRATION } from './db/migrations.ts';

function answer(status: number, body: Record<string, unknown>): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } });
}

export async function handleHealth(_request: Request, ctx: AppContext): Promise<Response> {
  let applied: number;
  try {
    const row = await ctx.db.get<{ latest: number | null }>(sql`SELECT max(created_at) AS latest FROM __drizzle_migrations`);
    applied = Number(row?.latest ?? 0);
  } catch (error) {
    ctx.log.error('health.store-unreachable', { error: String(error) });
    return answer(503, { ok: false, store: 'unreachable' });
  }
  if (applied < LATEST_MIGRATION.when) return answer(503, { ok: false, store: 'migrations pending' });
  if (!ctx.replica) return answer(200, { ok: true });
  const status = ctx.replica.status();
  return answer(200, {
    ok: true,
    replica: {
      sinceSyncMs: status.lastSyncAt === null ? null : Math.max(0, ctx.clock.now() - status.lastSyncAt),
      syncIntervalMs: status.syncIntervalMs,
      frameNo: status.frameNo,
      framesSynced: status.framesSynced,
      ...(status.error ? { primary: 'unreachable' } : {}),
    },
  });
}
