// One build of the demo site per test run, shared by every test file through `inject('dist')`, and
// the run's list of the processes tests started, so that none outlives the run (processes.ts).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildSite, ROOT } from './build.ts';
import { killLeftovers } from './processes.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dist: string;
  }
}

export default async function setup(project: TestProject) {
  mkdirSync(join(ROOT, '.test-dist'), { recursive: true });
  const processes = mkdtempSync(join(ROOT, '.test-dist', 'processes-'));
  process.env.TEST_PROCESS_DIR = processes;
  const stopLeftovers = () => {
    const killed = killLeftovers(processes);
    if (killed.length) console.warn(`stopped ${killed.length} process(es) the tests left running: ${killed.join(', ')}`);
    rmSync(processes, { recursive: true, force: true });
  };
  // Also when the run is interrupted (Ctrl-C, a CI time limit), where no teardown may come.
  process.once('exit', stopLeftovers);
  // TEST_DIST=.test-dist/x: rerun test files against a build made before (kept afterwards).
  if (process.env.TEST_DIST) {
    project.provide('dist', resolve(ROOT, process.env.TEST_DIST));
    return stopLeftovers;
  }
  const build = await buildSite();
  if (build.code !== 0) {
    stopLeftovers();
    throw new Error(`the demo site does not build:\n${build.output}`);
  }
  project.provide('dist', build.outDir);
  return () => {
    stopLeftovers();
    rmSync(build.outDir, { recursive: true, force: true });
  };
}
