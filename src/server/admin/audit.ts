// The audit log of admin actions (audit_log): who did what by hand, to whom, and why. Each admin
// change puts its audit row in the same batch as its effect, so neither exists without the other.
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

export type AuditRow = {
  id: number;
  createdAt: number;
  via: string;
  action: string;
  actorEmail: string | null;
  subjectEmail: string | null;
  courseSlug: string | null;
  reason: string | null;
  detail: string | null;
};

/** How many audit rows there are, for paging. */
export async function countAudit(db: Db): Promise<number> {
  const [row] = await db.all<{ n: number }>(sql`SELECT count(*) AS n FROM audit_log`);
  return Number(row?.n ?? 0);
}

/** The newest audit rows first, optionally about one member. */
export async function listAudit(db: Db, options: { subjectUserId?: number; limit?: number; offset?: number } = {}): Promise<AuditRow[]> {
  const rows = await db.all<{
    id: number;
    created_at: number;
    via: string;
    action: string;
    actor_email: string | null;
    subject_email: string | null;
    course_slug: string | null;
    reason: string | null;
    detail: string | null;
  }>(sql`SELECT a.id, a.created_at, a.via, a.action, actor.email AS actor_email, subject.email AS subject_email, a.course_slug, a.reason, a.detail
    FROM audit_log a
    LEFT JOIN users actor ON actor.id = a.actor_user_id
    LEFT JOIN users subject ON subject.id = a.subject_user_id
    ${options.subjectUserId ? sql`WHERE a.subject_user_id = ${options.subjectUserId}` : sql``}
    ORDER BY a.id DESC LIMIT ${options.limit ?? 100} OFFSET ${options.offset ?? 0}`);
  return rows.map((row) => ({
    id: Number(row.id),
    createdAt: Number(row.created_at),
    via: row.via,
    action: row.action,
    actorEmail: row.actor_email,
    subjectEmail: row.subject_email,
    courseSlug: row.course_slug,
    reason: row.reason,
    detail: row.detail,
  }));
}
