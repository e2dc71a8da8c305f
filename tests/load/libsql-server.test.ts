// Past one machine: the same site with its store on a libSQL server (sqld, what Turso runs),
// reached over HTTP, or on embedded replicas of one (one replica file per process), with several
// processes in front of it: purchase storms (nothing lost or doubled; on replicas with a process
// killed midway), and lesson reads measured against the same reads on a local file store, in the
// same run (docs/scaling.md).
import { fork } from '../support/processes.ts';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { grantAccess } from '../../src/server/access/ledger.ts';
import { SESSION_COOKIE } from '../support/accounts-env.ts';
import { ROOT } from '../support/build.ts';
import { signedUpVisitor, startPaymentsSite, type PaymentsSite } from '../support/payments.ts';
import { startSqld, type Sqld } from '../support/sqld.ts';
import { checkLedgerAgainstStandin, lostWithKilledProcess, runPurchaseStorm, runReconcile, waitForLog, workerPids } from './purchase-storm.ts';
import { LOAD } from './settings.ts';

const LESSON = '/courses/python-fundamentals/control-flow/';
const READ_SECONDS = 5;

let sqld: Sqld;
let primary: Sqld;
let onServer: PaymentsSite;
let onFile: PaymentsSite;
let onReplicas: PaymentsSite;
let replicaDir: string;

const siteEnv = { WEB_CONCURRENCY: String(LOAD.workers), TRUST_PROXY: '127.0.0.1', LOG_LEVEL: 'info' };

beforeAll(async () => {
  [sqld, primary] = await Promise.all([startSqld(), startSqld()]);
  replicaDir = mkdtempSync(join(ROOT, '.test-dist', 'replica-files-'));
  const replicaEnv = { ...siteEnv, DATABASE_URL: `file:${join(replicaDir, 'app.db')}`, DATABASE_SYNC_URL: primary.url };
  // Two sites at a time: nine processes starting at once on two busy cores overrun the start timeout.
  [onServer, onFile] = await Promise.all([
    startPaymentsSite(inject('dist'), { databaseUrl: sqld.url, env: siteEnv }),
    startPaymentsSite(inject('dist'), { env: siteEnv }),
  ]);
  onReplicas = await startPaymentsSite(inject('dist'), { databaseUrl: primary.url, env: replicaEnv });
  await Promise.all([onServer, onFile, onReplicas].map((site) => waitForLog(site.server.logs, /"event":"cluster\.ready"/)));
});
afterAll(async () => {
  await Promise.all([onServer?.stop(), onFile?.stop(), onReplicas?.stop()]);
  await Promise.all([sqld?.stop(), primary?.stop()]);
  if (replicaDir) rmSync(replicaDir, { recursive: true, force: true });
});

type LoadResult = { requests: number; rps: number; p50: number; p99: number; max: number; statuses: Record<string, number>; errors: number };

/** An entitled member's lesson under autocannon (its own process) for a few seconds. */
async function readLesson(site: PaymentsSite, email: string): Promise<LoadResult> {
  const reader = await signedUpVisitor(site, email);
  const [member] = (await site.store.client.execute({ sql: 'SELECT id FROM users WHERE email = ?', args: [email] })).rows;
  await grantAccess(site.store.db, { userId: Number(member!.id), courseSlug: 'python-fundamentals', reason: 'load test', now: Date.now() });
  expect((await reader.get(LESSON)).status).toBe(200);
  const child = fork(join(ROOT, 'tests/load/lesson-load.ts'), [`${site.server.url}${LESSON}`, `${SESSION_COOKIE}=${reader.cookie(SESSION_COOKIE)}`, '16'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: unknown[] = [];
  let notify = () => {};
  child.on('message', (message) => {
    messages.push(message);
    notify();
  });
  const next = () => new Promise<unknown>((resolve) => (messages.length ? resolve(messages.shift()) : (notify = () => resolve(messages.shift()))));
  expect(await next()).toBe('started');
  await new Promise((resolve) => setTimeout(resolve, READ_SECONDS * 1000));
  child.send('stop');
  return (await next()) as LoadResult;
}

test('on a libSQL server: a storm of purchases loses and doubles nothing, reconcile agrees', async () => {
  const report = await runPurchaseStorm(onServer, { purchases: LOAD.purchases, label: 'sqld' });
  console.log(
    `libSQL server, ${LOAD.workers} processes: ${report.purchases} purchases (${report.paid} paid, ${report.fullRefunds} refunded, ${report.partialRefunds} partly), ` +
      `${report.deliveries} webhook deliveries in ${(report.ms / 1000).toFixed(1)} s (${((report.purchases / report.ms) * 1000).toFixed(1)} purchases/s); answers ${JSON.stringify(report.statuses)}`,
  );
  expect(report.problems).toEqual([]);
  expect(report.paid).toBe(LOAD.purchases);
  // The webhooks did it all: reconcile, which reads the store over the network too, changes nothing.
  expect(await runReconcile(onServer)).toContain('Nothing to change');
  const check = await checkLedgerAgainstStandin(onServer);
  expect(check.purchases).toBe(LOAD.purchases);
  expect(check.refunded).toBe(report.fullRefunds);
  expect(check.partiallyRefunded).toBe(report.partialRefunds);
});

test('on embedded replicas, a process killed mid-storm: nothing is lost or doubled, reconcile agrees', async () => {
  const before = await workerPids(onReplicas.server.pid);
  const report = await runPurchaseStorm(onReplicas, {
    purchases: LOAD.purchases,
    label: 'replicas',
    midway: async () => {
      process.kill(before[0]!, 'SIGKILL');
    },
  });
  console.log(
    `Embedded replicas, ${LOAD.workers} processes (one killed midway): ${report.purchases} purchases (${report.paid} paid, ${report.fullRefunds} refunded, ${report.partialRefunds} partly), ` +
      `${report.deliveries} webhook deliveries in ${(report.ms / 1000).toFixed(1)} s; answers ${JSON.stringify(report.statuses)}`,
  );
  // The only trouble allowed is what the killed process took with it. Nothing anywhere answered 5xx.
  expect(report.problems.filter((problem) => !lostWithKilledProcess(problem))).toEqual([]);
  await waitForLog(onReplicas.server.logs, /"event":"cluster\.ready"/, 2);
  await runReconcile(onReplicas);
  const check = await checkLedgerAgainstStandin(onReplicas);
  expect(check.purchases).toBe(check.paidSessions);
  // One replica file per process, the restarted one reusing its slot's.
  expect(readdirSync(replicaDir).filter((name) => /^app\.worker-\d+\.db$/.test(name))).toHaveLength(LOAD.workers);
});

test('lesson reads on a libSQL server and on embedded replicas beside the same reads on a local file store', async () => {
  const file = await readLesson(onFile, 'reader-file@example.com');
  const server = await readLesson(onServer, 'reader-sqld@example.com');
  const replica = await readLesson(onReplicas, 'reader-replica@example.com');
  const row = (name: string, result: LoadResult) =>
    `| ${name} | ${Math.round(result.rps)} | ${result.p50} | ${result.p99} | ${result.max} | ${JSON.stringify(result.statuses)} |`;
  console.log(
    `Lesson reads, ${LOAD.workers} processes, 16 connections, ${READ_SECONDS} s each:\n| store | requests/s | p50 (ms) | p99 (ms) | max (ms) | answers |\n|---|---|---|---|---|---|`,
  );
  console.log(row('SQLite file (baseline)', file));
  console.log(row('libSQL server over HTTP (loopback)', server));
  console.log(row('embedded replicas of it (one file per process)', replica));
  for (const result of [file, server, replica]) {
    expect(result.errors).toBe(0);
    expect(Object.keys(result.statuses)).toEqual(['200']);
  }
});
