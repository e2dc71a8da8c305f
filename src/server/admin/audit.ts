// How an admin change is written: its effect and its audit row (audit_log: who did what by hand,
// to whom, and why) in one atomic batch, so neither exists without the other. libSQL runs the
// batch in a transaction, D1 as one implicit transaction (it has no interactive ones). Used by the
// commands (commands.ts) and by the transfer tools (src/server/transfer/).
import { is, SQL, sql } from 'drizzle-orm';
import type { Clock, Db } from '../context.ts';

/** Who acts: an admin's account on the web, or the operator at the command line (no account). */
export type AdminActor = { userId: number | null; via: 'cli' | 'web' };

/** What the admin functions need: the store and the clock (an AppContext has both). */
export type AdminContext = { db: Db; clock: Clock };

export type AuditEntry = {
  actor: AdminActor;
  action: string;
  subjectUserId?: number | SQL | null;
  courseSlug?: string | null;
  reason?: string | null;
  /** Stored as JSON. Values may be SQL (e.g. the id of a row inserted earlier in the batch). */
  detail?: Record<string, unknown> | null;
  now: number;
  /**
   * Write the row only when the statement just before it in the batch changed a row (SQLite's
   * `changes()`), so that an effect that turned out to be a no-op leaves no audit row.
   */
  onlyIfChanged?: boolean;
};

function detailSql(detail: Record<string, unknown> | null | undefined): SQL {
  if (!detail) return sql`NULL`;
  const entries = Object.entries(detail).filter(([, value]) => value !== undefined);
  if (entries.length === 0) return sql`NULL`;
  const parts = entries.map(([key, value]) => {
    if (is(value, SQL)) return sql`${key}, ${value}`;
    if (typeof value === 'object' && value !== null) return sql`${key}, json(${JSON.stringify(value)})`;
    if (typeof value === 'boolean') return sql`${key}, json(${value ? 'true' : 'false'})`;
    return sql`${key}, ${value as string | number | null}`;
  });
  return sql`json_object(${sql.join(parts, sql`, `)})`;
}

/** The INSERT of one audit row, for a batch. */
export function auditSql(entry: AuditEntry): SQL {
  return sql`INSERT INTO audit_log (actor_user_id, via, action, subject_user_id, course_slug, reason, detail, created_at)
    SELECT ${entry.actor.userId}, ${entry.actor.via}, ${entry.action}, ${entry.subjectUserId ?? null}, ${entry.courseSlug ?? null},
      ${entry.reason ?? null}, ${detailSql(entry.detail)}, ${entry.now}
    ${entry.onlyIfChanged ? sql`WHERE changes() > 0` : sql``}`;
}

type Batch = Parameters<Db['batch']>[0];

/** Runs the statements in order, all or none; returns each statement's result (see rowsAffected). */
export async function runBatch(db: Db, statements: SQL[]): Promise<readonly unknown[]> {
  if (statements.length === 0) return [];
  return (await db.batch(statements.map((statement) => db.run(statement)) as unknown as Batch)) as unknown as readonly unknown[];
}
