// `npm run db:migrate`: applies the SQL migrations in migrations/ to the store named by
// DATABASE_URL (default file:data/app.db, created if missing). Safe to run again: applied
// migrations are skipped.
//
// `--d1 local|remote [--persist-to DIR]`: the D1 database of wrangler.jsonc instead (Cloudflare;
// docs/deploy-cloudflare.md), through wrangler's D1 binding and drizzle's D1 migrator.
import { parseArgs } from 'node:util';
import { parseConfig, ConfigError } from '../src/server/config.ts';
import { readNodeEnv } from '../src/node/env.ts';
import { migrateStore } from '../src/node/migrations.ts';
import { openToolStore } from '../src/node/store.ts';

const { values: args } = parseArgs({ options: { d1: { type: 'string' }, 'persist-to': { type: 'string' } } });

if (args.d1 !== undefined) {
  if (args.d1 !== 'local' && args.d1 !== 'remote') {
    console.error('--d1 takes local or remote');
    process.exit(2);
  }
  const { migrateD1, openD1 } = await import('./cf-d1.ts');
  const d1 = await openD1(args.d1 === 'remote' ? { remote: true } : { remote: false, persistTo: args['persist-to'] });
  try {
    console.log(`Store ${d1.describe}: ${await migrateD1(d1.db)} migration(s) applied, up to date.`);
  } finally {
    await d1.close();
  }
} else
  try {
    const config = parseConfig(readNodeEnv());
    const store = await openToolStore(config);
    try {
      await migrateStore(store.client);
      const { rows } = await store.client.execute('SELECT count(*) AS applied FROM __drizzle_migrations');
      console.log(`Store ${(config.databaseSyncUrl ?? config.databaseUrl).replace(/\?.*$/, '')}: ${rows[0]?.applied} migration(s) applied, up to date.`);
    } finally {
      store.close();
    }
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exitCode = 1;
  }
