// The one test that looks at the author's own courses/, whatever it holds: `npm run check` passes,
// it builds, and the public output gives away nothing of its paid lessons. Every other test runs
// on the suite's own courses (tests/fixtures/demo-courses), so that an author who changes theirs
// (another language, new courses, the demo deleted) still has a suite that passes.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { loadCatalog } from '../src/catalog/load.ts';
import { buildSite, ROOT } from './support/build.ts';
import { paidLeaks } from './support/leaks.ts';

const COURSES = join(ROOT, 'courses');
let dist: string | undefined;
afterAll(() => {
  if (dist) rmSync(dist, { recursive: true, force: true });
});

test("the author's courses pass the check, build, and leave no paid text in the public output", async () => {
  const check = spawnSync(process.execPath, [join(ROOT, 'scripts/check-courses.ts'), COURSES], { cwd: ROOT, encoding: 'utf8' });
  expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);

  const [build, catalog] = await Promise.all([buildSite({ coursesDir: COURSES }), loadCatalog(COURSES)]);
  dist = build.outDir;
  expect(build.code, build.output).toBe(0);
  expect(paidLeaks(build.outDir, catalog)).toEqual([]);
});
