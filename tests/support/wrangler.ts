// `wrangler dev` of the Worker with static assets, on a free loopback port, the way `npm run cf:dev`
// runs it: the project's wrangler.jsonc (its assets rules, the paths the Worker runs first, its
// bindings) over a copy of a build's static output, the project's functions/worker.ts, and a local
// D1 of its own, migrated and synced from the build by the same scripts as `npm run cf:dev`.
//
// Ready means the static files answer; the Worker itself gets no request before the test's own,
// so a test can choose the first request an isolate sees.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unstable_readConfig } from 'wrangler';
import { migrateD1, openD1, readBundleForD1, WRANGLER_CONFIG, type OpenD1 } from '../../scripts/cf-d1.ts';
import { prepareCloudflareOutput } from '../../scripts/cf-build.ts';
import { syncContent } from '../../src/server/content/sync.ts';
import { ROOT } from './build.ts';
import { freePort, startService } from './server.ts';

export type WorkerSite = {
  url: string;
  /** The static directory wrangler serves (what `wrangler deploy` would upload). */
  clientDir: string;
  /** The wrangler configuration this site runs with (the project's, pointed at this site's folders). */
  configPath: string;
  /** The local D1 of this site, through wrangler's binding (open only between requests you control). */
  d1(): Promise<OpenD1>;
  logs(): string;
  stop(): Promise<void>;
};

/**
 * A local D1 state folder, migrated and synced from the build's private bundle, for one or more
 * sites (each copies it: `state` of startWorkerSite).
 */
export async function prepareWorkerState(dist: string, beforeStart?: (d1: OpenD1) => Promise<void>): Promise<string> {
  mkdirSync(join(ROOT, '.test-dist'), { recursive: true });
  const state = mkdtempSync(join(ROOT, '.test-dist', 'cf-state-'));
  const store = await openD1({ remote: false, persistTo: state });
  try {
    await migrateD1(store.db);
    await syncContent(store.db, await readBundleForD1(join(dist, 'private')), Date.now());
    await beforeStart?.(store);
  } finally {
    await store.close();
  }
  return state;
}

/** The project's wrangler.jsonc, pointed at this site's folders and given the test's settings. */
function siteConfig(clientDir: string, vars: Record<string, string>): Record<string, unknown> {
  const project = unstable_readConfig({ config: WRANGLER_CONFIG });
  const assets = project.assets!;
  return {
    name: project.name,
    main: join(ROOT, 'functions/worker.ts'),
    compatibility_date: project.compatibility_date,
    assets: {
      directory: clientDir,
      binding: assets.binding,
      not_found_handling: assets.not_found_handling,
      html_handling: assets.html_handling,
      run_worker_first: assets.run_worker_first,
    },
    d1_databases: project.d1_databases,
    send_email: project.send_email,
    vars,
  };
}

export async function startWorkerSite(
  dist: string,
  vars: Record<string, string>,
  options: { state?: string; beforeStart?: (d1: OpenD1) => Promise<void>; port?: number } = {},
): Promise<WorkerSite> {
  mkdirSync(join(ROOT, '.test-dist'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.test-dist', 'cf-'));
  const clientDir = join(dir, 'client');
  const state = join(dir, 'state');
  cpSync(join(dist, 'client'), clientDir, { recursive: true });
  prepareCloudflareOutput(dist, clientDir, join(dist, 'private'), vars.STRIPE_API_BASE);
  if (options.state) cpSync(options.state, state, { recursive: true });
  else cpSync(await prepareWorkerState(dist, options.beforeStart), state, { recursive: true });
  const config = join(dir, 'wrangler.json');
  writeFileSync(config, JSON.stringify(siteConfig(clientDir, vars), null, 2));

  const d1 = () => openD1({ remote: false, persistTo: state });
  const [port, inspector] = [options.port ?? (await freePort()), await freePort()];
  const args = [
    'dev',
    '--config',
    config,
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspector),
    '--persist-to',
    state,
    '--show-interactive-dev-session=false',
  ];
  const url = `http://127.0.0.1:${port}`;
  let service;
  try {
    service = await startService('wrangler dev', process.execPath, [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), ...args], {
      env: { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: '1', NO_COLOR: '1' },
      // A static file: served without the Worker, which keeps its first request for the test.
      isReady: async () => (await fetch(`${url}/robots.txt`)).status === 200,
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
  return { url, clientDir, configPath: config, d1, logs: service.logs, stop };
}
