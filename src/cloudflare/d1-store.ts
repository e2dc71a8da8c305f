// The store on D1: drizzle's D1 driver, with its `batch` fixed for raw statements. drizzle-orm
// 0.45's D1 batch binds parameters through `preparedQuery.stmt`, which only query-builder
// statements have; a raw `db.run(sql`...${value}`)` in a batch (the ledger, fulfilment) throws
// "Cannot read properties of undefined (reading 'bind')". This prepares every item from its SQL
// and parameters, which is what the driver does for statements without parameters, and keeps
// drizzle's own mapping of each result.
import { drizzle } from 'drizzle-orm/d1';
import type { Db } from '../server/context.ts';
import * as schema from '../server/db/schema.ts';

type D1Statement = { bind(...values: unknown[]): D1Statement };
export type D1Binding = { prepare(sql: string): D1Statement; batch(statements: D1Statement[]): Promise<unknown[]> };

type BatchItem = {
  _prepare(): { getQuery(): { sql: string; params: unknown[] }; mapResult(result: unknown, isFromBatch: boolean): unknown };
};

export function openD1Store(binding: D1Binding): Db {
  const db = drizzle(binding as unknown as Parameters<typeof drizzle>[0], { schema });
  const batch = async (items: readonly BatchItem[]) => {
    const prepared = items.map((item) => item._prepare());
    const statements = prepared.map((query) => {
      const { sql, params } = query.getQuery();
      return binding.prepare(sql).bind(...params);
    });
    const results = await binding.batch(statements);
    return results.map((result, index) => prepared[index]!.mapResult(result, true));
  };
  return Object.assign(db, { batch }) as unknown as Db;
}
