// GET /healthz, for the deploy script, the service manager and uptime monitors: 200 when the store
// answers and has every migration this build knows, 503 otherwise. Says nothing else.
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
  return answer(200, { ok: true });
}
