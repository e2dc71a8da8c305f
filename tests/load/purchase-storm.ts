// A purchase storm: many buyers at once through the real site and the Stripe stand-in, each
// completion and refund event delivered 1 to 3 times, all of it in random order, and then a check
// that the store and the stand-in agree on every payment.
import { expect } from 'vitest';
import { spawn } from '../support/processes.ts';
import { join } from 'node:path';
import { ROOT } from '../support/build.ts';
import { paymentsEnv, type PaymentsSite } from '../support/payments.ts';
import type { RunningCaddy } from '../support/caddy.ts';
import type { RunningServer } from '../support/server.ts';
import { signUpAndConfirm } from '../support/sign-up.ts';
import type { TestStore } from '../support/store.ts';
import { createVisitor, type Visitor } from '../support/visitor.ts';

/**
 * What a storm needs of a site: the stand-ins, a store client on the store itself (the primary, on
 * replicas), and where buyers go (`server.url`, unless the storm is given a `balancer`).
 */
export type StormSite = Pick<PaymentsSite, 'standin' | 'sink' | 'stripe' | 'control'> & {
  store: Pick<TestStore, 'client' | 'url'>;
  server: Pick<RunningServer, 'url'>;
};

/** A member who bought, signed in in `visitor`: what their next read of the course must show. */
export type StormBuyer = { visitor: Visitor; course: string; refund: 'full' | 'part' | null };

export type StormReport = {
  purchases: number;
  paid: number;
  fullRefunds: number;
  partialRefunds: number;
  /** Webhook deliveries (each event 1 to 3 times). */
  deliveries: number;
  successPages: number;
  /** Every answer the site gave, by status (the deliveries' answers included). */
  statuses: Record<string, number>;
  /** Requests that got no answer at all (the connection was reset or refused). */
  connectionFailures: number;
  /** Anything that went wrong in the storm itself, with what was answered. */
  problems: string[];
  /** The members who paid (guests hold no session to read with). */
  buyers: StormBuyer[];
  ms: number;
};

type Job = () => Promise<void>;

const random = (n: number) => Math.floor(Math.random() * n);

/**
 * Runs `purchases` purchases with `concurrency` requests in flight. `midway` is called once, when
 * half the purchases have been paid (the SIGKILL test kills a worker there). Members sign up from
 * addresses of their own (the site trusts X-Forwarded-For from 127.0.0.1), as they would from
 * their own machines; the rest buy as guests, some with the same email as another guest.
 */
/**
 * What a process killed mid-storm may take with it: requests that were on it got no answer, and a
 * sign-up it answered just before dying never sent its confirmation (mail goes after the answer, so
 * that both kinds of sign-up take the same time). That member asks again; nothing else may go wrong.
 */
export const lostWithKilledProcess = (problem: string) => /no answer|^sign-up: no mail to /.test(problem);

/**
 * Behind Caddy, a request on a process that dies gets Caddy's 502, without our X-Request-Id (the
 * site itself answers 502 only to a checkout Stripe refused, and always with its id; a webhook
 * never). A 502 the balancer made is a request that got no answer from any server.
 */
const BALANCER_NO_ANSWER = 502;

/** Where buyers go through a balancer: its address, and a fetch from a client address of one's own. */
export type Balancer = Pick<RunningCaddy, 'origin' | 'fetchFrom'>;

/**
 * A visitor through the balancer from a loopback address of its own (Caddy names it in
 * X-Forwarded-For, so each buyer has their own rate limits, as people on their own machines do).
 * The balancer's own 502 becomes what fetch does when nothing answers: a TypeError.
 */
function visitorThrough(balancer: Balancer): Visitor {
  const send = balancer.fetchFrom(`127.${1 + random(250)}.${random(250)}.${1 + random(250)}`);
  return createVisitor(balancer.origin, new Map(), async (input, init) => {
    const response = await send(input, init);
    if (response.status === BALANCER_NO_ANSWER && !response.headers.has('x-request-id')) {
      throw new TypeError('fetch failed', { cause: `the balancer's ${response.status}: the server it chose did not answer` });
    }
    return response;
  });
}

export async function runPurchaseStorm(
  site: StormSite,
  options: {
    purchases: number;
    concurrency?: number;
    label: string;
    midway?: () => Promise<void>;
    /**
     * Buyers (and the stand-in's webhooks, whose URL the caller points there) go through this
     * balancer, each buyer from a client address of their own. Without it, buyers go to
     * `site.server.url` and say their address in X-Forwarded-For, which the site trusts from
     * 127.0.0.1.
     */
    balancer?: Balancer;
  },
): Promise<StormReport> {
  const started = performance.now();
  const { purchases, label } = options;
  const report: StormReport = {
    purchases,
    paid: 0,
    fullRefunds: 0,
    partialRefunds: 0,
    deliveries: 0,
    successPages: 0,
    statuses: {},
    connectionFailures: 0,
    problems: [],
    buyers: [],
    ms: 0,
  };
  const courses = (await site.store.client.execute('SELECT slug, price_minor FROM courses WHERE published = 1 AND price_minor > 0')).rows.map((row) => ({
    slug: String(row.slug),
    price: Number(row.price_minor),
  }));
  if (courses.length === 0) throw new Error('no course for sale in the store');
  const count = (status: number) => (report.statuses[status] = (report.statuses[status] ?? 0) + 1);

  /** A request to the site: its status is counted, and no answer at all is counted apart. */
  const toSite = async (what: string, send: () => Promise<Response>): Promise<Response | null> => {
    try {
      const response = await send();
      count(response.status);
      if (response.status >= 500) report.problems.push(`${what}: ${response.status} (request ${response.headers.get('x-request-id')})`);
      return response;
    } catch (error) {
      report.connectionFailures += 1;
      report.problems.push(`${what}: no answer (${(error as Error).cause ?? error})`);
      return null;
    }
  };

  const deliver =
    (eventId: string): Job =>
    async () => {
      let result: { statuses: (number | null)[] };
      try {
        result = await site.control(`/_standin/events/${eventId}/deliver`, { times: 1 });
      } catch (error) {
        report.problems.push(`deliver ${eventId}: ${String(error)}`);
        return;
      }
      report.deliveries += 1;
      for (const status of result.statuses) {
        if (status === null || (options.balancer && status === BALANCER_NO_ANSWER)) {
          report.connectionFailures += 1;
          report.problems.push(`delivery of ${eventId}: no answer${status === null ? '' : ` (the balancer's ${status})`}`);
        } else {
          count(status);
          if (status >= 500) report.problems.push(`delivery of ${eventId}: ${status}`);
        }
      }
    };

  const buy =
    (index: number): Job =>
    async () => {
      const course = courses[random(courses.length)]!;
      const member = index % 5 === 0;
      const visitor: Visitor = options.balancer ? visitorThrough(options.balancer) : createVisitor(site.server.url);
      const address: Record<string, string> = options.balancer ? {} : { 'x-forwarded-for': `10.${random(250)}.${random(250)}.${1 + random(250)}` };
      const email = member ? `member-${label}-${index}@example.com` : `guest-${label}-${random(Math.max(1, Math.floor(purchases / 4)))}@example.com`;
      if (member) {
        // Signed in by the confirmation link, as a member is (the answer counted is the link's).
        try {
          count((await signUpAndConfirm(visitor, site.sink, { email, password: 'correct horse battery staple' }, { headers: address })).status);
        } catch (error) {
          // fetch's own failure: the request reached no process (one killed mid-storm).
          const noAnswer = error instanceof TypeError;
          if (noAnswer) report.connectionFailures += 1;
          report.problems.push(`sign-up: ${noAnswer ? `no answer (${error.cause ?? error})` : (error as Error).message}`);
          return;
        }
      }
      const checkout = await toSite('checkout', () => visitor.post('/api/checkout', { course: course.slug }, { headers: address }));
      if (!checkout) return;
      const location = checkout.headers.get('location') ?? '';
      if (checkout.status !== 303 || !location.startsWith(site.standin.url)) {
        report.problems.push(`checkout answered ${checkout.status} ${location}`);
        return;
      }
      const sessionId = location.split('/').pop()!;
      const { session } = await site.control(`/_standin/checkout/${sessionId}/pay`, { ...(member ? {} : { email }), deliver: false });
      report.paid += 1;
      if (report.paid === Math.ceil(purchases / 2) && options.midway) void options.midway();
      const intent = String(session.payment_intent);
      const draw = Math.random();
      const refund = draw < 0.2 ? 'full' : draw < 0.25 ? 'part' : null;
      if (refund === 'full') {
        await site.control('/_standin/refund', { payment_intent: intent, deliver: false });
        report.fullRefunds += 1;
      } else if (refund === 'part') {
        await site.control('/_standin/refund', { payment_intent: intent, amount: Math.floor(course.price / 2), deliver: false });
        report.partialRefunds += 1;
      }
      if (member) report.buyers.push({ visitor, course: course.slug, refund });
      const events = site.standin.events().filter((event) => {
        const object = event.data.object as { id?: string; payment_intent?: string };
        return object.id === sessionId || object.payment_intent === intent;
      });
      for (const event of events) for (let time = 1 + random(3); time > 0; time -= 1) pending.push(deliver(event.id));
      if (Math.random() < 0.3) {
        pending.push(async () => {
          const page = await toSite('success page', () => visitor.get(`/checkout/success?session_id=${sessionId}`));
          if (page) await page.arrayBuffer();
          report.successPages += 1;
        });
      }
    };

  // Jobs are taken from the pending list at random, so a purchase's deliveries mix with other
  // purchases' and with each other: a refund's event can arrive before the completion's.
  const pending: Job[] = Array.from({ length: purchases }, (_, index) => buy(index));
  let running = 0;
  const runner = async () => {
    for (;;) {
      if (pending.length === 0) {
        if (running === 0) return;
        await new Promise((done) => setTimeout(done, 5));
        continue;
      }
      const at = random(pending.length);
      const job = pending[at]!;
      pending[at] = pending[pending.length - 1]!;
      pending.pop();
      running += 1;
      try {
        await job();
      } catch (error) {
        report.problems.push(`job failed: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        running -= 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 24 }, runner));
  await site.standin.idle();
  report.ms = performance.now() - started;
  return report;
}

/**
 * `npm run stripe:reconcile` as cron runs it, with the site's settings (`env`: an app machine's
 * own, on replicas); returns what it printed.
 */
export function runReconcile(
  site: StormSite,
  env = paymentsEnv({ databaseUrl: site.store.url, smtpUrl: site.sink.url, stripeApiBase: site.standin.url }),
): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'scripts/stripe-reconcile.ts'), '--since', new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => (code === 0 ? done(output) : fail(new Error(`reconcile exited with ${code}:\n${output}`))));
  });
}

export type LedgerCheck = { paidSessions: number; purchases: number; refunded: number; partiallyRefunded: number };

/**
 * The invariants after a storm: every paid Checkout Session of the stand-in is exactly one
 * purchase with exactly one grant; every refund the stand-in made is in the store (amount and
 * status), and a full refund revoked access exactly once; nothing else is in the store.
 */
export async function checkLedgerAgainstStandin(site: StormSite): Promise<LedgerCheck> {
  const paid = new Map<string, { amount: number; intent: string }>();
  for await (const session of site.stripe.checkout.sessions.list({ status: 'complete', limit: 100 })) {
    if (session.payment_status === 'paid') paid.set(session.id, { amount: session.amount_total ?? 0, intent: String(session.payment_intent) });
  }
  const rows = (
    await site.store.client.execute(
      `SELECT id, checkout_session_id, payment_intent_id, amount_minor, amount_refunded_minor, status FROM purchases WHERE source = 'stripe'`,
    )
  ).rows;
  const ledger = new Map<number, string[]>();
  for (const row of (await site.store.client.execute('SELECT purchase_id, action, reason FROM access_ledger ORDER BY purchase_id, seq')).rows) {
    const list = ledger.get(Number(row.purchase_id)) ?? [];
    list.push(`${row.action}:${row.reason}`);
    ledger.set(Number(row.purchase_id), list);
  }
  expect(rows.length).toBe(paid.size);
  expect(new Set(rows.map((row) => row.checkout_session_id)).size).toBe(rows.length);
  const check: LedgerCheck = { paidSessions: paid.size, purchases: rows.length, refunded: 0, partiallyRefunded: 0 };
  const mismatches: string[] = [];
  for (const row of rows) {
    const session = paid.get(String(row.checkout_session_id));
    if (!session) {
      mismatches.push(`purchase ${row.id}: session ${row.checkout_session_id} is not paid at the stand-in`);
      continue;
    }
    const intent = await site.stripe.paymentIntents.retrieve(session.intent, { expand: ['latest_charge'] });
    const charge = intent.latest_charge as { amount: number; amount_refunded: number; refunded: boolean };
    const actions = ledger.get(Number(row.id)) ?? [];
    const expected = charge.refunded
      ? { status: 'refunded', actions: ['grant:purchase', 'revoke:refund'] }
      : { status: charge.amount_refunded > 0 ? 'partially_refunded' : 'paid', actions: ['grant:purchase'] };
    if (charge.refunded) check.refunded += 1;
    else if (charge.amount_refunded > 0) check.partiallyRefunded += 1;
    const actual = { amount: Number(row.amount_minor), refunded: Number(row.amount_refunded_minor), status: String(row.status), actions };
    const want = { amount: session.amount, refunded: charge.amount_refunded, status: expected.status, actions: expected.actions };
    if (JSON.stringify(actual) !== JSON.stringify(want))
      mismatches.push(`purchase ${row.id} (${row.checkout_session_id}): store ${JSON.stringify(actual)}, stand-in ${JSON.stringify(want)}`);
  }
  expect(mismatches).toEqual([]);
  return check;
}

/** Worker processes of a cluster primary (Linux). */
export async function workerPids(primary: number): Promise<number[]> {
  const { readFileSync } = await import('node:fs');
  return readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

/** Waits until the primary's log says all its workers listen (`count` times, after restarts). */
export async function waitForLog(logs: () => string, pattern: RegExp, count = 1, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((logs().match(new RegExp(pattern, 'g')) ?? []).length < count) {
    if (Date.now() > deadline) throw new Error(`${pattern} did not appear ${count} time(s) in the log:\n${logs().slice(-3000)}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}
