// A fresh store file per test file, migrated by the same code as `npm run db:migrate`, that the
// test can also read to check what a request wrote (or did not write).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readBundleFolder } from '../../src/catalog/bundle-folder.ts';
import { migrateStore } from '../../src/node/migrations.ts';
import { openStore, type Store } from '../../src/node/store.ts';
import { syncContent, type SyncSummary } from '../../src/server/content/sync.ts';
import { ROOT } from './build.ts';

export type TestStore = Store & {
  url: string;
  /** Every row of the tables that hold accounts, sessions and tokens, to compare before and after. */
  snapshot(): Promise<string>;
  remove(): void;
};

/** `url`: a store elsewhere (a libSQL server, tests/support/sqld.ts) instead of a fresh file. */
export async function createTestStore(options: { migrate?: boolean; url?: string } = {}): Promise<TestStore> {
  mkdirSync(join(ROOT, '.test-dist'), { recursive: true });
  const dir = options.url ? null : mkdtempSync(join(ROOT, '.test-dist', 'store-'));
  const url = options.url ?? `file:${join(dir!, 'app.db')}`;
  const store = await openStore(url);
  if (options.migrate !== false) await migrateStore(store.client);
  return {
    ...store,
    url,
    async snapshot() {
      const tables = ['users', 'auth_tokens', 'sessions', 'checkout_starts'];
      const dump: Record<string, unknown[]> = {};
      for (const table of tables) dump[table] = (await store.client.execute(`SELECT * FROM ${table} ORDER BY 1`)).rows;
      return JSON.stringify(dump);
    },
    remove() {
      store.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Loads a build's private bundle (`<dist>/private`) into a migrated store with the real content
 * sync, as `npm start` does before serving: courses, lessons with the paid pages, private media.
 */
export async function syncStore(dist: string, databaseUrl: string): Promise<SyncSummary> {
  const bundle = await readBundleFolder(join(dist, 'private'));
  const store = await openStore(databaseUrl);
  try {
    return await syncContent(store.db, bundle, Date.now());
  } finally {
    store.close();
  }
}
