// A `.env` file in the folder a command runs in is read the same way by every entry point
// (src/node/env.ts), under what the shell sets: `npm start` decides about the Stripe stand-in and
// its port from it (and logs readable lines, development's default), and the admin CLI prints
// the sign-in address of the server it configures.
import { runScript } from './support/processes.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ROOT } from './support/build.ts';
import { freePort, startService } from './support/server.ts';

const folders: string[] = [];
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** A working folder holding only a .env file with these lines. */
function folderWithEnv(lines: string[]): string {
  const dir = mkdtempSync(join(ROOT, '.test-dist', 'env-'));
  folders.push(dir);
  writeFileSync(join(dir, '.env'), `# as a developer writes it\n${lines.join('\n')}\n`);
  return dir;
}

const BASE_ENV = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };

describe('.env', () => {
  it('npm start takes STRIPE_SECRET_KEY, HOST and PORT from .env: no stand-in, the real API, that address', async () => {
    const port = await freePort();
    const shellPort = await freePort();
    const dir = folderWithEnv([
      'STRIPE_SECRET_KEY=sk_test_from_the_env_file',
      'STRIPE_WEBHOOK_SECRET=whsec_from_the_env_file',
      'HOST=127.0.0.1',
      `PORT=${port}`,
      'DATABASE_URL=file:data/app.db',
      `DIST_DIR=${inject('dist')}`,
      'MAIL_OUTBOX=1',
    ]);
    const start = await startService('npm start', process.execPath, [join(ROOT, 'scripts/start.ts'), '--no-build'], {
      cwd: dir,
      env: BASE_ENV,
      isReady: async () => (await fetch(`http://127.0.0.1:${port}/robots.txt`)).ok,
      timeoutMs: 180_000,
    });
    try {
      expect(start.logs()).toContain(`Course site: http://127.0.0.1:${port}/`);
      expect(start.logs()).not.toContain('Stripe stand-in');
      // In development the log is a line to read, not JSON (src/server/log.ts).
      expect(start.logs()).toMatch(/ INFO {2}app\.ready env=development .*stripe=api\.stripe\.com/);
      await fetch(`http://127.0.0.1:${port}/robots.txt?token=secret`);
      await expect.poll(() => start.logs()).toMatch(/\d\d:\d\d:\d\d INFO {2}GET \/robots\.txt 200 [\d.]+ ms id=[0-9a-f]{16} address=127\.0\.0\.1\n/);
      expect(start.logs()).not.toContain('"event"');
      expect(start.logs()).not.toContain('token=secret');
      // The store is the one .env names, relative to the folder the command runs in.
      expect(start.logs()).toContain(`file:data/app.db`);
    } finally {
      await start.stop();
    }

    // Without a key, the stand-in; and a value exported in the shell wins over the file.
    writeFileSync(join(dir, '.env'), `HOST=127.0.0.1\nPORT=${port}\nDIST_DIR=${inject('dist')}\nMAIL_OUTBOX=1\n`);
    const shell = await startService('npm start', process.execPath, [join(ROOT, 'scripts/start.ts'), '--no-build'], {
      cwd: dir,
      env: { ...BASE_ENV, PORT: String(shellPort), STANDIN_PORT: String(await freePort()) },
      isReady: async () => (await fetch(`http://127.0.0.1:${shellPort}/robots.txt`)).ok,
      timeoutMs: 180_000,
    });
    try {
      expect(shell.logs()).toContain(`Course site: http://127.0.0.1:${shellPort}/`);
      expect(shell.logs()).toContain('Stripe stand-in (no real payments');
      expect(shell.logs()).toMatch(/ INFO {2}app\.ready .*stripe=http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await shell.stop();
    }
  }, 420_000);

  it('the admin CLI uses the store of .env and prints the sign-in address of the server .env configures', async () => {
    const dir = folderWithEnv(['HOST=127.0.0.1', 'PORT=4999', `DATABASE_URL=file:${join('data', 'app.db')}`, 'PASSWORD_ITERATIONS=2000']);
    const migrate = await run('scripts/migrate.ts', [], dir);
    expect(migrate.code, migrate.output).toBe(0);
    expect(migrate.output).toContain('Store file:data/app.db');
    const created = await run('scripts/admin.ts', ['create-admin', 'boss@example.com', '--password-stdin'], dir, 'a long admin passphrase\n');
    expect(created.code, created.output).toBe(0);
    expect(created.output).toContain('Sign in at http://127.0.0.1:4999/login');

    // SITE_URL, when set, is the address.
    writeFileSync(join(dir, '.env'), 'SITE_URL=https://courses.example.com\nPORT=4999\nDATABASE_URL=file:data/app.db\nPASSWORD_ITERATIONS=2000\n');
    const second = await run('scripts/admin.ts', ['create-admin', 'second@example.com', '--password-stdin'], dir, 'another admin passphrase\n');
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain('Sign in at https://courses.example.com/login');
  }, 180_000);
});

/** A command-line tool run in `dir`, where its .env is, with nothing else in its environment. */
const run = (script: string, args: string[], cwd: string, input = '') => runScript(script, args, { cwd, input });
