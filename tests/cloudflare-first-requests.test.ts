// What an isolate does with its first requests, under wrangler: paid lessons once hung for good
// when another route (/api/me, which every page asks) was the first request after start, because
// a promise begun in one request was awaited by later ones, which workerd never resumes once the
// first request has ended. Each order below runs on a wrangler of its own, so that every kind of
// request is the very first one an isolate sees once, and once all of them arrive together; every
// request must be answered, correctly, within seconds.
//
// The sites here send mail through the send_email binding, which wrangler simulates: it logs the
// message and writes its text to a file, which the test reads.
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { grantAccess } from '../src/server/access/ledger.ts';
import { hashPassword } from '../src/server/auth/password-hasher.ts';
import { SESSION_COOKIE, TEST_SESSION_SECRET, TEST_SITE_URL } from './support/accounts-env.ts';
import { createVisitor } from './support/visitor.ts';
import { prepareWorkerState, startWorkerSite, type WorkerSite } from './support/wrangler.ts';

const COURSE = 'python-fundamentals';
const PAID_LESSON = `/courses/${COURSE}/control-flow/`;
const MEMBER = 'first@example.com';
const PASSWORD = 'correct horse battery staple';
const ITERATIONS = 100_000;
const WEBHOOK_SECRET = 'whsec_first_requests_4c1e';
/** Longer than any answer here takes, far shorter than "forever". */
const ANSWER_WITHIN_MS = 15_000;

const VARS = {
  NODE_ENV: 'test',
  SITE_URL: TEST_SITE_URL,
  SESSION_SECRET: TEST_SESSION_SECRET,
  MAIL_FROM: 'Courses <courses@courses.test>',
  EMAIL_PROVIDER: 'cloudflare',
  STRIPE_SECRET_KEY: 'sk_test_first_requests',
  STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  // Never reached: no request here needs Stripe's API, only the webhook's signature.
  STRIPE_API_BASE: 'http://127.0.0.1:9',
  PASSWORD_ITERATIONS: String(ITERATIONS),
  LOG_LEVEL: 'info',
};

type Kind = 'me' | 'lesson' | 'static' | 'webhook' | 'sign-in';
const KINDS: Kind[] = ['me', 'lesson', 'static', 'webhook', 'sign-in'];

/** One request of each kind, and what its answer must be. */
async function send(kind: Kind, site: WorkerSite): Promise<void> {
  const signal = AbortSignal.timeout(ANSWER_WITHIN_MS);
  const visitor = createVisitor(site.url);
  const started = Date.now();
  const within = async <T>(request: Promise<T>): Promise<T> => {
    try {
      return await request;
    } catch (error) {
      throw new Error(`${kind}: no answer within ${ANSWER_WITHIN_MS} ms (${Date.now() - started} ms): ${String(error)}`);
    }
  };
  switch (kind) {
    case 'me': {
      const response = await within(fetch(`${site.url}/api/me`, { signal }));
      expect(await response.json()).toEqual({ signedIn: false });
      return;
    }
    case 'lesson': {
      const response = await within(fetch(`${site.url}${PAID_LESSON}`, { redirect: 'manual', signal }));
      expect(response.status, 'an anonymous visitor of a paid lesson is offered it').toBe(403);
      expect(await response.text()).toContain(`/login?next=${encodeURIComponent(PAID_LESSON)}`);
      return;
    }
    case 'static': {
      const response = await within(fetch(`${site.url}/courses/${COURSE}/`, { signal }));
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('<h1');
      return;
    }
    case 'webhook': {
      // An event the site does not act on: the signature is checked and the event acknowledged,
      // without a call to Stripe (which is unreachable here; an event it must read would get a 5xx
      // so that Stripe retries it).
      const payload = JSON.stringify({
        id: `evt_first_${crypto.randomUUID().slice(0, 8)}`,
        object: 'event',
        type: 'customer.created',
        data: { object: { id: 'cus_none', object: 'customer' } },
      });
      const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
      const response = await within(
        fetch(`${site.url}/api/stripe/webhook`, {
          method: 'POST',
          body: payload,
          headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signature },
          signal,
        }),
      );
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ received: true, handled: false });
      return;
    }
    case 'sign-in': {
      const response = await within(visitor.post('/api/auth/login', { email: MEMBER, password: PASSWORD }));
      expect(response.status).toBe(303);
      expect(visitor.cookie(SESSION_COOKIE), 'signed in').toBeTruthy();
      // The member then reads the lesson they own.
      const lesson = await within(visitor.get(PAID_LESSON));
      expect(lesson.status).toBe(200);
      expect(await lesson.text()).toContain(MEMBER);
      return;
    }
  }
}

let state: string;

beforeAll(async () => {
  state = await prepareWorkerState(inject('dist'), async (d1) => {
    const now = Date.now();
    const hash = await hashPassword(PASSWORD, { iterations: ITERATIONS });
    const [user] = await d1.db.all<{ id: number }>(
      sql`INSERT INTO users (email, password_hash, email_verified_at, created_at, updated_at) VALUES (${MEMBER}, ${hash}, ${now}, ${now}, ${now}) RETURNING id`,
    );
    await grantAccess(d1.db, { userId: user!.id, courseSlug: COURSE, reason: 'gift', now });
  });
}, 120_000);

/** Each kind first once (the rest after it, in turn), then all five at once. */
const ORDERS: { name: string; run(site: WorkerSite): Promise<void> }[] = [
  ...KINDS.map((first, index) => {
    const order = [...KINDS.slice(index), ...KINDS.slice(0, index)];
    return {
      name: order.join(', '),
      async run(site: WorkerSite) {
        for (const kind of order) await send(kind, site);
      },
    };
  }),
  {
    name: 'all five at once',
    async run(site: WorkerSite) {
      await Promise.all(KINDS.map((kind) => send(kind, site)));
    },
  },
];

describe('the first requests after start, in every order and at once', () => {
  const sites: WorkerSite[] = [];
  afterAll(async () => {
    await Promise.all(sites.map((site) => site.stop()));
  });

  // Two wranglers at a time: each start costs seconds, and the machine has two cores.
  const started = new Map<string, Promise<WorkerSite>>();
  const start = (name: string) => {
    let site = started.get(name);
    if (!site) {
      site = startWorkerSite(inject('dist'), VARS, { state }).then((running) => (sites.push(running), running));
      started.set(name, site);
    }
    return site;
  };

  for (const [index, order] of ORDERS.entries()) {
    test(order.name, { timeout: 180_000 }, async () => {
      const site = await start(order.name);
      // Start the next order's wrangler while this one is tested.
      const next = ORDERS[index + 1];
      if (next) void start(next.name).catch(() => {});
      const began = Date.now();
      try {
        await order.run(site);
      } catch (error) {
        throw new Error(`${String(error)}\n--- wrangler's log ---\n${site.logs().slice(-4000)}`);
      }
      console.log(`${order.name}: answered in ${Date.now() - began} ms`);
      expect(site.logs()).not.toMatch(/"level":"error"/);
    });
  }

  test('mail goes out through the send_email binding (wrangler logs it and keeps its text in a file)', { timeout: 180_000 }, async () => {
    const site = await start(ORDERS.at(-1)!.name);
    const visitor = createVisitor(site.url);
    expect((await visitor.post('/api/auth/link-request', { email: MEMBER })).status).toBe(303);
    const deadline = Date.now() + 15_000;
    let logged: RegExpExecArray | null = null;
    while (!logged && Date.now() < deadline) {
      logged =
        /send_email binding called with MessageBuilder:\s*\nFrom: "Courses" <courses@courses\.test>\nTo: (\S+)\nSubject: ([^\n]+)\n[\s\S]*?Text: (\S+\.txt)/.exec(
          site.logs(),
        );
      if (!logged) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(logged, `no message in wrangler's log:\n${site.logs().slice(-3000)}`).not.toBeNull();
    expect(logged![1]).toBe(MEMBER);
    expect(readFileSync(logged![3]!, 'utf8')).toMatch(new RegExp(`${TEST_SITE_URL}/\\S*token=[\\w-]{20,}`));
    expect(site.logs()).toMatch(/"event":"mail.sent"/);
  });
});
