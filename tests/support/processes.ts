// Every process a test starts is stopped when the run ends, however it ends: a test that fails
// halfway, a `beforeAll` that throws after starting a server, a worker that is killed. Tests spawn
// through here instead of node:child_process. Each child is remembered twice:
// - in this worker, which kills what it started when it exits;
// - in a file of the run's folder (TEST_PROCESS_DIR, made by global-setup.ts), which the run's
//   teardown reads to kill whatever is still running, since a worker killed by a signal runs no
//   exit handler.
// Each child leads a process group of its own, and the group is what gets killed, so that what it
// started in turn (wrangler's workerd, npm's node) goes with it.
import { type ChildProcess, type ForkOptions, type SpawnOptions, fork as forkChild, spawn as spawnChild } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const running = new Set<ChildProcess>();

function killGroup(pid: number): boolean {
  try {
    process.kill(-pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

process.once('exit', () => {
  for (const child of running) if (child.pid) killGroup(child.pid);
});

/** When the kernel started `pid` (field 22 of /proc/pid/stat), so that a reused pid is never taken for ours. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function track<T extends ChildProcess>(child: T): T {
  const dir = process.env.TEST_PROCESS_DIR;
  const file = dir && child.pid ? join(dir, String(child.pid)) : null;
  if (file && child.pid) {
    mkdirSync(dir!, { recursive: true });
    writeFileSync(file, startTime(child.pid) ?? '');
  }
  running.add(child);
  child.once('exit', () => {
    running.delete(child);
    if (file) rmSync(file, { force: true });
  });
  return child;
}

/** node:child_process's own, with its types, for a child that is tracked. */
export const spawn = ((command: string, args: readonly string[], options: SpawnOptions) =>
  track(spawnChild(command, args, { ...options, detached: true }))) as typeof spawnChild;

export const fork = ((module: string, args: readonly string[], options: ForkOptions) =>
  track(forkChild(module, args, { ...options, detached: true }))) as typeof forkChild;

/** The run's teardown: kills every process still listed in `dir` and says which they were. */
export function killLeftovers(dir: string): number[] {
  const killed: number[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return killed;
  }
  for (const name of names) {
    const pid = Number(name);
    const recorded = readFileSync(join(dir, name), 'utf8');
    if (recorded && startTime(pid) === recorded && killGroup(pid)) killed.push(pid);
    rmSync(join(dir, name), { force: true });
  }
  return killed;
}

const ROOT = resolve(import.meta.dirname, '../..');

export type ScriptRun = {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Both streams as they came, for an assertion's message or a search in either. */
  output: string;
};

/**
 * `node <script> ...args`, as `npm run` runs a command-line tool: from the project's folder unless
 * `cwd` says otherwise, with PATH, HOME and `env` only (so nothing of the test's own environment
 * leaks in), and standard input closed after `input`. It resolves whatever the exit code, which
 * the caller asserts.
 */
export function runScript(
  script: string,
  args: readonly string[] = [],
  options: { env?: Record<string, string>; input?: string; cwd?: string } = {},
): Promise<ScriptRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [resolve(ROOT, script), ...args], {
      cwd: options.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk;
      output += chunk;
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk;
      output += chunk;
    });
    child.on('error', fail);
    child.on('exit', (code) => done({ code, stdout, stderr, output }));
    child.stdin!.end(options.input ?? '');
  });
}
