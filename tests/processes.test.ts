// No process a test starts outlives the run, however the run ends: here a run of test files that
// leave servers behind (tests/fixtures/process-leak/) is made, and afterwards nothing it started,
// nor anything those started, is still running.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ROOT } from './support/build.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie is an ended process that its parent has not waited for yet.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

test.each(['fail', 'kill'])('a test file whose setup %ss after starting a server leaves nothing running', (mode) => {
  const pids = join(mkdtempSync(join(ROOT, '.test-dist', 'leak-')), 'pids');
  let code = 0;
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'tests/fixtures/process-leak/vitest.config.ts'], {
      cwd: ROOT,
      env: { ...process.env, TEST_DIST: '.test-dist/none', TEST_PROCESS_DIR: '', LEAK_PIDS: pids, LEAK_MODE: mode },
      stdio: 'pipe',
    });
  } catch (error) {
    code = (error as { status: number }).status;
  }
  expect(code).not.toBe(0);
  const started = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
  expect(started).toHaveLength(2);
  expect(started.filter(alive)).toEqual([]);
});
