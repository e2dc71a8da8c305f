// Gives every page, static or on-demand, the site settings as a module compiled into the build
// (`virtual:site-settings`), so that on-demand pages never read the courses folder at run time.
import type { AstroIntegration } from 'astro';
import { join, resolve } from 'node:path';
import { loadSiteSettings } from './load.ts';

const ID = 'virtual:site-settings';
const RESOLVED = `\0${ID}`;

export function courseCatalog(): AstroIntegration {
  const dir = resolve(process.env.COURSES_DIR ?? 'courses');
  return {
    name: 'course-catalog',
    hooks: {
      'astro:config:setup': ({ updateConfig }) => {
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
            ],
          },
        });
      },
    },
  };
}
