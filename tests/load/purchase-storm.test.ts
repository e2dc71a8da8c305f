// Launch day: a storm of purchases across several server processes on one SQLite store, webhooks
// delivered 1 to 3 times in random order with refunds mixed in; then a second storm during which
// one process is killed with SIGKILL and restarted, and reconcile runs. Nothing may be lost or
// doubled: the store must agree with the stand-in on every payment.
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { startPaymentsSite, type PaymentsSite } from '../support/payments.ts';
import {
  checkLedgerAgainstStandin,
  lostWithKilledProcess,
  runPurchaseStorm,
  runReconcile,
  waitForLog,
  workerPids,
  type StormReport,
} from './purchase-storm.ts';
import { LOAD } from './settings.ts';

let site: PaymentsSite;

beforeAll(async () => {
  site = await startPaymentsSite(inject('dist'), { env: { WEB_CONCURRENCY: String(LOAD.workers), TRUST_PROXY: '127.0.0.1', LOG_LEVEL: 'info' } });
  await waitForLog(site.server.logs, /"event":"cluster\.ready"/);
});
afterAll(async () => {
  await site?.stop();
});

function summary(name: string, report: StormReport) {
  const perSecond = ((report.purchases / report.ms) * 1000).toFixed(1);
  console.log(
    `${name}: ${report.purchases} purchases (${report.paid} paid, ${report.fullRefunds} refunded, ${report.partialRefunds} partly refunded), ` +
      `${report.deliveries} webhook deliveries, ${report.successPages} success pages, ${LOAD.workers} processes, ` +
      `${(report.ms / 1000).toFixed(1)} s (${perSecond} purchases/s); answers ${JSON.stringify(report.statuses)}, ${report.connectionFailures} without answer`,
  );
}

/** Server errors in the processes' own logs (every request is logged, with its status). */
function serverErrors(): string[] {
  return site.server
    .logs()
    .split('\n')
    .filter((line) => /"level":"error"/.test(line) && !/"event":"cluster\.worker-exited"/.test(line));
}

test('a storm of purchases: every paid purchase fulfilled once, every refund applied, no 5xx', async () => {
  const report = await runPurchaseStorm(site, { purchases: LOAD.purchases, label: 'first' });
  summary('storm 1', report);
  expect(serverErrors()).toEqual([]);
  expect(report.problems).toEqual([]);
  expect(report.paid).toBe(LOAD.purchases);

  // The webhooks alone did everything: reconcile finds nothing to change.
  expect(await runReconcile(site)).toContain('Nothing to change');
  const check = await checkLedgerAgainstStandin(site);
  expect(check.purchases).toBe(LOAD.purchases);
  expect(check.refunded).toBe(report.fullRefunds);
  expect(check.partiallyRefunded).toBe(report.partialRefunds);
});

test('a process killed with SIGKILL mid-storm: it is restarted, reconcile recovers what it dropped, nothing is doubled', async () => {
  const before = await workerPids(site.server.pid);
  expect(before).toHaveLength(LOAD.workers);
  const victim = before[Math.floor(Math.random() * before.length)]!;
  let killedAt = 0;
  const report = await runPurchaseStorm(site, {
    purchases: LOAD.purchases,
    label: 'second',
    midway: async () => {
      killedAt = performance.now();
      process.kill(victim, 'SIGKILL');
    },
  });
  summary('storm 2 (one process killed)', report);
  expect(killedAt).toBeGreaterThan(0);

  // The primary saw it die and started another in its place.
  await waitForLog(site.server.logs, /"event":"cluster\.ready"/, 2);
  const after = await workerPids(site.server.pid);
  expect(after).toHaveLength(LOAD.workers);
  expect(after).not.toContain(victim);

  // The only trouble allowed is what the killed process took with it. Nothing anywhere answered 5xx.
  expect(report.problems.filter((problem) => !lostWithKilledProcess(problem))).toEqual([]);
  expect(Object.keys(report.statuses).filter((status) => Number(status) >= 500)).toEqual([]);
  expect(serverErrors()).toEqual([]);
  console.log(`  requests without answer (on the killed process): ${report.connectionFailures}`);

  const reconciled = await runReconcile(site);
  console.log(`  reconcile: ${reconciled.trim().split('\n').length - 1} line(s) of changes`);
  const check = await checkLedgerAgainstStandin(site);
  // Both storms: a purchase whose checkout request died with the process was never paid, so paid
  // sessions, not attempts, are what the store must match.
  expect(check.purchases).toBe(LOAD.purchases + report.paid);
  expect(await runReconcile(site)).toContain('Nothing to change');
});
