// Running a list of statements as one atomic batch: libSQL runs it in a transaction, D1 as one
// implicit transaction (it has no interactive ones). Admin changes are always written this way.
import type { SQL } from 'drizzle-orm';
import type { Db } from '../context.ts';

type Batch = Parameters<Db['batch']>[0];

/** Runs the statements in order, all or none; returns each statement's result (see rowsAffected). */
export async function runBatch(db: Db, statements: SQL[]): Promise<readonly unknown[]> {
  if (statements.length === 0) return [];
  return (await db.batch(statements.map((statement) => db.run(statement)) as unknown as Batch)) as unknown as readonly unknown[];
}
