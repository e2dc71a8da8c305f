// Starts the built server (`node src/node/server.ts` over a build) as a child process on a free
// loopback port, the way production runs it, and stops it again.
import { spawn } from './processes.ts';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT } from './build.ts';

export type RunningServer = { url: string; port: number; pid: number; logs: () => string; exited: () => string | null; stop: () => Promise<void> };

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export type Service = {
  pid: number;
  logs: () => string;
  /** Null while the process runs; once it has ended, how (`code 1`, `signal SIGKILL`). */
  exited: () => string | null;
  stop: () => Promise<void>;
};

/**
 * Runs `command` as a child process and waits until `isReady()` answers true (a failed check is
 * a "not yet"); fails with the process's output when it exits first or takes longer than
 * `timeoutMs`. The servers the tests run (ours, wrangler, sqld) all start this way.
 */
export async function startService(
  name: string,
  command: string,
  args: string[],
  options: { env: Record<string, string>; cwd?: string; isReady: () => Promise<boolean>; timeoutMs?: number },
): Promise<Service> {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const ended = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await ended;
  };
  // Generous: on a busy two-core machine a cold Node start with its TypeScript takes many seconds.
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output}`);
    if (await options.isReady().catch(() => false)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await ended;
      throw new Error(`${name} did not answer within ${timeoutMs / 1000} s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const exited = () => (child.exitCode !== null ? `code ${child.exitCode}` : child.signalCode !== null ? `signal ${child.signalCode}` : null);
  return { pid: child.pid!, logs: () => output, exited, stop };
}

/** `port`: listen there instead of on a free port picked here (when the caller needs the address first). */
export async function startServer(options: { dist: string; env: Record<string, string>; port?: number }): Promise<RunningServer> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const service = await startService('the server', process.execPath, [join(ROOT, 'src/node/server.ts')], {
    env: { ASTRO_TELEMETRY_DISABLED: '1', DIST_DIR: options.dist, ...options.env, HOST: '127.0.0.1', PORT: String(port) },
    isReady: async () => (await fetch(`${url}/robots.txt`), true),
  });
  return { url, port, ...service };
}
