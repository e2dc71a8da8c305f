// Launch day past one machine: a purchase storm through Caddy spread over three app servers, each
// on its own embedded replica of one libSQL primary (the harness of tests/replicas.test.ts), with
// webhooks delivered 1 to 3 times in random order through the balancer too, and one whole server
// killed with SIGKILL halfway, then started again on its replica file. After reconcile (on the
// primary), nothing may be lost or doubled, the surviving servers answered no 5xx, and every buyer
// reads their lesson through the balancer at once (docs/scaling.md, issue "past one machine").
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { startCaddy, type RunningCaddy } from '../support/caddy.ts';
import { startReplicaServers, type ReplicaServers } from '../support/replica-servers.ts';
import { freePort, type RunningServer } from '../support/server.ts';
import { createTestStore, type TestStore } from '../support/store.ts';
import { checkLedgerAgainstStandin, lostWithKilledProcess, runPurchaseStorm, runReconcile, type StormSite } from './purchase-storm.ts';
import { LOAD } from './settings.ts';

/** The production default: what a revocation may take is this plus one sync (docs/scaling.md). */
const SYNC_INTERVAL_S = 1;
const NAMES = ['a', 'b', 'c'];

let harness: ReplicaServers;
let caddy: RunningCaddy;
/** A client on the primary itself, to compare the store with the stand-in. */
let primary: TestStore;

const random = (n: number) => Math.floor(Math.random() * n);

beforeAll(async () => {
  // SITE_URL is the balancer's address, as in production: the forms' Origin is Caddy's.
  const port = await freePort();
  harness = await startReplicaServers({
    dist: inject('dist'),
    names: NAMES,
    syncIntervalS: SYNC_INTERVAL_S,
    env: { SITE_URL: `https://localhost:${port}` },
  });
  caddy = await startCaddy({
    siteRoot: join(inject('dist'), 'client'),
    upstream: harness.servers.map((server) => `127.0.0.1:${server.port}`).join(' '),
    port,
  });
  // The stand-in posts its webhooks to the balancer over HTTPS, as Stripe does: it must trust Caddy's CA.
  setDefaultCACertificates([...getCACertificates('default'), caddy.ca]);
  await harness.control('/_standin/config', { webhook_urls: [`${caddy.origin}/api/stripe/webhook`] });
  primary = await createTestStore({ url: harness.sqld.url, migrate: false });
});

afterAll(async () => {
  primary?.remove();
  await caddy?.stop();
  await harness?.stop();
});

/** Error lines of a server's log: a 5xx it answered, a failed sync or read, anything it logged as an error. */
function errorsIn(server: RunningServer): string[] {
  return server
    .logs()
    .split('\n')
    .filter((line) => /"level":"error"/.test(line));
}

test('a storm through the balancer over three replica servers, one killed halfway: nothing lost or doubled, every buyer reads at once', async () => {
  const site: StormSite = { ...harness, store: primary, server: { url: caddy.origin } };
  const victimIndex = random(NAMES.length);
  const victim = harness.servers[victimIndex]!;
  let killedAt = 0;
  let restarted: Promise<RunningServer> | undefined;
  const report = await runPurchaseStorm(site, {
    purchases: LOAD.purchases,
    label: 'replica-servers',
    balancer: caddy,
    midway: async () => {
      killedAt = performance.now();
      process.kill(victim.pid, 'SIGKILL');
      // The machine comes back on the same address and the same replica file, as systemd restarts it.
      restarted = harness.start(NAMES[victimIndex]!, { port: victim.port });
      restarted.catch(() => {}); // awaited after the storm, where its failure fails the test
    },
  });
  expect(killedAt).toBeGreaterThan(0);
  const back = await restarted!;
  harness.servers[victimIndex] = back;
  console.log(
    `Three app servers on replicas behind Caddy (server ${NAMES[victimIndex]} killed midway and restarted): ${report.purchases} purchases ` +
      `(${report.paid} paid, ${report.fullRefunds} refunded, ${report.partialRefunds} partly), ${report.deliveries} webhook deliveries, ` +
      `${report.successPages} success pages in ${(report.ms / 1000).toFixed(1)} s (${((report.purchases / report.ms) * 1000).toFixed(1)} purchases/s); ` +
      `answers ${JSON.stringify(report.statuses)}, ${report.connectionFailures} without answer (the killed server's)`,
  );

  // The only trouble allowed is what the killed server took with it (Caddy's 502 for a request it
  // had handed to it); nothing else answered 5xx, and no surviving server logged an error.
  expect(report.problems.filter((problem) => !lostWithKilledProcess(problem))).toEqual([]);
  expect(Object.keys(report.statuses).filter((status) => Number(status) >= 500)).toEqual([]);
  for (const server of harness.servers) expect(errorsIn(server), `server ${NAMES[harness.servers.indexOf(server)]}`).toEqual([]);

  // Reconcile as an operator runs it on an app machine: with DATABASE_SYNC_URL it works on the primary.
  const reconciled = await runReconcile(site, harness.env('tools'));
  console.log(`  reconcile: ${reconciled.split('\n').filter((line) => /^\s+\S/.test(line)).length} change(s)\n${reconciled}`);
  const check = await checkLedgerAgainstStandin(site);
  expect(check.paidSessions).toBe(report.paid);
  expect(check.purchases).toBe(report.paid);
  expect(check.refunded).toBe(report.fullRefunds);
  expect(check.partiallyRefunded).toBe(report.partialRefunds);
  expect(await runReconcile(site, harness.env('tools'))).toContain('Nothing to change');

  // Every member who bought reads a paid lesson of the course through the balancer at the next
  // request, whichever server answers (the restarted one included); a fully refunded one no longer
  // does, within the interval plus one sync.
  const paidLesson = new Map(
    (await primary.client.execute('SELECT course_slug, MIN(slug) AS slug FROM lessons WHERE preview = 0 AND published = 1 GROUP BY course_slug')).rows.map(
      (row) => [String(row.course_slug), `/courses/${row.course_slug}/${row.slug}/`],
    ),
  );
  expect(report.buyers.length).toBeGreaterThan(0);
  const reads = await Promise.all(
    report.buyers.map(async (buyer) => {
      const read = async () => {
        const response = await buyer.visitor.get(paidLesson.get(buyer.course)!);
        await response.arrayBuffer();
        return response.status;
      };
      if (buyer.refund !== 'full') return { buyer, status: await read() };
      const deadline = performance.now() + SYNC_INTERVAL_S * 1000 + 2_000;
      let status = await read();
      while (status === 200 && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = await read();
      }
      return { buyer, status };
    }),
  );
  for (const { buyer, status } of reads) expect(status, `${buyer.course}, refund ${buyer.refund}`).toBe(buyer.refund === 'full' ? 303 : 200);
  expect(report.buyers.length).toBe(reads.length);
  console.log(`  ${reads.length} buyers read their lesson through the balancer (${reads.filter((read) => read.status === 200).length} entitled)`);
  for (const server of harness.servers) expect(errorsIn(server)).toEqual([]);
});
