// The design's boundaries as a test, so that they hold without anyone remembering them
// (DESIGN.md): the core in src/server/ runs on Node and on Workers alike, so it imports nothing of
// either runtime nor of the framework, and the adapters around it reach the store only through
// it. A new exception is a decision, made here with its reason, not an accident of an import.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(ts|astro)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

/** What a file imports: packages as written, our own files as paths from the root. */
function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\s)(?:import|export)\s[^'"`;]*?from\s+['"]([^'"]+)['"]|(?:^|\s)import\s*\(?\s*['"]([^'"]+)['"]/gm)].map(
    (match) => match[1] ?? match[2]!,
  );
  return specifiers.map((specifier) => (specifier.startsWith('.') ? relative(ROOT, resolve(ROOT, file, '..', specifier)) : specifier));
}

function breaches(dirs: string[], forbidden: (specifier: string, file: string) => boolean): string[] {
  return dirs.flatMap(files).flatMap((file) =>
    imports(file)
      .filter((specifier) => forbidden(specifier, file))
      .map((specifier) => `${file} imports ${specifier}`),
  );
}

const DRIVERS = /^(@libsql\/client|drizzle-orm|node:sqlite)(\/|$)/;
const SCHEMA = 'src/server/db/schema.ts';

/** The adapter files that open the store: each makes the driver the core is then given. */
const STORE_OPENERS = new Set([
  'src/node/store.ts',
  'src/node/migrations.ts',
  // The gate's two reads prepared on Node's own SQLite, compiled from the core's queries.
  'src/node/gate-reads.ts',
  'src/cloudflare/d1-store.ts',
  // A Worker may use a remote libSQL store instead of D1.
  'src/cloudflare/app-context.ts',
  // Operator tools: D1 through Cloudflare's API, and the check that a store is migrated before a sync.
  'scripts/cf-d1.ts',
  'scripts/content-sync.ts',
  // The backup opens the copy it made, to check it.
  'scripts/admin.ts',
  // The benchmark writes its own fixture rows and measures the bare driver as its baseline.
  'scripts/bench.ts',
  'scripts/bench-search.ts',
]);

describe('the core', () => {
  test('imports nothing of Node, of Astro, or of the adapters', () => {
    const adapters = /^src\/(node|cloudflare|catalog|pages|components|layouts)\//;
    expect(breaches(['src/server'], (specifier) => specifier.startsWith('node:') || /^astro(:|\/|$)/.test(specifier) || adapters.test(specifier))).toEqual([]);
  });
});

describe('the adapters', () => {
  test('reach the store only through the core: no driver and no table outside the files that open it', () => {
    const dirs = ['src/node', 'src/cloudflare', 'src/catalog', 'src/pages', 'src/components', 'src/layouts', 'scripts', 'functions'];
    expect(breaches(dirs, (specifier, file) => (DRIVERS.test(specifier) || specifier === SCHEMA) && !STORE_OPENERS.has(file))).toEqual([]);
  });

  test('every exception listed here still exists, so the list cannot outlive its reasons', () => {
    const all = new Set(['src', 'scripts', 'functions'].flatMap(files));
    expect([...STORE_OPENERS].filter((file) => !all.has(file))).toEqual([]);
  });
});

describe('this test', () => {
  test('sees imports in every form the code uses', () => {
    const seen = imports('src/node/gate-reads.ts');
    expect(seen).toContain('node:sqlite');
    expect(seen).toContain('src/server/access/lesson-gate.ts');
    expect(breaches(['src/node'], (specifier) => specifier === 'node:sqlite')).toContain('src/node/gate-reads.ts imports node:sqlite');
  });
});
