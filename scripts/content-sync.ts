// `npm run content:sync`: loads the private bundle of a build (dist/private, or DIST_DIR/private,
// or `--bundle DIR`) into the store named by DATABASE_URL: courses with their prices, lessons with
// the pages of paid lessons, and the media only paid lessons use. Only what changed is written,
// in one transaction; a lesson gone from git is unpublished, never deleted. Exits 1, having
// changed nothing, on an inconsistent bundle or an unmigrated store.
//
// `--d1 local|remote [--persist-to DIR]`: into the D1 database of wrangler.jsonc instead
// (Cloudflare), through wrangler's D1 binding; the same sync, in one D1 batch.
import { join, resolve } from 'node:path';
import { sql } from 'drizzle-orm';
import { parseArgs } from 'node:util';
import { readBundleFolder } from '../src/catalog/bundle-folder.ts';
import { assertMigrated, StoreNotMigratedError } from '../src/node/migrations.ts';
import { readNodeEnv } from '../src/node/env.ts';
import { openToolStore } from '../src/node/store.ts';
import { ConfigError, distDirOf, parseConfig } from '../src/server/config.ts';
import { BundleError } from '../src/server/content/bundle.ts';
import { LATEST_MIGRATION } from '../src/server/db/migrations.ts';
import { formatSummary, syncContent } from '../src/server/content/sync.ts';

try {
  const { values } = parseArgs({ options: { bundle: { type: 'string' }, d1: { type: 'string' }, 'persist-to': { type: 'string' } } });
  const env = readNodeEnv();
  if (values.d1 !== undefined) {
    if (values.d1 !== 'local' && values.d1 !== 'remote') throw new ConfigError(['--d1: takes local or remote']);
    const dir = resolve(values.bundle ?? join(distDirOf(env), 'private'));
    const started = performance.now();
    const { openD1, readBundleForD1 } = await import('./cf-d1.ts');
    const bundle = await readBundleForD1(dir);
    const d1 = await openD1(values.d1 === 'remote' ? { remote: true } : { remote: false, persistTo: values['persist-to'] });
    try {
      const [row] = await d1.db.all<{ latest: number | null }>(sql`SELECT max(created_at) AS latest FROM __drizzle_migrations`).catch(() => [undefined]);
      if (Number(row?.latest ?? 0) < LATEST_MIGRATION.when)
        throw new StoreNotMigratedError(`D1 has migrations pending: npm run db:migrate -- --d1 ${values.d1}`);
      const summary = await syncContent(d1.db, bundle, Date.now());
      console.log(`Content sync from ${dir} into ${d1.describe} (${Math.round(performance.now() - started)} ms):\n${formatSummary(summary)}`);
    } finally {
      await d1.close();
    }
    process.exit(process.exitCode ?? 0);
  }
  const config = parseConfig(env);
  const dir = resolve(values.bundle ?? join(config.distDir, 'private'));
  const started = performance.now();
  // The whole bundle is read and parsed before the store is opened: a broken build changes nothing.
  const bundle = await readBundleFolder(dir);
  const store = await openToolStore(config);
  try {
    await assertMigrated(store.client);
    const summary = await syncContent(store.db, bundle, Date.now());
    const ms = Math.round(performance.now() - started);
    console.log(`Content sync from ${dir} into ${(config.databaseSyncUrl ?? config.databaseUrl).replace(/\?.*$/, '')} (${ms} ms):\n${formatSummary(summary)}`);
  } finally {
    store.close();
  }
} catch (error) {
  const known = error instanceof ConfigError || error instanceof BundleError || error instanceof StoreNotMigratedError;
  console.error(known ? (error as Error).message : error);
  process.exitCode = 1;
}
