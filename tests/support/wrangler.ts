// `wrangler pages dev` on a free loopback port over a copy of a build's static output, with the
// project's functions/ and a local D1 of its own (migrated and synced from the build by the same
// scripts as `npm run cf:dev`), the way `npm run cf:dev` runs it.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { migrateD1, openD1, readBundleForD1, type OpenD1 } from '../../scripts/cf-d1.ts';
import { prepareCloudflareOutput } from '../../scripts/cf-build.ts';
import { syncContent } from '../../src/server/content/sync.ts';
import { ROOT } from './build.ts';
import { freePort } from './server.ts';

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
  const child = spawn(process.execPath, [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', WRANGLER_SEND_METRICS: 'false', CI: '1', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler pages dev exited with ${child.exitCode}:\n${output}`);
    try {
      // A function route: ready means the function is compiled, not only the static files.
      if ((await fetch(`${url}/healthz`)).status !== 0) break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`wrangler pages dev did not answer within 60 s:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return { url, clientDir, d1, logs: () => output, stop };
}
