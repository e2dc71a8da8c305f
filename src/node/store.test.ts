// The store as several processes share it: every connection the client opens must wait for
// another process's write lock; on replicas each process has a file of its own, and an unreachable
// primary is told apart from other failures (a 503, not a 500).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { isStoreUnreachable, openStore, replicaUrlFor, type Store } from './store.ts';

let dir: string;
let store: Store;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'store-test-'));
  store = await openStore(`file:${join(dir, 'app.db')}`);
  await store.client.execute('CREATE TABLE parents (id INTEGER PRIMARY KEY)');
  await store.client.execute('CREATE TABLE children (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES parents(id))');
  // Concurrent calls are what made the client open more connections (a pool of up to 20).
  await Promise.all(Array.from({ length: 4 }, () => store.client.execute('SELECT count(*) FROM parents')));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Another process takes the write lock and keeps it for `ms`. Resolves once it holds it. */
function holdWriteLock(ms: number): Promise<{ released: Promise<void> }> {
  const script = `
    const { DatabaseSync } = require('node:sqlite');
    const db = new DatabaseSync(${JSON.stringify(join(dir, 'app.db'))});
    db.exec('BEGIN IMMEDIATE');
    db.exec('INSERT INTO parents (id) VALUES (1)');
    console.log('locked');
    setTimeout(() => { db.exec('COMMIT'); process.exit(0); }, ${ms});`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => resolve({ released: done }));
    child.once('exit', (code) => reject(new Error(`the lock holder exited with ${code}`)));
  });
}

test("a write waits for another process's lock instead of failing with SQLITE_BUSY", async () => {
  const { released } = await holdWriteLock(300);
  const started = performance.now();
  await Promise.all([
    store.client.execute('INSERT INTO parents (id) VALUES (2)'),
    store.client.batch(['INSERT INTO parents (id) VALUES (3)', 'INSERT INTO children (parent) VALUES (3)']),
  ]);
  expect(performance.now() - started).toBeGreaterThan(100);
  await released;
  expect((await store.client.execute('SELECT count(*) AS n FROM parents')).rows[0]!.n).toBe(3);
});

test('each worker of a server on replicas gets a replica file of its own', () => {
  expect(replicaUrlFor('file:/srv/courses/replica.db', '2')).toBe('file:/srv/courses/replica.worker-2.db');
  expect(replicaUrlFor('file:/srv/courses.d/replica', '1')).toBe('file:/srv/courses.d/replica.worker-1');
  // One process: its file as configured.
  expect(replicaUrlFor('file:/srv/courses/replica.db', undefined)).toBe('file:/srv/courses/replica.db');
});

test("the driver's errors for a primary out of reach are told apart from other failures", () => {
  // As the libSQL client reports a write sent to a primary that is down, and a sync that gets no answer.
  expect(
    isStoreUnreachable(
      new Error('WriteDelegation(status: Unavailable, message: "error trying to connect: tcp connect error: Connection refused (os error 111)"'),
    ),
  ).toBe(true);
  expect(isStoreUnreachable(new Error('Replication(PrimaryHandshakeTimeout)'))).toBe(true);
  expect(isStoreUnreachable(new Error('SQLITE_CONSTRAINT: UNIQUE constraint failed: users.email'))).toBe(false);
});
