// The Node entry: it refuses to start on what would fail later, and stops gracefully.
import { spawn } from './support/processes.ts';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { accountsEnv } from './support/accounts-env.ts';
import { ROOT } from './support/build.ts';
import { freePort, startServer } from './support/server.ts';
import { createTestStore, type TestStore } from './support/store.ts';

function runEntry(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'src/node/server.ts')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', DIST_DIR: inject('dist'), HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('the Node entry', () => {
  const stores: TestStore[] = [];
  afterAll(() => {
    for (const s of stores) s.remove();
  });

  it('refuses to start on an unmigrated store, naming the command to run', async () => {
    const store = await createTestStore({ migrate: false });
    stores.push(store);
    const env = accountsEnv({ databaseUrl: store.url, smtpUrl: 'smtp://127.0.0.1:1' });
    const result = await runEntry({ ...env, PORT: String(await freePort()) });
    expect(result.code).toBe(1);
    expect(result.output).toContain('The server cannot start: The store is not migrated (it has no migrations table). Run `npm run db:migrate` first.');
  });

  it('refuses to start in production pointed at a Stripe stand-in or without Stripe secrets, listing every problem', async () => {
    const store = await createTestStore();
    stores.push(store);
    const env = accountsEnv({ databaseUrl: store.url, smtpUrl: 'smtp://127.0.0.1:1' });
    const standin = await runEntry({ ...env, STRIPE_API_BASE: 'http://127.0.0.1:12111', PORT: String(await freePort()) });
    expect(standin.code).toBe(1);
    expect(standin.output).toContain('STRIPE_API_BASE: points the site at a development Stripe stand-in');
    const { STRIPE_SECRET_KEY: _key, STRIPE_WEBHOOK_SECRET: _secret, ...withoutStripe } = env;
    const missing = await runEntry({ ...withoutStripe, PORT: String(await freePort()) });
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('STRIPE_SECRET_KEY: must be set in production');
    expect(missing.output).toContain('STRIPE_WEBHOOK_SECRET: must be set in production');
  });

  it('refuses a WEB_CONCURRENCY that is no number of processes, or a blank DIST_DIR, both at once', async () => {
    const store = await createTestStore();
    stores.push(store);
    const env = accountsEnv({ databaseUrl: store.url, smtpUrl: 'smtp://127.0.0.1:1' });
    const result = await runEntry({ ...env, WEB_CONCURRENCY: 'two', DIST_DIR: ' ', PORT: String(await freePort()) });
    expect(result.code).toBe(1);
    expect(result.output).toContain('WEB_CONCURRENCY: must be a whole number from 1 to 64 (got "two")');
    expect(result.output).toContain('DIST_DIR: must name a folder (unset, it is dist)');
    // No worker was forked to report it again.
    expect(result.output.match(/The server cannot start/g)).toHaveLength(1);
  });

  it('serves static pages and on-demand routes from one process, and exits cleanly on SIGTERM', async () => {
    const store = await createTestStore();
    stores.push(store);
    const env = { ...accountsEnv({ databaseUrl: store.url, smtpUrl: 'smtp://127.0.0.1:1' }), LOG_LEVEL: 'info' };
    const server = await startServer({ dist: inject('dist'), env });
    const home = await fetch(`${server.url}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('Python Fundamentals');
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    // The newest migration rolled back under the running server: not healthy any more.
    await store.client.execute('DELETE FROM __drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM __drizzle_migrations)');
    const pending = await fetch(`${server.url}/healthz`);
    expect(pending.status).toBe(503);
    expect(await pending.json()).toEqual({ ok: false, store: 'migrations pending' });
    const me = await fetch(`${server.url}/api/me`);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ signedIn: false });
    await server.stop();
    expect(server.logs()).toContain('server.stopping');
  });
});

describe('errors and request logs', () => {
  it('a failure shows the error page with a request id and no internals; the log line has the same id', async () => {
    const store = await createTestStore();
    const env = { ...accountsEnv({ databaseUrl: store.url, smtpUrl: 'smtp://127.0.0.1:1' }), LOG_LEVEL: 'info' };
    const server = await startServer({ dist: inject('dist'), env });
    try {
      // The store loses a table under the running server: checkout cannot read its course.
      await store.client.execute('ALTER TABLE courses RENAME TO courses_gone');
      const response = await fetch(`${server.url}/api/checkout?token=secret-value`, {
        method: 'POST',
        headers: { origin: 'https://courses.test', 'content-type': 'application/x-www-form-urlencoded' },
        body: 'course=python-fundamentals',
      });
      expect(response.status).toBe(500);
      const id = response.headers.get('x-request-id')!;
      expect(id).toMatch(/^[0-9a-f]{16}$/);
      const html = await response.text();
      expect(html).toContain('Something went wrong');
      expect(html).toContain(id);
      expect(html).not.toMatch(/courses_gone|no such table|at \w+ \(|\.ts:\d+|SQLITE/i);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const lines = server
        .logs()
        .split('\n')
        .filter((entry) => entry.includes(`"id":"${id}"`));
      // The request's own line, and the error under the same id (src/server/routes.ts answerRoute).
      expect(lines.map((line) => JSON.parse(line))).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ level: 'error', event: 'request', method: 'POST', path: '/api/checkout', status: 500 }),
          expect.objectContaining({ level: 'error', event: 'request.failed', method: 'POST', path: '/api/checkout', error: expect.stringMatching(/courses/) }),
        ]),
      );
      for (const line of lines) expect(line).not.toContain('secret-value');
    } finally {
      await server.stop();
      store.remove();
    }
  });
});
