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
  });
  if (path) {
    // WAL lets readers in other processes work while one writes; busy_timeout makes a writer wait
    // for another's lock instead of failing at once; NORMAL is durable enough in WAL mode.
    await client.execute('PRAGMA journal_mode = WAL');
    await client.execute('PRAGMA busy_timeout = 5000');
    await client.execute('PRAGMA synchronous = NORMAL');
  }
  await client.execute('PRAGMA foreign_keys = ON');
  const db = drizzle(client, { schema }) as unknown as Db;
  return { client, db, close: () => client.close() };
}
