// Builds the site for tests into a folder of its own, so that test runs, a developer's `dist/`
// and parallel runs never overwrite each other.
import { spawn } from './processes.ts';
import { mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
/**
 * The suite's own courses: a copy of the demo as it was when the tests were written. The author's
 * `courses/` is theirs to change; only tests/author-courses.test.ts looks at it.
 */
export const FIXTURE_COURSES = join(ROOT, 'tests/fixtures/demo-courses');

export type BuildResult = { outDir: string; code: number | null; output: string; ms: number };

export function buildSite(options: { coursesDir?: string; outDir?: string; env?: Record<string, string> } = {}): Promise<BuildResult> {
  const outDir = options.outDir ?? mkdtempSync(join(ROOT, '.test-dist', 'build-'));
  const started = performance.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/astro/bin/astro.mjs'), 'build', '--outDir', outDir], {
      cwd: ROOT,
      env: {
        ...process.env,
        ASTRO_TELEMETRY_DISABLED: '1',
        COURSES_DIR: resolve(ROOT, options.coursesDir ?? FIXTURE_COURSES),
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', fail);
    child.on('exit', (code) => done({ outDir, code, output, ms: performance.now() - started }));
  });
}
