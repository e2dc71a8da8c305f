// Every list of routes follows the core's route table (src/server/routes.ts): the Node endpoints in
// src/pages/, the paths wrangler.jsonc runs the Worker first for, and the headers Caddy adds are
// the core's security headers. A route added in one place and not the other fails here, by name.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withWorkerFirstPaths } from '../../scripts/cf-build.ts';
import { SECURITY_HEADERS } from '../server/http/security-headers.ts';
import { routeOf, ROUTES } from '../server/routes.ts';

const ROOT = join(import.meta.dirname, '../..');
const PAGES = join(ROOT, 'src/pages');

/** Each on-demand endpoint file under src/pages and the path it says it serves. */
function nodeEndpoints(dir = PAGES): { file: string; path: string; named: string | null }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = join(dir, entry.name);
    if (entry.isDirectory()) return nodeEndpoints(file);
    const text = readFileSync(file, 'utf8');
    if (!/export const prerender = false/.test(text) || !entry.name.endsWith('.ts')) return [];
    const path = `/${relative(PAGES, file)}`
      .replace(/\.ts$/, '')
      .replace(/\/index$/, '')
      .replace(/\/\[\.\.\.[a-z]+\]$/, '/*');
    return [{ file: relative(ROOT, file), path, named: /astroRoute\('([^']+)'\)/.exec(text)?.[1] ?? null }];
  });
}

describe('the route table', () => {
  it('has an Astro endpoint for each route on Node, at its path, naming it; and no other', () => {
    const endpoints = nodeEndpoints();
    for (const endpoint of endpoints) expect(endpoint.named, `${endpoint.file} must export astroRoute('${endpoint.path}')`).toBe(endpoint.path);
    expect(endpoints.map((endpoint) => endpoint.path).sort()).toEqual(ROUTES.map((route) => route.path).sort());
  });

  it('finds each route by its path, with or without the trailing slash, and prefixes by what is under them', () => {
    expect(routeOf('/login')?.path).toBe('/login');
    expect(routeOf('/login/')?.path).toBe('/login');
    expect(routeOf('/admin')?.path).toBe('/admin/*');
    expect(routeOf('/admin/members/1/grant')?.path).toBe('/admin/*');
    expect(routeOf('/administrator')).toBeUndefined();
    expect(routeOf('/courses/python-fundamentals/control-flow/')).toBeUndefined();
    expect(routeOf('/api/me/x')).toBeUndefined();
  });

  it('is the list of paths wrangler.jsonc runs the Worker first for', () => {
    const config = readFileSync(join(ROOT, 'wrangler.jsonc'), 'utf8');
    expect(withWorkerFirstPaths(config), 'run `npm run cf:build` to write the route table into wrangler.jsonc').toBe(config);
  });

  it('adds the same security headers as Caddy does', () => {
    const caddyfile = readFileSync(join(ROOT, 'deploy/Caddyfile'), 'utf8');
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      expect(caddyfile, `${name} in deploy/Caddyfile`).toMatch(new RegExp(`\\n\\s*\\??${name} "${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
    }
  });
});
