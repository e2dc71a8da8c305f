// One build of the demo site per test run, shared by every test file through `inject('dist')`.
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildSite, ROOT } from './build.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dist: string;
  }
}

export default async function setup(project: TestProject) {
  mkdirSync(join(ROOT, '.test-dist'), { recursive: true });
  // TEST_DIST=.test-dist/x: rerun test files against a build made before (kept afterwards).
  if (process.env.TEST_DIST) {
    project.provide('dist', resolve(ROOT, process.env.TEST_DIST));
    return;
  }
  const build = await buildSite();
  if (build.code !== 0) throw new Error(`the demo site does not build:\n${build.output}`);
  project.provide('dist', build.outDir);
  return () => rmSync(build.outDir, { recursive: true, force: true });
}
