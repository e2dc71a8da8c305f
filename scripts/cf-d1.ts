// The D1 database of wrangler.jsonc, opened from Node through wrangler's own bindings
// (getPlatformProxy): locally the SQLite file `wrangler dev` uses (under .wrangler/state, or
// `persistTo`), remotely the deployed database through the Cloudflare API (wrangler login or
// CLOUDFLARE_API_TOKEN). The returned store is drizzle over the D1 binding, the driver the
// Worker uses, so the migrations and the content sync run exactly as they would there.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sql } from 'drizzle-orm';
import { migrate } from 'drizzle-orm/d1/migrator';
import { openD1Store, type D1Binding } from '../src/cloudflare/d1-store.ts';
import { getPlatformProxy, unstable_readConfig } from 'wrangler';
import { MIGRATIONS_FOLDER } from '../src/node/migrations.ts';
import { readBundle, type Bundle } from '../src/server/content/bundle.ts';
import type { Db } from '../src/server/context.ts';

export const ROOT = resolve(import.meta.dirname, '..');
export const WRANGLER_CONFIG = join(ROOT, 'wrangler.jsonc');

export type D1Target = { remote: false; persistTo?: string } | { remote: true };

export type OpenD1 = { db: Db; describe: string; close(): Promise<void> };

export async function openD1(target: D1Target, configPath = WRANGLER_CONFIG): Promise<OpenD1> {
  process.env.WRANGLER_SEND_METRICS ??= 'false';
  // Request.cf (the visitor's country and such) is nothing the scripts use; fetching it from
  // Cloudflare costs seconds, and fails offline after a timeout.
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
  // A config of the D1 binding alone (marked remote for the deployed database): the Worker's own
  // entry, assets and other bindings are not needed here, and the build may not exist yet.
  const config = unstable_readConfig({ config: configPath });
  const binding = config.d1_databases.find((d1: { binding: string }) => d1.binding === 'DB');
  if (!binding) throw new Error(`${configPath} has no D1 binding named DB`);
  const dir = mkdtempSync(join(tmpdir(), 'cf-d1-'));
  const path = join(dir, 'wrangler.json');
  writeFileSync(
    path,
    JSON.stringify({
      name: config.name,
      compatibility_date: config.compatibility_date,
      d1_databases: [{ ...binding, ...(target.remote ? { remote: true } : {}) }],
    }),
  );
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const proxy = await getPlatformProxy<{ DB: D1Binding }>({
    configPath: path,
    envFiles: [],
    persist: target.remote ? false : { path: resolve(target.persistTo ?? join(ROOT, '.wrangler/state'), 'v3') },
    remoteBindings: target.remote,
  });
  if (!proxy.env.DB) {
    await proxy.dispose();
    cleanup();
    throw new Error('the D1 binding DB is not available');
  }
  return {
    db: openD1Store(proxy.env.DB),
    describe: target.remote ? 'D1 (remote)' : `D1 (local, ${target.persistTo ?? '.wrangler/state'})`,
    async close() {
      await proxy.dispose();
      cleanup();
    },
  };
}

/** Applies migrations/ with drizzle's D1 migrator: the same files and journal table as on Node. */
export async function migrateD1(db: Db): Promise<number> {
  await migrate(db as unknown as Parameters<typeof migrate>[0], { migrationsFolder: MIGRATIONS_FOLDER });
  const [row] = await db.all<{ applied: number }>(sql`SELECT count(*) AS applied FROM __drizzle_migrations`);
  return Number(row?.applied ?? 0);
}

/**
 * The private bundle as plain Uint8Arrays: wrangler's proxy carries typed arrays to D1 by their
 * constructor's name and refuses Node's Buffer (what readFile returns).
 */
export function readBundleForD1(dir: string): Promise<Bundle> {
  const root = resolve(dir);
  return readBundle(async (path) => {
    try {
      return new Uint8Array(await readFile(join(root, path)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  });
}
