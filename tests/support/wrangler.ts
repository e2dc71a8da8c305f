// `wrangler pages dev` on a free loopback port over a copy of a build's static output, with the
// project's functions/ and a local D1 of its own (migrated and synced from the build by the same
// scripts as `npm run cf:dev`), the way `npm run cf:dev` runs it.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { migrateD1, openD1, readBundleForD1, type OpenD1 } from '../../scripts/cf-d1.ts';
import { prepareCloudflareOutput } from '../../scripts/cf-build.ts';
import { syncContent } from '../../src/server/content/sync.ts';
import { ROOT } from './build.ts';
import { freePort, startService } from './server.ts';

export type PagesSite = {
  url: string;
  /** The static directory wrangler serves (what `wrangler pages deploy` would upload). */
  clientDir: string;
  /** The local D1 of this site, through wrangler's binding (open only between requests you control). */
  d1(): Promise<OpenD1>;
  logs(): string;
  stop(): Promise<void>;
};

export async function startPagesSite(dist: string, bindings: Record<string, string>, options: { beforeStart?: (d1: OpenD1) => Promise<void> } = {}): Promise<PagesSite> {
  mkdirSync(join(ROOT, '.test-dist'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.test-dist', 'cf-'));
  const clientDir = join(dir, 'client');
  const state = join(dir, 'state');
  cpSync(join(dist, 'client'), clientDir, { recursive: true });
  prepareCloudflareOutput(dist, clientDir, join(dist, 'private'));

  const d1 = () => openD1({ remote: false, persistTo: state });
  const store = await d1();
  try {
    await migrateD1(store.db);
    await syncContent(store.db, await readBundleForD1(join(dist, 'private')), Date.now());
    await options.beforeStart?.(store);
  } finally {
    await store.close();
  }

  const [port, inspector] = [await freePort(), await freePort()];
  const args = ['pages', 'dev', clientDir, '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector), '--persist-to', state];
  for (const [name, value] of Object.entries(bindings)) args.push('--binding', `${name}=${value}`);
  const url = `http://127.0.0.1:${port}`;
  let service;
  try {
    service = await startService('wrangler pages dev', process.execPath, [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), ...args], {
      env: { WRANGLER_SEND_METRICS: 'false', CI: '1', NO_COLOR: '1' },
      // A function route: ready means the function is compiled, not only the static files.
      isReady: async () => (await fetch(`${url}/healthz`), true),
      timeoutMs: 60_000,
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const stop = async () => {
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return { url, clientDir, d1, logs: service.logs, stop };
}
