// `npm run db:migrate`: applies the SQL migrations in migrations/ to the store named by
// DATABASE_URL (default file:data/app.db, created if missing). Safe to run again: applied
// migrations are skipped.
import { parseConfig, ConfigError } from '../src/server/config.ts';
import { readNodeEnv } from '../src/node/env.ts';
import { migrateStore } from '../src/node/migrations.ts';
import { openStore } from '../src/node/store.ts';

try {
  const config = parseConfig(readNodeEnv());
  const store = await openStore(config.databaseUrl, config.databaseAuthToken, config.databaseSyncUrl);
  try {
    await migrateStore(store.client);
    const { rows } = await store.client.execute('SELECT count(*) AS applied FROM __drizzle_migrations');
    console.log(`Store ${config.databaseUrl.replace(/\?.*$/, '')}: ${rows[0]?.applied} migration(s) applied, up to date.`);
  } finally {
    store.close();
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exitCode = 1;
}
