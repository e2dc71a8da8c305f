// Opens the store on Node: an embedded SQLite file by default, or a libSQL server (sqld, Turso)
// when DATABASE_URL says libsql:// (or http(s)/ws(s)), with DATABASE_AUTH_TOKEN.
//
// Embedded replica (a local file kept in sync with a remote libSQL primary, reads served locally):
// DATABASE_URL=file:... plus DATABASE_SYNC_URL=libsql://... and DATABASE_AUTH_TOKEN.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from '@libsql/client';
import { drizzle } from 'drizzle-orm/libsql';
import type { Db } from '../server/context.ts';
import * as schema from '../server/db/schema.ts';

export type Store = { client: Client; db: Db; close(): void };

/** How long a write waits for another process's lock on a store file. */
const BUSY_TIMEOUT_MS = 5_000;

/** The file path of a `file:` URL, relative paths taken from the working directory. */
export function storeFilePath(url: string): string | null {
  if (!url.startsWith('file:')) return null;
  if (url.startsWith('file://')) return fileURLToPath(url);
  return resolve(url.slice('file:'.length).split('?')[0]!);
}

export async function openStore(url: string, authToken?: string, syncUrl?: string): Promise<Store> {
  const path = storeFilePath(url);
  if (path) mkdirSync(dirname(path), { recursive: true });
  const client = createClient({
    url: path ? `file:${path}` : url,
    ...(authToken ? { authToken } : {}),
    ...(path && syncUrl ? { syncUrl } : {}),
    // A pragma holds for one connection only, and under concurrent calls the client opens up to
    // 20: a `PRAGMA busy_timeout` left the others failing with SQLITE_BUSY at once whenever
    // another process wrote. `timeout` applies to every connection; one connection is enough,
    // since every call on it runs synchronously to the end, and keeps the pragmas below in force.
    ...(path ? { concurrency: 1, timeout: BUSY_TIMEOUT_MS } : {}),
  });
  if (path) {
    // WAL lets readers in other processes work while one writes; NORMAL is durable enough in WAL.
    await client.execute('PRAGMA journal_mode = WAL');
    await client.execute('PRAGMA synchronous = NORMAL');
  }
  await client.execute('PRAGMA foreign_keys = ON');
  const db = drizzle(client, { schema }) as unknown as Db;
  return { client, db, close: () => client.close() };
}
