// The route table of the Cloudflare function must name every on-demand route Node serves through
// src/pages/, or a page would work on one runtime and be missing on the other.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { PREFIX_ROUTES, ROUTES } from './routes.ts';

const PAGES = join(import.meta.dirname, '../pages');

/** The path of every on-demand endpoint file under src/pages (Astro pages are static or the 500 page). */
function nodeRoutes(dir = PAGES): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = join(dir, entry.name);
    if (entry.isDirectory()) return nodeRoutes(file);
    if (!entry.name.endsWith('.ts') || !/export const prerender = false/.test(readFileSync(file, 'utf8'))) return [];
    const route = `/${relative(PAGES, file)}`.replace(/\.ts$/, '').replace(/\/index$/, '').replace(/\/\[\.\.\.[a-z]+\]$/, '/*');
    return [route];
  });
}

it('names the same on-demand routes as the Node adapter', () => {
  const cloudflare = [...Object.keys(ROUTES), ...Object.keys(PREFIX_ROUTES).map((prefix) => `${prefix}/*`)];
  // The media route serves public build output on Node; Pages serves those files statically.
  const node = nodeRoutes().filter((route) => route !== '/media/[file]');
  expect(cloudflare.sort()).toEqual(node.sort());
});
