// The course catalogue's part in the Astro build:
// - every page, static or on-demand, gets the site settings as a module compiled into the build
//   (`virtual:site-settings`), so that on-demand pages never read the courses folder at run time;
// - pages learn whether they are being built (`virtual:course-build`) or shown by the development
//   server, where a paid lesson carries a mark for its author. This is the command Astro runs, not
//   NODE_ENV or import.meta.env.DEV, which a test runner's environment can change;
// - the development server follows edits to the courses folder and shows its mistakes
//   (dev-server.ts);
// - when the build is done, the paid lesson pages move out of the public output into the private
//   bundle (`<outDir>/private/`), which the content sync loads into the store, and so does the
//   layout of the pages rendered at request time (`shell.html`, src/server/http/page-shell.ts).
import type { AstroIntegration } from 'astro';
import { rename, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { devServerPlugin } from './dev-server.ts';
import { coursesDir, getCatalog } from './index.ts';
import { formatProblems, loadSiteSettings } from './load.ts';
import { writePrivateBundle } from './private-bundle.ts';

const ID = 'virtual:site-settings';
const RESOLVED = `\0${ID}`;
const BUILD_ID = 'virtual:course-build';
const BUILD_RESOLVED = `\0${BUILD_ID}`;

/** Where the private bundle goes: beside `client/` and `server/`, never under the public output. */
export const PRIVATE_DIR = 'private';
/** The page src/pages/app-shell.astro builds, and where it goes in the private bundle. */
const SHELL_PAGE = 'app-shell';
export const SHELL_FILE = 'shell.html';

export function courseCatalog(): AstroIntegration {
  const dir = coursesDir();
  let outDir: URL | undefined;
  return {
    name: 'course-catalog',
    hooks: {
      'astro:config:setup': ({ command, updateConfig }) => {
        updateConfig({
          vite: {
            plugins: [
              {
                name: 'course-catalog:site-settings',
                resolveId: (id: string) => (id === ID ? RESOLVED : undefined),
                async load(id: string) {
                  if (id !== RESOLVED) return undefined;
                  this.addWatchFile(join(dir, 'site.yaml'));
                  return `export default ${JSON.stringify(await loadSiteSettings(dir))};`;
                },
              },
              {
                name: 'course-catalog:build',
                resolveId: (id: string) => (id === BUILD_ID ? BUILD_RESOLVED : undefined),
                load: (id: string) => (id === BUILD_RESOLVED ? `export const building = ${command === 'build'};` : undefined),
              },
              ...(command === 'dev' ? [devServerPlugin(dir, [RESOLVED])] : []),
            ],
          },
        });
      },
      'astro:config:done': ({ config }) => {
        outDir = config.outDir;
      },
      'astro:build:done': async ({ dir: clientDir, logger }) => {
        const started = performance.now();
        const privateDir = fileURLToPath(new URL(`${PRIVATE_DIR}/`, outDir));
        const catalog = await getCatalog();
        // Warnings do not stop a build; `npm run check -- --strict` is the way to make them.
        if (catalog.warnings.length)
          logger.warn(`${catalog.warnings.length} warning${catalog.warnings.length === 1 ? '' : 's'} in the courses:\n${formatProblems(catalog.warnings)}`);
        const result = await writePrivateBundle(catalog, fileURLToPath(clientDir), privateDir);
        // Not a page anyone should land on: only the core renders into it.
        const shellDir = join(fileURLToPath(clientDir), SHELL_PAGE);
        await rename(join(shellDir, 'index.html'), join(privateDir, SHELL_FILE));
        await rmdir(shellDir);
        const ms = Math.round(performance.now() - started);
        logger.info(`${result.pages} paid lesson pages and ${result.media} private media files in ${privateDir} (${ms} ms)`);
      },
    },
  };
}
