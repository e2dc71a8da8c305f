// Past one machine, on loopback: one libSQL primary (sqld), three app servers (the built server),
// each on an embedded replica file of its own (DATABASE_URL=file:… with DATABASE_SYNC_URL), the
// production Caddyfile spreading requests over them. What docs/scaling.md promises a member: their
// own write (sign-up, purchase) is read on whichever server answers next; a revocation (refund,
// sign-out everywhere, admin revoke) holds on every server within the sync interval; with the
// primary down reads go on, writes answer 503, and all recovers without a restart; a replica that
// is lost is rebuilt. See docs/decisions/0016-replica-read-your-writes.md.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { linkIn, SESSION_COOKIE } from './support/accounts-env.ts';
import { startCaddy, type RunningCaddy } from './support/caddy.ts';
import { sitePath } from './support/payments.ts';
import { startReplicaServers, type ReplicaServers } from './support/replica-servers.ts';
import type { RunningServer } from './support/server.ts';
import { signUpAndConfirm } from './support/sign-up.ts';
import { createVisitor, type Visitor } from './support/visitor.ts';

const COURSE = 'python-fundamentals';
const PAID_LESSON = `/courses/${COURSE}/control-flow/`;
const PASSWORD = 'correct horse battery staple';
/**
 * Longer than the default (1 s), so that a member's own write read at once on another server can
 * only have been seen through the sync a "no" triggers, not the interval's.
 */
const SYNC_INTERVAL_S = 4;
/** What a revocation may take on a server: the interval, a sync's own time, and a busy machine. */
const REVOCATION_BOUND_MS = SYNC_INTERVAL_S * 1000 + 2_000;

let harness: ReplicaServers;
let servers: RunningServer[] = [];
let caddy: RunningCaddy | undefined;

/** One browser (one cookie jar) that may reach any of the servers. */
function browser() {
  const cookies = new Map<string, string>();
  return { cookies, on: (server: RunningServer): Visitor => createVisitor(server.url, cookies) };
}

/** 200: reads the lesson; otherwise where it was sent (the offer, or the sign-in page). */
async function lesson(visitor: Visitor): Promise<number | string> {
  const response = await visitor.get(PAID_LESSON);
  await response.arrayBuffer();
  return response.status === 200 ? 200 : `${response.status} ${response.headers.get('location')}`;
}

/** Signs up on `first`, buys the course (checkout on `second`, the success page on `third`). */
async function buyer(email: string, [first, second, third]: RunningServer[]) {
  const member = browser();
  await signUpAndConfirm(member.on(first!), harness.sink, { email, password: PASSWORD });
  const checkout = await member.on(second!).post('/api/checkout', { course: COURSE });
  expect(checkout.status).toBe(303);
  const sessionId = checkout.headers.get('location')!.split('/').pop()!;
  const { redirect } = await harness.control(`/_standin/checkout/${sessionId}/pay`);
  const success = await member.on(third!).get(sitePath(redirect));
  expect(success.status).toBeLessThan(400);
  const session = await harness.stripe.checkout.sessions.retrieve(sessionId);
  return { member, intent: session.payment_intent as string };
}

/** Polls until `check` holds; returns how long it took, or throws past `bound`. */
async function within(bound: number, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > bound) throw new Error(`did not hold within ${bound} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  harness = await startReplicaServers({ dist: inject('dist'), names: ['a', 'b', 'c'], syncIntervalS: SYNC_INTERVAL_S });
  servers = harness.servers;
  await harness.control('/_standin/config', { webhook_urls: [`${servers[0]!.url}/api/stripe/webhook`] });
});

afterAll(async () => {
  await caddy?.stop();
  await harness?.stop();
});

describe('several app servers on replicas of one primary', () => {
  test('each server says it is a replica, and how far behind it is', async () => {
    for (const server of servers) {
      const health = await (await fetch(`${server.url}/healthz`)).json();
      expect(health).toMatchObject({ ok: true, replica: { syncIntervalMs: SYNC_INTERVAL_S * 1000 } });
      expect(health.replica.sinceSyncMs).toBeLessThan(REVOCATION_BOUND_MS);
      expect(health.replica.frameNo).toBeGreaterThan(0);
      // Only JSON lines in the log: the libSQL library's own output is kept out.
      for (const line of server.logs().split('\n').filter(Boolean)) expect(() => JSON.parse(line), line).not.toThrow();
      expect(server.logs()).toContain('"event":"replica.ready"');
    }
  });

  test('a member who signs up, or changes their password, on one server is signed in on the others at once', async () => {
    const member = browser();
    await signUpAndConfirm(member.on(servers[0]!), harness.sink, { email: 'roaming@example.com', password: PASSWORD });
    for (const server of servers.slice(1)) {
      const me = await (await member.on(server).get('/api/me')).json();
      expect(me).toMatchObject({ signedIn: true, email: 'roaming@example.com' });
    }
    expect(member.cookies.get(SESSION_COOKIE)).toBeTruthy();
    // A new password signs out every other session and gives this browser a new one, of the
    // account's next version: the other servers, whose copies still have the old version, keep it.
    const before = member.cookies.get(SESSION_COOKIE);
    const change = await member.on(servers[1]!).post('/api/auth/password', { current_password: PASSWORD, password: 'a different horse battery' });
    expect(change.status).toBe(303);
    expect(member.cookies.get(SESSION_COOKIE)).not.toBe(before);
    for (const server of [servers[2]!, servers[0]!]) {
      expect(await (await member.on(server).get('/api/me')).json()).toMatchObject({ signedIn: true, email: 'roaming@example.com' });
    }
  });

  test('an emailed sign-in link asked for on one server opens on another at once', async () => {
    const member = browser();
    expect((await member.on(servers[0]!).post('/api/auth/signup', { email: 'linked@example.com', password: PASSWORD })).status).toBe(303);
    await harness.sink.waitFor('linked@example.com');
    const sent = harness.sink.messages.length;
    const stranger = browser();
    expect((await stranger.on(servers[0]!).post('/api/auth/link-request', { email: 'linked@example.com' })).status).toBe(303);
    const link = linkIn((await harness.sink.waitFor('linked@example.com', { after: sent })).text);
    const page = await stranger.on(servers[2]!).get(link);
    expect(await page.text()).toContain('Sign in as <strong>linked@example.com</strong>');
  });

  test('a buyer reads the lesson on every server at the next request', async () => {
    const { member } = await buyer('buyer@example.com', servers);
    // Well within the sync interval: only the sync that the first "not owned" triggered can show it.
    for (const server of servers) expect(await lesson(member.on(server))).toBe(200);
  });

  test('a refund and sign-out everywhere hold on every server within the sync interval', async () => {
    const refunded = await buyer('refunded@example.com', [servers[1]!, servers[2]!, servers[0]!]);
    const leaver = await buyer('leaver@example.com', [servers[2]!, servers[0]!, servers[1]!]);
    for (const server of servers) {
      expect(await lesson(refunded.member.on(server)), `refunded on ${servers.indexOf(server)}`).toBe(200);
      expect(await lesson(leaver.member.on(server)), `leaver on ${servers.indexOf(server)}`).toBe(200);
    }
    // A copy of the leaver's cookie, as another of their devices holds it.
    const otherDevice = new Map(leaver.member.cookies);
    await harness.control('/_standin/refund', { payment_intent: refunded.intent });
    expect((await leaver.member.on(servers[0]!).post('/api/auth/logout-all', {})).status).toBe(303);
    const took = await Promise.all(
      servers.flatMap((server) => [
        within(REVOCATION_BOUND_MS, async () => (await lesson(refunded.member.on(server))) !== 200),
        // Signed out, the lesson is the offer page (403) a visitor gets.
        within(REVOCATION_BOUND_MS, async () => String(await lesson(createVisitor(server.url, new Map(otherDevice)))).startsWith('403')),
      ]),
    );
    console.log(`revocations took ${took.map((ms) => Math.round(ms)).join(', ')} ms (sync interval ${SYNC_INTERVAL_S} s)`);
  });

  test("an admin's revoke with the command-line tool (on the primary) holds on every server within the sync interval", async () => {
    const { member } = await buyer('revoked@example.com', [servers[0]!, servers[1]!, servers[2]!]);
    for (const server of servers) expect(await lesson(member.on(server))).toBe(200);
    const revoke = await harness.tool('scripts/admin.ts', ['revoke', 'revoked@example.com', COURSE, '--reason', 'chargeback by phone'], harness.env('tools'));
    expect(revoke.code, revoke.output).toBe(0);
    expect(existsSync(join(harness.dir, 'tools.db'))).toBe(false);
    await Promise.all(servers.map((server) => within(REVOCATION_BOUND_MS, async () => (await lesson(member.on(server))) !== 200)));
  });

  test('behind the balancer, every buyer reads their lesson on the next request', async () => {
    caddy = await startCaddy({ siteRoot: join(inject('dist'), 'client'), upstream: servers.map((server) => `127.0.0.1:${server.port}`).join(' ') });
    for (let i = 0; i < 3; i += 1) {
      const { member } = await buyer(`balanced-${i}@example.com`, servers);
      const cookie = `${SESSION_COOKIE}=${member.cookies.get(SESSION_COOKIE)}`;
      for (let read = 0; read < 6; read += 1) {
        const response = await caddy.request(PAID_LESSON, { headers: { cookie } });
        expect(response.status).toBe(200);
      }
    }
  });
});

describe('the primary down', () => {
  test('reads go on, writes answer 503, and everything recovers without a restart', async () => {
    const { member } = await buyer('steady@example.com', servers);
    const refunded = await buyer('refunded-in-outage@example.com', servers);
    for (const server of servers) expect(await lesson(member.on(server))).toBe(200);
    // A buyer whose checkout started before the outage and who pays during it.
    const payer = browser();
    await signUpAndConfirm(payer.on(servers[0]!), harness.sink, { email: 'paid-in-outage@example.com', password: PASSWORD });
    const checkout = await payer.on(servers[1]!).post('/api/checkout', { course: COURSE });
    expect(checkout.status).toBe(303);
    await harness.standin.idle();
    const seen = harness.standin.deliveries().length;
    await harness.sqld.kill();
    try {
      // A refund made at Stripe while the store is out of reach: its webhooks are refused (non-2xx),
      // so Stripe keeps them for a retry.
      await harness.control('/_standin/refund', { payment_intent: refunded.intent });
      await harness.standin.idle();
      const refused = harness.standin.deliveries().slice(seen);
      const { redirect } = await harness.control(`/_standin/checkout/${checkout.headers.get('location')!.split('/').pop()}/pay`);
      const success = await payer.on(servers[2]!).get(sitePath(redirect));
      expect(success.status).toBe(503);
      expect(await success.text()).toContain('Nothing you sent was lost');
      await harness.standin.idle();
      // (Event types the site does not act on are acknowledged without a write.)
      expect(refused.filter((delivery) => delivery.status === 503).map((delivery) => delivery.event_type)).toContain('charge.refunded');
      for (const delivery of refused) expect([200, 503], delivery.event_type).toContain(delivery.status);
      for (const server of servers) expect(await lesson(member.on(server))).toBe(200);
      const signIn = await createVisitor(servers[1]!.url).post('/api/auth/login', { email: 'steady@example.com', password: PASSWORD });
      expect(signIn.status).toBe(503);
      expect(signIn.headers.get('retry-after')).toBeTruthy();
      expect(await signIn.text()).toContain('try again');
      const signUp = await createVisitor(servers[2]!.url).post('/api/auth/signup', { email: 'during-outage@example.com', password: PASSWORD });
      expect(signUp.status).toBe(503);
      // The next sync (at most an interval away, then its handshake timeout) finds the primary gone.
      await within(REVOCATION_BOUND_MS + 4_000, async () => (await (await fetch(`${servers[0]!.url}/healthz`)).json()).replica.primary === 'unreachable');
      expect((await fetch(`${servers[0]!.url}/healthz`)).status).toBe(200);
    } finally {
      await harness.sqld.restart();
    }
    await within(
      15_000,
      async () => (await createVisitor(servers[1]!.url).post('/api/auth/login', { email: 'steady@example.com', password: PASSWORD })).status === 303,
    );
    // Stripe's retry after the primary is back: the refund is recorded and holds everywhere.
    for (const eventId of new Set(
      harness.standin
        .deliveries()
        .slice(seen)
        .filter((delivery) => delivery.status === 503)
        .map((delivery) => delivery.event_id),
    )) {
      const { statuses } = await harness.control(`/_standin/events/${eventId}/deliver`);
      expect(statuses).toEqual([200]);
    }
    await Promise.all(servers.map((server) => within(REVOCATION_BOUND_MS, async () => (await lesson(refunded.member.on(server))) !== 200)));
    for (const server of servers) expect(await lesson(payer.on(server)), 'the buyer who paid during the outage').toBe(200);
    const late = browser();
    expect((await late.on(servers[2]!).post('/api/auth/signup', { email: 'during-outage@example.com', password: PASSWORD })).status).toBe(303);
    for (const server of servers)
      await within(REVOCATION_BOUND_MS, async () => (await (await fetch(`${server.url}/healthz`)).json()).replica.primary === undefined);
  });
});

describe('a lost replica', () => {
  test('a server whose replica file was deleted starts again and catches up, each worker with its own file', async () => {
    const { member } = await buyer('returning@example.com', servers);
    const lost = servers.pop()!;
    await lost.stop();
    for (const file of readdirSync(harness.dir).filter((name) => name.startsWith('c.db'))) rmSync(join(harness.dir, file), { force: true });
    const restarted = await harness.start('c', { env: { WEB_CONCURRENCY: '2' } });
    servers.push(restarted);
    for (let read = 0; read < 4; read += 1) expect(await lesson(member.on(restarted))).toBe(200);
    // Two workers, two replica files: never two processes on one.
    const files = readdirSync(harness.dir).filter((name) => /^c\.worker-\d\.db$/.test(name));
    expect(files.sort()).toEqual(['c.worker-1.db', 'c.worker-2.db']);
  });
});

test("no server failed a request or a read of its replica file through the gate's prepared statements", () => {
  for (const server of servers) {
    expect(server.logs()).not.toContain('"event":"request.failed"');
    expect(server.logs()).not.toContain('"event":"lesson-gate.prepared-read-failed"');
    expect(server.logs()).not.toContain('"event":"lesson-gate.failed"');
  }
});
