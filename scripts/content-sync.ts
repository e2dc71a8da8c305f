// `npm run content:sync`: loads the private bundle of a build (dist/private, or DIST_DIR/private,
// or `--bundle DIR`) into the store named by DATABASE_URL: courses with their prices, lessons with
// the pages of paid lessons, and the media only paid lessons use. Only what changed is written,
// in one transaction; a lesson gone from git is unpublished, never deleted. Exits 1, having
// changed nothing, on an inconsistent bundle or an unmigrated store.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readBundleFolder } from '../src/catalog/bundle-folder.ts';
import { assertMigrated, StoreNotMigratedError } from '../src/node/migrations.ts';
import { readNodeEnv } from '../src/node/env.ts';
import { openStore } from '../src/node/store.ts';
import { ConfigError, parseConfig } from '../src/server/config.ts';
import { BundleError } from '../src/server/content/bundle.ts';
import { formatSummary, syncContent } from '../src/server/content/sync.ts';

try {
  const { values } = parseArgs({ options: { bundle: { type: 'string' } } });
  const env = readNodeEnv();
  const config = parseConfig(env);
  const dir = resolve(values.bundle ?? join(env.DIST_DIR ?? 'dist', 'private'));
  const started = performance.now();
  // The whole bundle is read and parsed before the store is opened: a broken build changes nothing.
  const bundle = await readBundleFolder(dir);
  const store = await openStore(config.databaseUrl, config.databaseAuthToken, config.databaseSyncUrl);
  try {
    await assertMigrated(store.client);
    const summary = await syncContent(store.db, bundle, Date.now());
    const ms = Math.round(performance.now() - started);
    console.log(`Content sync from ${dir} into ${config.databaseUrl.replace(/\?.*$/, '')} (${ms} ms):\n${formatSummary(summary)}`);
  } finally {
    store.close();
  }
} catch (error) {
  const known = error instanceof ConfigError || error instanceof BundleError || error instanceof StoreNotMigratedError;
  console.error(known ? (error as Error).message : error);
  process.exitCode = 1;
}
