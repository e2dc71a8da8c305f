// A soak: mixed traffic for LOAD_SOAK_SECONDS (10 minutes in full, a minute in CI) against several
// processes: the catalogue, course pages, a member's lessons, anonymous visitors, failed sign-ins,
// progress, purchases with their webhooks. Memory and open file handles of every process are
// sampled; the figures are reported (docs/scaling.md). Asserted: no 5xx, no request without an
// answer, and open file handles that do not grow (a leak of sockets or store handles would).
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { grantAccess } from '../../src/server/access/ledger.ts';
import { signedUpVisitor, startPaymentsSite, type PaymentsSite } from '../support/payments.ts';
import { createVisitor, type Visitor } from '../support/visitor.ts';
import { checkLedgerAgainstStandin, runPurchaseStorm, workerPids } from './purchase-storm.ts';
import { LOAD } from './settings.ts';

const COURSE = 'python-fundamentals';
const LESSONS = ['why-python', 'control-flow'];

let site: PaymentsSite;

beforeAll(async () => {
  // Request lines at warn level only: ten minutes of info lines would fill the test's memory.
  site = await startPaymentsSite(inject('dist'), { env: { WEB_CONCURRENCY: String(LOAD.workers), TRUST_PROXY: '127.0.0.1', LOG_LEVEL: 'warn' } });
  const deadline = Date.now() + 30_000;
  while ((await workerPids(site.server.pid)).length < LOAD.workers && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
});
afterAll(async () => {
  await site?.stop();
});

type Sample = { at: number; rssMb: number; fds: number; pids: number };

function sample(started: number): Sample {
  const pids = [
    site.server.pid,
    ...readFileSync(`/proc/${site.server.pid}/task/${site.server.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  ];
  let rss = 0;
  let fds = 0;
  for (const pid of pids) {
    rss += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    fds += readdirSync(`/proc/${pid}/fd`).length;
  }
  return { at: Math.round((performance.now() - started) / 1000), rssMb: Math.round(rss), fds, pids: pids.length };
}

test('mixed traffic for a while: no 5xx, every request answered, memory and open files stable', async () => {
  const member = await signedUpVisitor(site, 'soak-member@example.com');
  const [row] = (await site.store.client.execute(`SELECT id FROM users WHERE email = 'soak-member@example.com'`)).rows;
  await grantAccess(site.store.db, { userId: Number(row!.id), courseSlug: COURSE, reason: 'soak', now: Date.now() });

  const counts: Record<string, number> = {};
  const failures: string[] = [];
  const note = (status: number | string) => (counts[status] = (counts[status] ?? 0) + 1);
  const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
  const address = () => ({ 'x-forwarded-for': `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.7` });
  const anonymous = (): Visitor => createVisitor(site.server.url);
  const actions: [number, () => Promise<Response>][] = [
    [20, () => anonymous().get('/')],
    [15, () => anonymous().get(`/courses/${COURSE}/`)],
    [30, () => member.get(`/courses/${COURSE}/${pick(LESSONS)}/`)],
    [10, () => anonymous().get(`/courses/${COURSE}/control-flow/`)],
    [8, () => member.get('/api/me')],
    [5, () => anonymous().get('/healthz')],
    [4, () => anonymous().get('/no-such-page/')],
    [
      5,
      () =>
        anonymous().post(
          '/api/auth/login',
          { email: `nobody-${Math.floor(Math.random() * 1000)}@example.com`, password: 'wrong password here' },
          { headers: address() },
        ),
    ],
    [3, () => member.post('/api/progress', { course: COURSE, lesson: pick(LESSONS), done: pick(['1', '0']) })],
  ];
  const total = actions.reduce((sum, [weight]) => sum + weight, 0);
  const one = async () => {
    let draw = Math.random() * total;
    const [, send] = actions.find(([weight]) => (draw -= weight) < 0) ?? actions[0]!;
    try {
      const response = await send();
      await response.arrayBuffer();
      note(response.status);
      if (response.status >= 500) failures.push(`${response.status} (request ${response.headers.get('x-request-id')})`);
    } catch (error) {
      note('no answer');
      failures.push(`no answer: ${(error as Error).cause ?? error}`);
    }
  };

  const started = performance.now();
  const end = started + LOAD.soakSeconds * 1000;
  const samples: Sample[] = [];
  // The first sample after a warm-up: modules loaded, pools and caches filled.
  const warmUp = Math.min(30_000, (LOAD.soakSeconds * 1000) / 10);
  const sampler = setInterval(
    () => {
      if (performance.now() - started >= warmUp) samples.push(sample(started));
    },
    Math.max(1000, (LOAD.soakSeconds * 1000) / 40),
  );
  let purchases = 0;
  const buyers = (async () => {
    // A few purchases all along, their webhooks delivered 1 to 3 times.
    while (performance.now() < end) {
      const storm = await runPurchaseStorm(site, { purchases: 5, concurrency: 4, label: `soak-${purchases}` });
      failures.push(...storm.problems);
      purchases += storm.purchases;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  })();
  await Promise.all([
    buyers,
    ...Array.from({ length: 8 }, async () => {
      while (performance.now() < end) await one();
    }),
  ]);
  clearInterval(sampler);
  samples.push(sample(started));
  const requests = Object.values(counts).reduce((sum, count) => sum + count, 0);
  const first = samples[0]!;
  const last = samples.at(-1)!;
  console.log(
    `Soak: ${LOAD.soakSeconds} s, ${LOAD.workers} processes, ${requests} requests (${Math.round(requests / LOAD.soakSeconds)}/s) plus ${purchases} purchases; answers ${JSON.stringify(counts)}\n` +
      `| | at (s) | RSS, all processes (MB) | open files, all processes |\n|---|---|---|---|\n` +
      `| start (after warm-up) | ${first.at} | ${first.rssMb} | ${first.fds} |\n` +
      `| highest | | ${Math.max(...samples.map((s) => s.rssMb))} | ${Math.max(...samples.map((s) => s.fds))} |\n` +
      `| end | ${last.at} | ${last.rssMb} | ${last.fds} |`,
  );

  expect(failures).toEqual([]);
  expect(last.pids).toBe(LOAD.workers + 1);
  // Sockets of requests in flight come and go; a leak grows with the requests (thousands here).
  expect(last.fds).toBeLessThanOrEqual(first.fds + 8 * LOAD.workers);
  expect((await checkLedgerAgainstStandin(site)).purchases).toBe(purchases);
});
