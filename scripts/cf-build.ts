// `npm run cf:build -- [--dist DIR] [--no-build]`: the build for the Worker with static assets.
// Runs `astro build` (into DIST_DIR, default dist), then
// - writes `_headers` into the static output (DIR/client): the security headers and cache rules
//   Cloudflare applies to every file it serves without the Worker;
// - writes the paths the Worker runs first (`assets.run_worker_first` in wrangler.jsonc) from the
//   route table, so that the deployed list is always the table's;
// - copies the two build pages the Worker bundles as text (the page shell from the private
//   bundle, the 404 page) to .cloudflare/, where functions/worker.ts imports them.
// The paid lessons stay in DIR/private: the content sync loads them into D1.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readNodeEnv } from '../src/node/env.ts';
import { distDirOf } from '../src/server/config.ts';
import { staticHeadersFile } from '../src/server/http/security-headers.ts';
import { workerFirstPaths } from '../src/server/routes.ts';

export const ROOT = resolve(import.meta.dirname, '..');
/** Where functions/worker.ts finds the build's pages (ignored by git). */
export const BUILT_PAGES_DIR = join(ROOT, '.cloudflare');
export const WRANGLER_CONFIG = join(ROOT, 'wrangler.jsonc');

const RUN_WORKER_FIRST = /("run_worker_first"\s*:\s*)\[[^\]]*\]/;

/** `config` (wrangler.jsonc's text) with the route table's run_worker_first list; comments and the rest kept. */
export function withWorkerFirstPaths(config: string): string {
  if (!RUN_WORKER_FIRST.test(config)) throw new Error('wrangler.jsonc has no assets.run_worker_first list to write');
  return config.replace(RUN_WORKER_FIRST, (_, key: string) => `${key}${JSON.stringify(workerFirstPaths()).replaceAll('","', '", "')}`);
}

/**
 * `client`: the static output to upload (default DIST/client); `privateDir`: the build's private
 * bundle; `stripeApiBase`: the development Stripe stand-in, whose checkout page the pages' policy
 * must then let the buy form reach (never set in production).
 */
export function prepareCloudflareOutput(dist: string, client = join(dist, 'client'), privateDir = join(dist, 'private'), stripeApiBase?: string): void {
  const shell = join(privateDir, 'shell.html');
  const notFound = join(client, '404.html');
  for (const file of [shell, notFound]) if (!existsSync(file)) throw new Error(`${file} is missing: is ${dist} a complete build?`);
  writeFileSync(join(client, '_headers'), staticHeadersFile(stripeApiBase ? new URL(stripeApiBase).origin : undefined));
  mkdirSync(BUILT_PAGES_DIR, { recursive: true });
  copyIfChanged(shell, join(BUILT_PAGES_DIR, 'shell.txt'));
  copyIfChanged(notFound, join(BUILT_PAGES_DIR, '404.txt'));
}

/** A running `wrangler dev` rebuilds and restarts the Worker whenever an input file is written, even unchanged. */
function copyIfChanged(from: string, to: string): void {
  const bytes = readFileSync(from);
  if (existsSync(to) && readFileSync(to).equals(bytes)) return;
  writeFileSync(to, bytes);
}

/** What follows `astro build` into `dist`: the Cloudflare output and the route table's paths in wrangler.jsonc. */
export function finishCloudflareBuild(dist: string, stripeApiBase?: string): void {
  prepareCloudflareOutput(dist, undefined, undefined, stripeApiBase);
  const config = readFileSync(WRANGLER_CONFIG, 'utf8');
  const updated = withWorkerFirstPaths(config);
  if (updated !== config) writeFileSync(WRANGLER_CONFIG, updated);
  console.log(`Cloudflare output: ${join(dist, 'client')} (with _headers); the Worker runs first for ${workerFirstPaths().length} paths (wrangler.jsonc)`);
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { dist: { type: 'string' }, 'no-build': { type: 'boolean' } } });
  const dist = resolve(values.dist ?? distDirOf(readNodeEnv()));
  if (!values['no-build']) {
    const build = spawnSync(process.execPath, [join(ROOT, 'node_modules/astro/bin/astro.mjs'), 'build', '--outDir', dist], {
      stdio: 'inherit',
      env: { ...process.env, ASTRO_TELEMETRY_DISABLED: '1' },
    });
    if (build.status !== 0) process.exit(build.status ?? 1);
  }
  finishCloudflareBuild(dist, process.env.STRIPE_API_BASE || undefined);
}
