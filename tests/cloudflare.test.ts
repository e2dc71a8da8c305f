// The serverless target, end to end: `wrangler dev` (workerd) of the Worker with static assets over
// the demo build, with the project's wrangler.jsonc and functions/worker.ts, a local D1 migrated and
// synced by the same scripts as `npm run cf:dev`, the real `stripe` SDK inside the Worker against
// the Stripe stand-in, and an HTTP email API sink. The journeys are the Node server's (sign up,
// sign in, buy, read), from the same handlers; the defences are Caddy's and Node's, each tried as
// an attack. What the first requests after start do is tests/cloudflare-first-requests.test.ts.
import { spawnSync } from 'node:child_process';
import { pbkdf2Sync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { startStripeStandin, type StripeStandin } from '../scripts/stripe-standin.ts';
import { parseManifest } from '../src/server/content/bundle.ts';
import { SESSION_COOKIE, TEST_SESSION_SECRET, TEST_SITE_URL } from './support/accounts-env.ts';
import { ROOT } from './support/build.ts';
import { sitePath, STRIPE_KEY, WEBHOOK_SECRET } from './support/payments.ts';
import { signUpAndConfirm } from './support/sign-up.ts';
import { startEmailApiSink, type EmailApiSink } from './support/email-api-sink.ts';
import { createVisitor, type Visitor } from './support/visitor.ts';
import { securityHeaders } from '../src/server/http/security-headers.ts';
import { startWorkerSite, type WorkerSite } from './support/wrangler.ts';

const COURSE = 'python-fundamentals';
const PAID_LESSON = `/courses/${COURSE}/control-flow/`;
const PASSWORD = 'correct horse battery staple';
const DJANGO_EMAIL = 'from-django@example.com';
const DJANGO_ITERATIONS = 150_000;

let site: WorkerSite;
let standin: StripeStandin;
let stripe: Stripe;
let emailApi: EmailApiSink;
const dist = () => inject('dist');

beforeAll(async () => {
  const [sink, started] = await Promise.all([
    startEmailApiSink(),
    startStripeStandin({ port: 0, webhookUrls: [], webhookSecret: WEBHOOK_SECRET, log: () => {} }),
  ]);
  standin = started;
  emailApi = sink;
  site = await startWorkerSite(
    dist(),
    {
      NODE_ENV: 'test',
      SITE_URL: TEST_SITE_URL,
      SESSION_SECRET: TEST_SESSION_SECRET,
      MAIL_FROM: 'Courses <courses@courses.test>',
      EMAIL_PROVIDER: 'resend',
      EMAIL_API_KEY: 're_test_cloudflare',
      EMAIL_API_URL: emailApi.url,
      STRIPE_SECRET_KEY: STRIPE_KEY,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_BASE: standin.url,
      // Production's cost, on purpose: every hash goes through the Workers limit below.
      PASSWORD_ITERATIONS: '600000',
      LOG_LEVEL: 'info',
    },
    {
      // A member moved over from Django with more iterations than one Workers call may ask for.
      async beforeStart(d1) {
        const salt = 'djangosalt1234';
        const hash = pbkdf2Sync(PASSWORD, salt, DJANGO_ITERATIONS, 32, 'sha256').toString('base64');
        const now = Date.now();
        await d1.db.run(
          sql`INSERT INTO users (email, password_hash, created_at, updated_at) VALUES (${DJANGO_EMAIL}, ${`pbkdf2_sha256$${DJANGO_ITERATIONS}$${salt}$${hash}`}, ${now}, ${now})`,
        );
      },
    },
  );
  await fetch(`${standin.url}/_standin/config`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ webhook_urls: [`${site.url}/api/stripe/webhook`] }),
  });
  stripe = new Stripe(STRIPE_KEY, { host: '127.0.0.1', port: standin.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });
}, 180_000);

afterAll(async () => {
  await site?.stop();
  await standin?.close();
  await emailApi?.stop();
});

async function control(path: string, body: unknown): Promise<any> {
  const response = await fetch(`${standin.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const json: any = await response.json();
  if (!response.ok) throw new Error(`${path} -> ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

/** Reads D1 through wrangler's binding (the same file the running function uses). */
async function query<T>(statement: ReturnType<typeof sql>): Promise<T[]> {
  const d1 = await site.d1();
  try {
    return await d1.db.all<T>(statement);
  } finally {
    await d1.close();
  }
}

async function status(visitor: Visitor, path: string): Promise<{ status: number; location: string | null; body: string }> {
  const response = await visitor.get(path);
  return { status: response.status, location: response.headers.get('location'), body: await response.text() };
}

/**
 * Every security header Caddy adds, as Caddy gives it (a page may keep a stricter referrer policy;
 * the buy form may also reach the stand-in's checkout page, as STRIPE_API_BASE is set).
 */
function expectSecurityHeaders(response: Response, what: string): void {
  for (const [name, value] of Object.entries(securityHeaders(standin.url))) {
    if (name === 'Referrer-Policy' && response.headers.get(name) === 'no-referrer') continue;
    expect(response.headers.get(name), `${name} on ${what}`).toBe(value);
  }
}

describe('the static site as Workers static assets', () => {
  test('static pages are files, on-demand paths and paid lessons the Worker', async () => {
    const visitor = createVisitor(site.url);
    expect((await status(visitor, '/')).status).toBe(200);
    expect((await status(visitor, `/courses/${COURSE}/`)).body).toContain('<h1');
    expect((await status(visitor, `/courses/${COURSE}/why-python/`)).status).toBe(200);
    expect(await (await visitor.get('/healthz')).json()).toEqual({ ok: true });
    const login = await status(visitor, '/login');
    expect(login.status).toBe(200);
    expect(login.body).toContain('action="/api/auth/login"');
    // The admin pages answer anyone who is not an admin with the site's 404, from the Worker.
    expect((await status(visitor, '/admin/')).status).toBe(404);
    // An unknown path: the site's own 404 page, with a 404 status.
    const missing = await status(visitor, '/no-such-page');
    expect(missing.status).toBe(404);
    expect(missing.body).toContain(readFileSync(join(site.clientDir, '404.html'), 'utf8').slice(0, 200));
    // A post to a static page is refused; nothing is a file to post to.
    expect((await visitor.post('/', { a: '1' })).status).toBe(405);
    expect((await visitor.post('/no-such-page', { a: '1' })).status).toBe(404);
  });

  test('every answer carries the security headers behind Caddy: files, pages, the API, redirects, 404s and refusals', async () => {
    const visitor = createVisitor(site.url);
    const home = await visitor.get('/');
    const stylesheet = /href="(\/_astro\/[^"]+\.css)"/.exec(await home.text())![1]!;
    const answers: [string, Response][] = [
      ['the home page (a file)', home],
      ['a course page (a file)', await visitor.get(`/courses/${COURSE}/`)],
      ['a stylesheet (a file)', await visitor.get(stylesheet)],
      ['the sign-in page (the Worker)', await visitor.get('/login')],
      ['/api/me (the Worker)', await visitor.get('/api/me')],
      ["a paid lesson for an anonymous visitor (the gate's redirect)", await visitor.get(PAID_LESSON)],
      ["an unknown path (the Worker's 404)", await visitor.get('/no-such-page')],
      ["an unknown lesson (the gate's 404)", await visitor.get(`/courses/${COURSE}/no-such-lesson/`)],
      ['a cross-site post (a refusal)', await visitor.post('/api/auth/login', { email: 'a@example.com', password: 'x' }, { origin: 'https://evil.example' })],
      ['a wrong method', await fetch(`${site.url}/api/checkout`)],
    ];
    for (const [what, response] of answers) {
      expectSecurityHeaders(response, what);
      if (!response.bodyUsed) await response.body?.cancel();
    }
    // Hashed build files may be kept for good, as Caddy says; pages are checked at each use.
    expect(answers[2]![1].headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(answers[0]![1].headers.get('cache-control')).toBe('public, max-age=0, must-revalidate');
  });

  test('the Worker runs with the Workers PBKDF2 limit in force', () => {
    expect(site.logs()).toMatch(/"event":"pbkdf2-limit","maxIterationsPerCall":100000,"enforced":true/);
  });
});

describe('limits under wrangler, as attacks', () => {
  test('a sign-up form of 1 MB is refused with 413 and creates nothing', async () => {
    const visitor = createVisitor(site.url);
    const response = await visitor.post('/api/auth/signup', { email: 'huge@example.com', password: PASSWORD, padding: 'x'.repeat(1024 * 1024) });
    expect(response.status).toBe(413);
    expect(visitor.cookie(SESSION_COOKIE)).toBeUndefined();
    expect(await query(sql`SELECT id FROM users WHERE email = 'huge@example.com'`)).toEqual([]);
  });

  test('a webhook body over its limit is refused with 413 before its signature is even read', async () => {
    const before = await query<{ n: number }>(sql`SELECT count(*) AS n FROM stripe_events`);
    const response = await fetch(`${site.url}/api/stripe/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Stripe-Signature': 't=1,v1=forged' },
      body: JSON.stringify({ id: 'evt_huge', type: 'charge.refunded', padding: 'x'.repeat(600 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(await query<{ n: number }>(sql`SELECT count(*) AS n FROM stripe_events`)).toEqual(before);
  });

  test('a chunked sign-up form or signed webhook of 3 MB is refused while it arrives, changes nothing, and the Worker keeps serving', async () => {
    // A stream body: fetch sends it chunked, with no Content-Length to refuse up front. 3 MB is past
    // what the Worker reads and throws away (1 MB) before it answers. Each body is one the Worker
    // would act on if it read it whole: a new member, a signed event it records.
    const chunked = (head: string, tail: string) => {
      const chunks = [new TextEncoder().encode(head), ...Array.from({ length: 48 }, () => new Uint8Array(64 * 1024).fill(97)), new TextEncoder().encode(tail)];
      return new ReadableStream<Uint8Array>({ pull: (controller) => (chunks.length ? controller.enqueue(chunks.shift()!) : controller.close()) });
    };
    const eventHead = `{"id":"evt_chunked_huge","object":"event","type":"checkout.session.completed","data":{"object":{"id":"cs_chunked_huge","object":"checkout.session"}},"padding":"`;
    const event = `${eventHead}${'a'.repeat(48 * 64 * 1024)}"}`;
    const attacks: { path: string; headers: Record<string, string>; body: () => ReadableStream<Uint8Array>; answer: string }[] = [
      {
        path: '/api/stripe/webhook',
        headers: {
          'Content-Type': 'application/json',
          'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload: event, secret: WEBHOOK_SECRET }),
        },
        body: () => chunked(eventHead, '"}'),
        answer: 'Event too large',
      },
      {
        path: '/api/auth/signup',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: new URL(site.url).origin },
        body: () => chunked(`email=chunked%40example.com&password=${encodeURIComponent(PASSWORD)}&padding=`, ''),
        answer: 'Form too large',
      },
    ];
    const refusedByWorker = (path: string) => site.logs().split(`POST ${path} 413`).length - 1;
    for (const attack of attacks) {
      const before = refusedByWorker(attack.path);
      // A hang (the local proxy waiting for the refused rest of the body) fails here, not at the test's timeout.
      const init = { method: 'POST', headers: attack.headers, body: attack.body(), duplex: 'half', signal: AbortSignal.timeout(30_000) };
      const answer = await fetch(`${site.url}${attack.path}`, init as RequestInit).then(
        async (response) => ({ status: response.status, text: await response.text() }),
        (error: Error) => ({ status: 0, text: `${error.name}: ${error.message} (${String((error.cause as { code?: string } | undefined)?.code)})` }),
      );
      // The client sees the 413, or the connection closed on the rest of its body before the answer
      // arrived (EPIPE, ECONNRESET, a closed socket); either way the Worker answered 413, as its log says.
      if (answer.status === 413) expect(answer.text).toContain(attack.answer);
      else expect(answer.text, attack.path).toMatch(/^TypeError: fetch failed \((EPIPE|ECONNRESET|UND_ERR_SOCKET)\)$/);
      const deadline = Date.now() + 5_000;
      while (refusedByWorker(attack.path) === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(refusedByWorker(attack.path), `the Worker's 413 on ${attack.path} in wrangler's log`).toBe(before + 1);
    }
    expect(await query(sql`SELECT id FROM users WHERE email = 'chunked@example.com'`)).toEqual([]);
    expect(await query(sql`SELECT id FROM stripe_events WHERE id = 'evt_chunked_huge'`)).toEqual([]);
    expect((await fetch(`${site.url}/healthz`)).status).toBe(200);
  });

  test("guessing one member's password is slowed after 10 tries: even the right password is then sent to the emailed link", async () => {
    const email = 'guessed@example.com';
    expect((await createVisitor(site.url).post('/api/auth/signup', { email, password: PASSWORD })).status).toBe(303);
    const answers: (string | null)[] = [];
    for (let attempt = 0; attempt < 11; attempt++) {
      const response = await createVisitor(site.url).post('/api/auth/login', { email, password: `wrong guess number ${attempt}` });
      answers.push(response.headers.get('location'));
      await response.body?.cancel();
    }
    expect(answers.slice(0, 10).every((location) => location?.startsWith('/login?') && !location.includes('password-attempts'))).toBe(true);
    expect(answers[10]).toBe('/login?error=password-attempts&mode=link');
    const owner = createVisitor(site.url);
    const refused = await owner.post('/api/auth/login', { email, password: PASSWORD });
    expect(refused.headers.get('location')).toBe('/login?error=password-attempts&mode=link');
    expect(owner.cookie(SESSION_COOKIE)).toBeUndefined();
  });
});

describe('accounts on the serverless target', () => {
  test('an anonymous visitor of a paid lesson is offered the course and sign-in (the shared gate); an unknown lesson is 404', async () => {
    const visitor = createVisitor(site.url);
    const paid = await status(visitor, PAID_LESSON);
    expect(paid).toMatchObject({ status: 403, location: null });
    expect(paid.body).toMatch(/<h1>Making decisions and repeating work<\/h1>/);
    expect(paid.body).toContain(`A lesson of <a href="/courses/${COURSE}/">Python Fundamentals</a>.`);
    expect(paid.body).toMatch(/<button class="button" type="submit">Buy for \$49<\/button>/);
    expect(paid.body).toContain(`<a href="/login?next=${encodeURIComponent(PAID_LESSON)}">Sign in</a>`);
    expect(paid.body).not.toContain('So far our programs ran straight from top to bottom');
    expect((await status(visitor, `/courses/${COURSE}/no-such-lesson/`)).status).toBe(404);
  });

  test('a cross-site form post is refused and creates nothing', async () => {
    const visitor = createVisitor(site.url);
    const response = await visitor.post('/api/auth/signup', { email: 'csrf@example.com', password: PASSWORD }, { origin: 'https://evil.example' });
    expect(response.status).toBe(403);
    expect(visitor.cookie(SESSION_COOKIE)).toBeUndefined();
    expect(await query(sql`SELECT id FROM users WHERE email = 'csrf@example.com'`)).toEqual([]);
  });

  test('sign up and sign in at the production hashing cost, within the per-call limit', async () => {
    const newcomer = createVisitor(site.url);
    // Sign-up signs nobody in; the mailed link does, after the password (hashed again to check it).
    await signUpAndConfirm(newcomer, emailApi, { email: 'reader@example.com', password: PASSWORD });
    expect(newcomer.cookie(SESSION_COOKIE)).toBeTruthy();
    const [user] = await query<{ password_hash: string }>(sql`SELECT password_hash FROM users WHERE email = 'reader@example.com'`);
    expect(user!.password_hash).toMatch(/^pbkdf2_sha256_chain\$100000\$6\$/);

    const wrong = createVisitor(site.url);
    await wrong.post('/api/auth/login', { email: 'reader@example.com', password: 'not the password at all' });
    expect(wrong.cookie(SESSION_COOKIE)).toBeUndefined();
    const returning = createVisitor(site.url);
    expect((await returning.post('/api/auth/login', { email: 'reader@example.com', password: PASSWORD })).status).toBe(303);
    expect(returning.cookie(SESSION_COOKIE)).toBeTruthy();
    expect((await status(returning, '/account')).status).toBe(200);
  });

  test('a member moved from Django (150,000 iterations) signs in and gets a hash of ours', async () => {
    const member = createVisitor(site.url);
    expect((await member.post('/api/auth/login', { email: DJANGO_EMAIL, password: PASSWORD })).status).toBe(303);
    expect(member.cookie(SESSION_COOKIE)).toBeTruthy();
    const [user] = await query<{ password_hash: string }>(sql`SELECT password_hash FROM users WHERE email = ${DJANGO_EMAIL}`);
    expect(user!.password_hash).toMatch(/^pbkdf2_sha256_chain\$100000\$6\$/);
  });

  test('mail goes out through the HTTP email API', async () => {
    const visitor = createVisitor(site.url);
    expect((await visitor.post('/api/auth/link-request', { email: 'reader@example.com' })).status).toBe(303);
    await emailApi.waitFor('reader@example.com', { subject: /sign-in link/ });
    const mail = emailApi.messages.find((item) => item.body.to[0] === 'reader@example.com' && /sign-in link/.test(item.body.subject))!;
    expect(mail.authorization).toBe('Bearer re_test_cloudflare');
    expect(mail.body.from).toBe('Courses <courses@courses.test>');
    expect(mail.body.text).toContain(`${TEST_SITE_URL}/`);
  });
});

describe('buying and reading on the serverless target', () => {
  let buyer: Visitor;
  let sessionId: string;

  test('a member without the course is offered it', async () => {
    buyer = createVisitor(site.url);
    await signUpAndConfirm(buyer, emailApi, { email: 'buyer@example.com', password: PASSWORD });
    const lesson = await status(buyer, PAID_LESSON);
    expect(lesson.status).toBe(303);
    expect(lesson.location).toBe(`/courses/${COURSE}/#not-owned`);
  });

  test('checkout, payment on Stripe, the webhook, then the paid lesson', async () => {
    const checkout = await buyer.post('/api/checkout', { course: COURSE, price: '1' });
    expect(checkout.status).toBe(303);
    const location = checkout.headers.get('location')!;
    expect(location.startsWith(standin.url)).toBe(true);
    sessionId = location.split('/').pop()!;
    const session = await stripe.checkout.sessions.retrieve(sessionId);
    expect(session.amount_total).toBe(4900);

    const { redirect } = await control(`/_standin/checkout/${sessionId}/pay`, {});
    // The buyer is signed in: the success page confirms, with the button to the course's first lesson.
    const success = await status(buyer, sitePath(redirect));
    expect(success.status).toBe(200);
    expect(success.body).toMatch(new RegExp(`<a class="button" href="/courses/${COURSE}/[a-z0-9-]+/">Start the course</a>`));
    expect(success.body).toContain('Your receipt is on its way to <strong>buyer@example.com</strong>.');
    const lesson = await status(buyer, PAID_LESSON);
    expect(lesson.status).toBe(200);
    expect(lesson.body).toContain('buyer@example.com');
    const purchases = await query<{ status: string }>(
      sql`SELECT p.status FROM purchases p JOIN users u ON u.id = p.user_id WHERE u.email = 'buyer@example.com'`,
    );
    expect(purchases).toEqual([{ status: 'paid' }]);
  });

  test('search on D1 (FTS5, migrated and filled by the same scripts): the buyer finds a paid sentence, a visitor does not', async () => {
    const path = `/api/search?q=${encodeURIComponent('comparisons can be chained')}&course=${COURSE}`;
    const owner = await (await buyer.get(path)).text();
    expect(owner).toContain(`<a href="${PAID_LESSON}">`);
    expect(owner).toContain('<mark>chained</mark>');
    const visitor = await (await fetch(`${site.url}${path}`)).text();
    expect(visitor).toContain('No lesson you can read matches');
    expect(visitor).not.toContain(PAID_LESSON);
  });

  test('on D1 too, opening a lesson records it for "Continue", and "Complete and continue" opens the next lesson', async () => {
    const path = (lesson: string) => `/courses/${COURSE}/${lesson}/`;
    expect((await status(buyer, path('comprehensions'))).status).toBe(200);
    const me = (await (await buyer.get('/api/me')).json()) as { courses: { slug: string; continueUrl: string }[] };
    expect(me.courses.find((course) => course.slug === COURSE)?.continueUrl).toBe(path('comprehensions'));
    expect(
      await query<{ lesson: string }>(
        sql`SELECT r.lesson_slug AS lesson FROM lesson_reads r JOIN users u ON u.id = r.user_id WHERE u.email = 'buyer@example.com'`,
      ),
    ).toEqual([{ lesson: 'comprehensions' }]);
    const marked = await buyer.post('/api/progress', { course: COURSE, lesson: 'comprehensions', done: '1' });
    expect(marked.status).toBe(303);
    expect(marked.headers.get('location')).toBe(path('defining-functions'));
  });

  test('the same webhook event delivered again, even at once, grants once', async () => {
    const events = await stripe.events.list({ type: 'checkout.session.completed', limit: 100 });
    const event = events.data.find((item) => (item.data.object as { id: string }).id === sessionId)!;
    expect(event).toBeDefined();
    const { statuses } = await control(`/_standin/events/${event.id}/deliver`, { times: 3, concurrent: true });
    expect(statuses).toEqual([200, 200, 200]);
    const rows = await query<{ purchases: number; grants: number }>(sql`SELECT
        (SELECT count(*) FROM purchases WHERE checkout_session_id = ${sessionId}) AS purchases,
        (SELECT count(*) FROM access_ledger l JOIN purchases p ON p.id = l.purchase_id WHERE p.checkout_session_id = ${sessionId} AND l.action = 'grant') AS grants`);
    expect(rows).toEqual([{ purchases: 1, grants: 1 }]);
    expect((await status(buyer, PAID_LESSON)).status).toBe(200);
  });

  test('a guest buys without an account: signed in by the success page, one email with the set-password link', async () => {
    const guest = createVisitor(site.url);
    const email = 'cf-guest@example.com';
    const checkout = await guest.post('/api/checkout', { course: COURSE });
    expect(checkout.status).toBe(303);
    const guestSession = checkout.headers.get('location')!.split('/').pop()!;
    const { redirect } = await control(`/_standin/checkout/${guestSession}/pay`, { email });
    // The browser that started the checkout holds its cookie: the new account is signed in there.
    const success = await guest.get(sitePath(redirect));
    expect(success.status).toBe(200);
    const confirmation = await success.text();
    expect(confirmation).toMatch(new RegExp(`<a class="button" href="/courses/${COURSE}/[a-z0-9-]+/">Start the course</a>`));
    expect(confirmation).toContain(`Your receipt is on its way to <strong>${email}</strong>`);
    expect((await status(guest, PAID_LESSON)).status).toBe(200);
    await emailApi.waitFor(email);
    const sent = emailApi.messages.filter((mail) => mail.body.to[0] === email);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body.text).toMatch(new RegExp(`${TEST_SITE_URL}/reset\\?token=[\\w-]{43}&welcome=1`));
    // Another browser with the success URL is not signed in.
    const stranger = await createVisitor(site.url).get(sitePath(redirect));
    expect(stranger.status).toBe(200);
    expect(stranger.headers.getSetCookie().some((cookie) => cookie.startsWith('session=') && !cookie.includes('Max-Age=0'))).toBe(false);
  });

  test('a forged webhook is refused', async () => {
    const response = await fetch(`${site.url}/api/stripe/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Stripe-Signature': 't=1,v1=forged' },
      body: JSON.stringify({ id: 'evt_forged', type: 'checkout.session.completed', data: { object: { id: sessionId } } }),
    });
    expect(response.status).toBe(400);
  });
});

describe('what a deploy uploads', () => {
  test("no paid lesson text or paid-only image is in the static output or the Worker's bundle", () => {
    const manifest = parseManifest(JSON.parse(readFileSync(join(dist(), 'private', 'manifest.json'), 'utf8')));
    // Sentences of the paid pages' own text (not the layout): every paragraph long enough to be unique.
    const secrets = new Set<string>();
    for (const lesson of manifest.lessons) {
      if (!lesson.page) continue;
      const html = readFileSync(join(dist(), 'private', lesson.page.file), 'utf8');
      const article = html.slice(html.indexOf('<main'), html.lastIndexOf('</main>'));
      for (const match of article.matchAll(/<p>([^<]{60,})<\/p>/g)) secrets.add(match[1]!.slice(0, 60));
    }
    expect(secrets.size).toBeGreaterThan(10);
    const paidMedia = manifest.media.map((item) => readFileSync(join(dist(), 'private', item.file)));
    expect(paidMedia.length).toBeGreaterThan(0);

    const out = mkdtempSync(join(ROOT, '.test-dist', 'cf-worker-'));
    try {
      const build = spawnSync(
        process.execPath,
        [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--config', site.configPath, '--outdir', out],
        {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', WRANGLER_SEND_METRICS: 'false', CI: '1' },
          encoding: 'utf8',
        },
      );
      expect(build.status, build.stderr).toBe(0);
      const files = [...readdirSync(site.clientDir, { recursive: true, withFileTypes: true }), ...readdirSync(out, { recursive: true, withFileTypes: true })]
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name));
      expect(
        files.some((file) => file.startsWith(out) && file.endsWith('.js')),
        'the bundle was written',
      ).toBe(true);
      for (const file of files) {
        const bytes = readFileSync(file);
        const text = bytes.toString('utf8');
        for (const secret of secrets) expect(text.includes(secret), `${secret} in ${file}`).toBe(false);
        for (const media of paidMedia) expect(bytes.equals(media), `a paid-only image is ${file}`).toBe(false);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
