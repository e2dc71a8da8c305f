// `npm run cf:build -- [--dist DIR] [--no-build]`: the build for Cloudflare Pages. Runs `astro build`
// (into DIST_DIR, default dist), then
// - writes `_routes.json` into the static output (DIR/client), so that static files never invoke
//   the function;
// - copies the two build pages the function bundles as text (the page shell from the private
//   bundle, the 404 page) to .cloudflare/, where functions/[[path]].ts imports them.
// The paid lessons stay in DIR/private: the content sync loads them into D1 (cf-sync.ts).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { pagesRoutes } from '../src/cloudflare/pages-routes.ts';
import { readNodeEnv } from '../src/node/env.ts';
import { PREFIX_ROUTES, ROUTES } from '../src/cloudflare/routes.ts';

export const ROOT = resolve(import.meta.dirname, '..');
/** Where functions/[[path]].ts finds the build's pages (ignored by git). */
export const BUILT_PAGES_DIR = join(ROOT, '.cloudflare');

/** The built pages under /courses/, as directory paths (`/courses/x/`, `/courses/x/lesson/`). */
export function staticCoursePages(clientDir: string): string[] {
  const root = join(clientDir, 'courses');
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name === 'index.html')
    .map((entry) => `/courses/${relative(root, entry.parentPath).split(sep).join('/')}/`);
}

/** `client`: the static output to upload (default DIST/client); `privateDir`: the build's private bundle. */
export function prepareCloudflareOutput(dist: string, client = join(dist, 'client'), privateDir = join(dist, 'private')): { routes: ReturnType<typeof pagesRoutes> } {
  const shell = join(privateDir, 'shell.html');
  const notFound = join(client, '404.html');
  for (const file of [shell, notFound]) if (!existsSync(file)) throw new Error(`${file} is missing: is ${dist} a complete build?`);
  if (existsSync(join(client, '_worker.js'))) throw new Error(`${client}/_worker.js would replace functions/: remove it`);
  const routes = pagesRoutes(Object.keys(ROUTES), staticCoursePages(client), Object.keys(PREFIX_ROUTES));
  writeFileSync(join(client, '_routes.json'), `${JSON.stringify(routes, null, 2)}\n`);
  mkdirSync(BUILT_PAGES_DIR, { recursive: true });
  copyFileSync(shell, join(BUILT_PAGES_DIR, 'shell.txt'));
  copyFileSync(notFound, join(BUILT_PAGES_DIR, '404.txt'));
  return { routes };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { dist: { type: 'string' }, 'no-build': { type: 'boolean' } } });
  const dist = resolve(values.dist ?? readNodeEnv().DIST_DIR ?? 'dist');
  if (!values['no-build']) {
    const build = spawnSync(process.execPath, [join(ROOT, 'node_modules/astro/bin/astro.mjs'), 'build', '--outDir', dist], {
      stdio: 'inherit',
      env: { ...process.env, ASTRO_TELEMETRY_DISABLED: '1' },
    });
    if (build.status !== 0) process.exit(build.status ?? 1);
  }
  const { routes } = prepareCloudflareOutput(dist);
  console.log(`Cloudflare output: ${join(dist, 'client')} (_routes.json: ${routes.include.length} included, ${routes.exclude.length} excluded of ${100} rules)`);
}
