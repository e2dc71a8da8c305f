// The lesson gate's two reads as prepared statements on Node's built-in SQLite, for a store that is
// a local file. Through the libSQL client every call prepares its statement again and wraps each
// row; the gate's query is then most of a lesson request's cost (see docs/performance.md). Here it
// is prepared once, on a connection of its own that only reads (`query_only`); WAL mode lets it
// see every committed write of the main connection. The SQL is the gate's own (`lessonQuery`,
// `mediaQuery`), compiled once with named parameters, so there is still one definition of access.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { sql } from 'drizzle-orm';
import { SQLiteAsyncDialect } from 'drizzle-orm/sqlite-core';
import type { Log } from '../server/log.ts';
import { lessonQuery, mediaQuery, type GateReads, type LessonRecord, type MediaRecord } from '../server/access/lesson-gate.ts';

function compile(query: ReturnType<typeof lessonQuery>): string {
  const compiled = new SQLiteAsyncDialect().sqlToQuery(query);
  if (compiled.params.length > 0) throw new Error('the gate queries must only have named parameters');
  return compiled.sql;
}

export type SqliteGateReads = GateReads & { close(): void };

/**
 * The reads on `database` (a DatabaseSync, or something that behaves like one in a test). A read
 * that fails here (a locked or changed file) is made again through `fallback`, the store's own
 * client, and logged: the gate keeps answering.
 */
export function sqliteGateReads(database: DatabaseSync, fallback: GateReads, log: Log): SqliteGateReads {
  database.exec('PRAGMA query_only = ON');
  // A reader in WAL mode waits only in rare cases (recovery after a crash); never block long.
  database.exec('PRAGMA busy_timeout = 200');
  const lesson: StatementSync = database.prepare(
    compile(lessonQuery(sql.raw(':user'), sql.raw(':sid'), sql.raw(':course'), sql.raw(':lesson'), sql.raw(':known'))),
  );
  const media: StatementSync = database.prepare(compile(mediaQuery(sql.raw(':user'), sql.raw(':sid'), sql.raw(':course'), sql.raw(':name'))));
  const failed = (read: string, error: unknown) =>
    log.error('lesson-gate.prepared-read-failed', { read, error: error instanceof Error ? error.message : String(error) });
  return {
    lesson(userId, sessionId, course, slug, knownHash) {
      try {
        return Promise.resolve(lesson.get({ user: userId, sid: sessionId, course, lesson: slug, known: knownHash }) as LessonRecord | undefined);
      } catch (error) {
        failed('lesson', error);
        return fallback.lesson(userId, sessionId, course, slug, knownHash);
      }
    },
    media(userId, sessionId, course, name) {
      try {
        return Promise.resolve(media.get({ user: userId, sid: sessionId, course, name }) as MediaRecord | undefined);
      } catch (error) {
        failed('media', error);
        return fallback.media(userId, sessionId, course, name);
      }
    },
    close: () => database.close(),
  };
}

/** Opens the store file a second time for the gate's reads (read-only: an embedded replica's). */
export function openSqliteGateReads(path: string, fallback: GateReads, log: Log, options: { readOnly?: boolean } = {}): SqliteGateReads {
  return sqliteGateReads(new DatabaseSync(path, { readOnly: options.readOnly ?? false }), fallback, log);
}
