// The deployment as docs/deploy.md sets it up: the built server in production mode behind real
// Caddy running deploy/Caddyfile (changed only through its environment), and scripts/deploy.sh
// updating and rolling back releases in a temporary folder with a local git remote.
import { execFileSync } from 'node:child_process';
import { spawn } from './support/processes.ts';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { createClient } from '@libsql/client';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { grantAccess } from '../src/server/access/ledger.ts';
import { DEVELOPMENT_SESSION_SECRET } from '../src/server/config.ts';
import { accountsEnv } from './support/accounts-env.ts';
import { FIXTURE_COURSES, ROOT } from './support/build.ts';
import { caddyEtag, startCaddy, type RunningCaddy } from './support/caddy.ts';
import { freePort, startServer, type RunningServer } from './support/server.ts';
import { CONFIRMATION_SUBJECT, confirmationLinkIn } from './support/sign-up.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { createTestStore, syncStore, type TestStore } from './support/store.ts';
import { requireTool } from './support/tools.ts';

const COURSE_PAGE = '/courses/python-fundamentals/';
const PREVIEW_PAGE = '/courses/python-fundamentals/why-python/';
const PAID_LESSON = '/courses/python-fundamentals/comprehensions/';
const PASSWORD = 'a long enough passphrase';

/** The production settings of the tests, behind a proxy on the loopback address. */
function productionEnv(store: TestStore, siteUrl?: string): Record<string, string> {
  // Nothing is mailed here; the address only satisfies the production settings.
  const env = { ...accountsEnv({ databaseUrl: store.url, smtpUrl: 'smtp://127.0.0.1:9' }), TRUST_PROXY: '127.0.0.1' };
  return siteUrl ? { ...env, SITE_URL: siteUrl } : env;
}

type Site = { server: RunningServer; caddy: RunningCaddy; env: Record<string, string> };

/** Node behind its own Caddy, the site's address being Caddy's, as in production. */
async function startSite(dist: string, store: TestStore, extra: Record<string, string> = {}): Promise<Site> {
  const port = await freePort();
  const env = { ...productionEnv(store, `https://localhost:${port}`), ...extra };
  const server = await startServer({ dist, env });
  try {
    return { server, env, caddy: await startCaddy({ siteRoot: join(dist, 'client'), upstream: `127.0.0.1:${server.port}`, port }) };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

describe('behind Caddy', () => {
  let dist: string;
  let store: TestStore;
  let server: RunningServer;
  let caddy: RunningCaddy;
  let sink: SmtpSink;

  beforeAll(async () => {
    dist = inject('dist');
    [store, sink] = await Promise.all([createTestStore(), startSmtpSink()]);
    await syncStore(dist, store.url);
    // Members confirm their address from the mail, through Caddy like everything else.
    ({ server, caddy } = await startSite(dist, store, { SMTP_URL: sink.url }));
  });
  afterAll(async () => {
    await caddy?.stop();
    await server?.stop();
    await sink?.stop();
    store?.remove();
  });

  const post = (path: string, fields: Record<string, string>, options: { origin?: string; localAddress?: string; headers?: Record<string, string> } = {}) =>
    caddy.request(path, {
      method: 'POST',
      body: form(fields),
      localAddress: options.localAddress,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: options.origin ?? caddy.origin, ...options.headers },
    });

  /**
   * A member's sign-up through Caddy: the form (which sets no cookie), then the mailed link's page
   * and its form, which signs in. The journey of tests/support/sign-up.ts over Caddy's TLS.
   */
  async function signUpThroughCaddy(email: string): Promise<{ session: string; cookie: string }> {
    const mark = sink.messages.length;
    const signup = await post('/api/auth/signup', { email, password: PASSWORD });
    expect(signup.status).toBe(303);
    expect(signup.headers.location).toBe('/signup?notice=check-email');
    expect(signup.headers['set-cookie']).toBeUndefined();
    const link = confirmationLinkIn((await sink.waitFor(email, { after: mark, subject: CONFIRMATION_SUBJECT })).text);
    expect((await caddy.request(link)).status).toBe(200);
    const token = new URL(link, caddy.origin).searchParams.get('token')!;
    const confirmed = await post('/api/auth/verify', { token, password: PASSWORD });
    expect(confirmed.status).toBe(303);
    const cookie = (confirmed.headers['set-cookie'] ?? []).find((header) => header.startsWith('__Host-session='))!;
    return { cookie, session: cookie.split(';')[0]!.slice('__Host-session='.length) };
  }

  test('Caddy serves the built pages and files itself, hashed ones cached for a year', async () => {
    const client = join(dist, 'client');
    const css = readdirSync(join(client, '_astro')).find((name) => name.endsWith('.css'))!;
    const image = readdirSync(join(client, 'media')).find((name) => name.endsWith('.webp'))!;
    for (const [path, file] of [
      ['/', 'index.html'],
      [COURSE_PAGE, 'courses/python-fundamentals/index.html'],
      [PREVIEW_PAGE, 'courses/python-fundamentals/why-python/index.html'],
      [`/_astro/${css}`, `_astro/${css}`],
      [`/media/${image}`, `media/${image}`],
    ] as const) {
      const response = await caddy.request(path);
      expect(response.status, path).toBe(200);
      // Caddy's file_server names the file by its time and size; Node's static handler would not.
      expect(response.headers.etag, path).toBe(caddyEtag(statSync(join(client, file))));
      expect(response.body.equals(readFileSync(join(client, file))), path).toBe(true);
      const hashed = path.startsWith('/_astro/') || path.startsWith('/media/');
      expect(response.headers['cache-control'], path).toBe(hashed ? 'public, max-age=31536000, immutable' : 'public, max-age=0, must-revalidate');
    }
    // The same page straight from Node carries another validator: the check above can tell them apart.
    const direct = await fetch(`${server.url}/`);
    expect(direct.status).toBe(200);
    expect(direct.headers.get('etag')).not.toBe(caddyEtag(statSync(join(client, 'index.html'))));
  });

  test('text is compressed with zstd or gzip, whoever answers', async () => {
    const client = join(dist, 'client');
    const css = readdirSync(join(client, '_astro')).find((name) => name.endsWith('.css'))!;
    const zstd = await caddy.request(`/_astro/${css}`, { headers: { 'accept-encoding': 'zstd, gzip' } });
    expect(zstd.headers['content-encoding']).toBe('zstd');
    expect(zstdDecompressSync(zstd.body).equals(readFileSync(join(client, '_astro', css)))).toBe(true);
    const gzip = await caddy.request(COURSE_PAGE, { headers: { 'accept-encoding': 'gzip' } });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.body).equals(readFileSync(join(client, 'courses/python-fundamentals/index.html')))).toBe(true);
    // An on-demand page, from Node.
    const login = await caddy.request('/login', { headers: { 'accept-encoding': 'gzip' } });
    expect(login.status).toBe(200);
    expect(login.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(login.body).toString()).toContain('name="password"');
    const plain = await caddy.request(COURSE_PAGE);
    expect(plain.headers['content-encoding']).toBeUndefined();
  });

  test('every answer carries the security headers, once', async () => {
    for (const path of ['/', COURSE_PAGE, '/login', PAID_LESSON, '/no-such-page/', '/_image?href=x']) {
      const { headers } = await caddy.request(path);
      expect(headers['strict-transport-security'], path).toBe('max-age=31536000; includeSubDomains');
      expect(headers['x-content-type-options'], path).toBe('nosniff');
      expect(headers['x-frame-options'], path).toBe('DENY');
      expect(headers['referrer-policy'], path).toBe('strict-origin-when-cross-origin');
      expect(headers['content-security-policy'], path).toMatch(/^default-src 'self'; script-src 'self';.*frame-ancestors 'none'$/);
    }
    // A page that asks for its own referrer policy keeps it.
    const direct = (await fetch(`${server.url}/reset?token=x`)).headers.get('referrer-policy');
    expect(direct).toMatch(/^(no-referrer|same-origin)$/);
    expect((await caddy.request('/reset?token=x')).headers['referrer-policy']).toBe(direct);
  });

  test("Astro's on-the-fly image endpoint is closed", async () => {
    const image = readdirSync(join(dist, 'client', 'media')).find((name) => name.endsWith('.webp'))!;
    const path = `/_image?href=${encodeURIComponent(`/media/${image}`)}&w=64&f=webp`;
    // Node alone would resize the image for anyone who asks...
    const direct = await fetch(`${server.url}${path}`);
    expect(direct.status).toBe(200);
    expect(direct.headers.get('content-type')).toBe('image/webp');
    // ...Caddy never asks it.
    for (const blocked of [path, '/_image/anything']) {
      const response = await caddy.request(blocked);
      expect(response.status, blocked).toBe(404);
      expect(response.text()).toBe('Not found');
    }
  });

  test('paid lessons and folders without a page go to Node: no listing, no 404 from Caddy', async () => {
    // Anonymous on a paid lesson: Node's lesson gate offers the course and sign-in.
    const lesson = await caddy.request(PAID_LESSON);
    expect(lesson.status).toBe(403);
    expect(lesson.text()).toContain(`/login?next=${encodeURIComponent(PAID_LESSON)}`);
    const withoutSlash = await caddy.request(PAID_LESSON.slice(0, -1));
    expect(withoutSlash.status).toBe(403);
    // Folders of the build without an index.html answer what Node answers (its 404 page).
    for (const path of ['/courses/', '/_astro/', '/media/']) {
      const [viaCaddy, direct] = await Promise.all([caddy.request(path), fetch(`${server.url}${path}`, { redirect: 'manual' })]);
      expect(viaCaddy.status, path).toBe(direct.status);
      expect(viaCaddy.text(), path).toBe(await direct.text());
      expect(viaCaddy.text(), path).toContain('<html');
    }
  });

  test('/healthz answers through Caddy', async () => {
    const response = await caddy.request('/healthz');
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toMatch(/no-store/);
  });

  test('a body over 1 MB is refused to any path, declared or chunked, by whichever limit is reached first', async () => {
    const big = 'a'.repeat(2 * 1024 * 1024);
    for (const [path, chunked] of [
      ['/api/stripe/webhook', false],
      ['/api/stripe/webhook', true],
      ['/api/auth/login', true],
    ] as const) {
      // Each with the content type its endpoint reads, so that Node would read the body too.
      const type = path === '/api/auth/login' ? 'application/x-www-form-urlencoded' : 'application/json';
      const response = await caddy.request(path, { method: 'POST', body: big, chunked, headers: { 'content-type': type, origin: caddy.origin } });
      expect(response.status, `${path} chunked=${chunked}`).toBe(413);
      // Caddy counts the body as it streams it on, declared length or not, so Node's own smaller
      // limit may answer first: either refusal will do, and nothing past Caddy's cap reaches Node.
      const caddys = 'Request body too large';
      const nodes = path === '/api/stripe/webhook' ? /^\{"error":"Event too large\."\}$/ : /<html[\s\S]*Form too large/;
      if (response.text() !== caddys) expect(response.text()).toMatch(nodes);
    }
    // Below the cap, Node still decides (its own smaller limit for the webhook).
    const event = await caddy.request('/api/stripe/webhook', {
      method: 'POST',
      body: 'a'.repeat(600_000),
      chunked: true,
      headers: { 'content-type': 'application/json' },
    });
    expect(event.status).toBe(413);
    expect(event.text()).toMatch(/Event too large/);
    expect((await caddy.request('/healthz')).status).toBe(200);
  });

  test('a sign-up confirmed through Caddy gets a __Host- cookie (Secure, Path=/, no Domain); a cross-site post is refused', async () => {
    const { cookie } = await signUpThroughCaddy('through-caddy@example.com');
    expect(cookie).toMatch(/; Secure(;|$)/);
    expect(cookie).toMatch(/; Path=\/;/);
    expect(cookie).not.toMatch(/Domain=/i);
    expect(cookie).toMatch(/; HttpOnly/);

    const before = await store.snapshot();
    const crossSite = await post('/api/auth/signup', { email: 'cross-site@example.com', password: PASSWORD }, { origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    expect(await store.snapshot()).toBe(before);
  });

  test('rate limits count each client address Caddy saw, not what a client claims', async () => {
    const attempt = (localAddress: string, n: number, headers: Record<string, string> = {}) =>
      post('/api/auth/login', { email: `guess${n}@example.com`, password: 'not the password' }, { localAddress, headers });
    // Different emails each time: only the per-address limit (60 in 15 minutes) can apply.
    for (let n = 1; n <= 60; n++) expect((await attempt('127.0.0.2', n)).status).toBe(303);
    const limited = await attempt('127.0.0.2', 61);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    // A client cannot step around it by sending its own X-Forwarded-For: Caddy replaces it.
    expect((await attempt('127.0.0.2', 62, { 'x-forwarded-for': '198.51.100.7' })).status).toBe(429);
    // Another visitor is not affected.
    expect((await attempt('127.0.0.3', 63)).status).toBe(303);
  });

  test('the pages satisfy the Content-Security-Policy in Chromium', async () => {
    // A member who owns the course, to see a paid lesson too.
    const email = 'csp-member@example.com';
    const { session } = await signUpThroughCaddy(email);
    const { rows } = await store.client.execute({ sql: 'SELECT id FROM users WHERE email = ?', args: [email] });
    await grantAccess(store.db, { userId: Number(rows[0]!.id), courseSlug: 'python-fundamentals', reason: 'test', now: Date.now() });

    const browser: Browser = await chromium.launch({
      executablePath: requireTool('chromium'),
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
    try {
      const visit = async (path: string, cookie?: string) => {
        const context = await browser.newContext({ ignoreHTTPSErrors: true });
        if (cookie) await context.addCookies([{ name: '__Host-session', value: cookie, url: caddy.origin, secure: true, httpOnly: true }]);
        // Anything off the machine is refused, so that no page waits for the internet.
        await context.route(
          (url) => url.hostname !== 'localhost',
          (route) => route.abort('blockedbyclient'),
        );
        await context.addInitScript(() => {
          const seen: string[] = [];
          (window as unknown as { cspViolations: string[] }).cspViolations = seen;
          document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.effectiveDirective} ${event.blockedURI}`));
        });
        const page = await context.newPage();
        const console: string[] = [];
        page.on('console', (message) => console.push(message.text()));
        const response = await page.goto(`${caddy.origin}${path}`, { waitUntil: 'networkidle' });
        expect(response?.headers()['content-security-policy'], path).toContain("script-src 'self'");
        return { context, page, console, violations: () => page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations) };
      };

      const pages: Array<[string, string?]> = [
        ['/'],
        [COURSE_PAGE],
        [PREVIEW_PAGE],
        ['/login'],
        ['/signup'],
        ['/no-such-page/'],
        ['/account/', session],
        [PAID_LESSON, session],
      ];
      for (const [path, cookie] of pages) {
        const { context, page, console, violations } = await visit(path, cookie);
        expect(await violations(), path).toEqual([]);
        expect(
          console.filter((line) => /Content.Security.Policy/i.test(line)),
          path,
        ).toEqual([]);
        if (path === PAID_LESSON) expect(await page.title()).toContain('Comprehensions');
        await context.close();
      }

      // The checks above can fail: the member-state script ran (the account link says "Sign in"),
      // the code on a lesson is coloured by its style attributes, and an inline script is refused.
      const { context, page, violations } = await visit(PREVIEW_PAGE);
      await expect.poll(() => page.locator('[data-account-link]').textContent()).toBe('Sign in');
      const colour = await page.evaluate(() => {
        const span = document.querySelector<HTMLElement>('pre span[style*="color"]')!;
        return { inline: span.style.color, computed: getComputedStyle(span).color };
      });
      expect(colour.inline).not.toBe('');
      expect(colour.computed).toBe(colour.inline);
      await page.evaluate(() => {
        const script = document.createElement('script');
        script.textContent = 'window.injected = true';
        document.body.append(script);
      });
      await expect.poll(violations).toEqual([expect.stringMatching(/^script-src-elem inline/)]);
      expect(await page.evaluate(() => (window as unknown as { injected?: boolean }).injected)).toBeUndefined();
      await context.close();
    } finally {
      await browser.close();
    }
  }, 90_000);

  test('SIGTERM lets a request in flight finish; during a restart Caddy waits for the new process', async () => {
    // A sign-in is the naturally slow request: with many hash iterations an unknown email costs
    // seconds of PBKDF2. This server has its own Caddy in front, since it will be stopped.
    const env = { PASSWORD_ITERATIONS: '2000000', LOG_LEVEL: 'info' };
    const { server: slow, caddy: slowCaddy, env: slowEnv } = await startSite(dist, store, env);
    let replacement: ReturnType<typeof spawn> | undefined;
    try {
      let answeredAt = 0;
      const signIn = slowCaddy
        .request('/api/auth/login', {
          method: 'POST',
          body: form({ email: 'nobody-yet@example.com', password: 'whatever it is' }),
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: slowCaddy.origin },
        })
        .then((response) => ((answeredAt = Date.now()), response));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(answeredAt).toBe(0);
      const stoppedAt = Date.now();
      const stopped = slow.stop();
      const response = await signIn;
      expect(response.status).toBe(303);
      expect(response.headers.location).toMatch(/^\/login\?error=invalid-credentials/);
      expect(answeredAt).toBeGreaterThan(stoppedAt);
      await stopped;
      expect(slow.logs()).toContain('"server.stopping"');
      expect(slow.logs()).not.toContain('forced-stop');

      // Nothing listens now. A visitor's request waits in Caddy until the restarted service
      // (the same settings and port, as systemd starts it) answers.
      const waiting = slowCaddy.request('/login');
      await new Promise((resolve) => setTimeout(resolve, 300));
      replacement = spawn(process.execPath, [join(ROOT, 'src/node/server.ts')], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', DIST_DIR: dist, ...slowEnv, HOST: '127.0.0.1', PORT: String(slow.port) },
        stdio: 'ignore',
      });
      expect((await waiting).status).toBe(200);
    } finally {
      if (replacement && replacement.exitCode === null) {
        const exited = new Promise((resolve) => replacement!.once('exit', resolve));
        replacement.kill('SIGTERM');
        await exited;
      }
      await slowCaddy.stop();
      await slow.stop();
    }
  }, 90_000);
});

describe('production refuses to start', () => {
  let store: TestStore;
  let empty: TestStore;
  beforeAll(async () => {
    [store, empty] = await Promise.all([createTestStore(), createTestStore({ migrate: false })]);
  });
  afterAll(() => {
    store?.remove();
    empty?.remove();
  });

  test('with each kind of bad configuration, naming it', async () => {
    const base = productionEnv(store);
    const without = (...keys: string[]) => Object.fromEntries(Object.entries(base).filter(([key]) => !keys.includes(key)));
    // The server names every problem at once, so one process can show several; some exclude others.
    const cases: Array<[Record<string, string>, RegExp[]]> = [
      [
        {
          ...without('SMTP_URL', 'MAIL_FROM', 'STRIPE_WEBHOOK_SECRET'),
          SESSION_SECRET: DEVELOPMENT_SESSION_SECRET,
          SITE_URL: 'http://courses.test',
          MAIL_OUTBOX: '1',
          STRIPE_API_BASE: 'http://127.0.0.1:12111',
          DATABASE_URL: 'libsql://store.example.com',
        },
        [
          /SESSION_SECRET: is the development secret/,
          /SITE_URL: must be https in production/,
          /SMTP_URL \(or EMAIL_PROVIDER and EMAIL_API_KEY\): must be set in production/,
          /MAIL_OUTBOX: the development outbox cannot be used in production/,
          /MAIL_FROM: must be set in production/,
          /STRIPE_WEBHOOK_SECRET: must be set in production/,
          /STRIPE_API_BASE: points the site at a development Stripe stand-in/,
          /DATABASE_AUTH_TOKEN: must be set for a remote libsql/,
        ],
      ],
      [
        without('SESSION_SECRET', 'STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'),
        [/SESSION_SECRET: must be set in production/, /STRIPE_SECRET_KEY: must be set in production/],
      ],
      [{ ...base, SESSION_SECRET: 'too-short' }, [/SESSION_SECRET: must be at least 32 bytes/]],
      [{ ...base, SESSION_SECRET: 'ab'.repeat(20) }, [/SESSION_SECRET: is too predictable/]],
      [{ ...base, DATABASE_URL: empty.url }, [/The store is not migrated/]],
    ];
    const results = await Promise.allSettled(cases.map(([env]) => startServer({ dist: inject('dist'), env })));
    results.forEach((result, index) => {
      const [, expected] = cases[index]!;
      expect(result.status, String(expected[0])).toBe('rejected');
      const message = String((result as PromiseRejectedResult).reason);
      expect(message).toMatch(/the server exited with 1/);
      for (const problem of expected) expect(message).toMatch(problem);
    });
  }, 90_000);
});

describe('scripts/deploy.sh', () => {
  let dir: string;
  let serverPort: number;

  /** Runs deploy.sh as the operator would, with this machine's restart and health check. */
  function deploy(healthTimeout: number): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('bash', [join(ROOT, 'scripts/deploy.sh')], {
        cwd: dir,
        env: {
          ...process.env,
          NODE_ENV: '',
          COURSES_ROOT: join(dir, 'srv'),
          REPO_URL: join(dir, 'remote.git'),
          ENV_FILE: join(dir, 'env'),
          BACKUP_DIR: join(dir, 'data', 'backups'),
          RESTART_CMD: join(dir, 'restart.sh'),
          HEALTH_URL: `http://127.0.0.1:${serverPort}/healthz`,
          HEALTH_TIMEOUT: String(healthTimeout),
          CADDYFILE: join(dir, 'no-caddyfile'),
          // The dependencies of this checkout, instead of a fresh install for every release.
          NODE_MODULES_FROM: join(ROOT, 'node_modules'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (chunk) => (text += chunk));
      child.stderr.on('data', (chunk) => (text += chunk));
      child.on('error', reject);
      // 'exit', not 'close': the server the restart command starts outlives the script.
      child.on('exit', (code) => resolve({ code, output: text }));
    });
  }

  const git = (cwd: string, ...args: string[]) =>
    execFileSync(requireTool('git'), ['-c', 'user.name=Author', '-c', 'user.email=author@example.com', ...args], { cwd, encoding: 'utf8', stdio: 'pipe' });
  const current = () => readlinkSync(join(dir, 'srv', 'current'));
  const releases = () => readdirSync(join(dir, 'srv', 'releases')).sort();
  const storeUrl = () => `file:${join(dir, 'data', 'app.db')}`;

  async function lessonHtml(slug: string): Promise<string> {
    const client = createClient({ url: storeUrl() });
    try {
      const { rows } = await client.execute({ sql: "SELECT html FROM lessons WHERE course_slug = 'python-fundamentals' AND slug = ?", args: [slug] });
      return String(rows[0]?.html ?? '');
    } finally {
      client.close();
    }
  }

  beforeAll(async () => {
    mkdirSync(join(ROOT, '.test-dist'), { recursive: true });
    dir = mkdtempSync(join(ROOT, '.test-dist', 'deploy-'));
    mkdirSync(join(dir, 'srv'));
    serverPort = await freePort();
    // The remote: this repository's committed state.
    git(dir, 'clone', '--quiet', '--bare', ROOT, 'remote.git');
    // With the suite's own courses in place of the author's, whatever those hold.
    const seed = join(dir, 'seed');
    git(dir, 'clone', '--quiet', 'remote.git', seed);
    rmSync(join(seed, 'courses'), { recursive: true, force: true });
    cpSync(FIXTURE_COURSES, join(seed, 'courses'), { recursive: true });
    git(seed, 'add', '--all', 'courses');
    git(seed, 'commit', '--quiet', '--allow-empty', '-m', "The test suite's courses");
    git(seed, 'push', '--quiet', 'origin', 'HEAD');
    const env = {
      ...accountsEnv({ databaseUrl: storeUrl(), smtpUrl: 'smtp://127.0.0.1:9' }),
      HOST: '127.0.0.1',
      PORT: String(serverPort),
      TRUST_PROXY: '127.0.0.1',
    };
    // Quoted, as .env.example asks: the file is read by deploy.sh (as a .env file) and sourced by
    // the restart script below (as systemd would read it).
    writeFileSync(
      join(dir, 'env'),
      Object.entries(env)
        .map(([key, value]) => `${key}="${value}"\n`)
        .join(''),
    );
    // What `systemctl restart courses` does: stop the running server (SIGTERM, wait), start the
    // release `current` points at, with the settings file.
    writeFileSync(
      join(dir, 'restart.sh'),
      `#!/usr/bin/env bash
set -euo pipefail
pidfile='${dir}/server.pid'
if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
fi
cd '${dir}/srv/current'
set -a; . '${dir}/env'; set +a
node_modules/.bin/node src/node/server.ts >>'${dir}/server.log' 2>&1 </dev/null &
echo $! >"$pidfile"
`,
      { mode: 0o755 },
    );
  });
  afterAll(() => {
    const pidfile = join(dir ?? '', 'server.pid');
    if (dir && existsSync(pidfile)) {
      try {
        process.kill(Number(readFileSync(pidfile, 'utf8')), 'SIGTERM');
      } catch {
        // already stopped
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a first deploy builds a release, prepares the store, switches current and starts it', async () => {
    const result = await deploy(30);
    expect(result.code, result.output).toBe(0);
    const [release] = releases();
    expect(current()).toBe(`releases/${release}`);
    const released = join(dir, 'srv', 'current');
    expect(readFileSync(join(released, 'REVISION'), 'utf8').trim()).toBe(git(join(dir, 'remote.git'), 'rev-parse', 'HEAD').trim());
    // Served by the new release, with its paid lessons in the store.
    expect((await fetch(`http://127.0.0.1:${serverPort}/healthz`)).status).toBe(200);
    expect(await lessonHtml('comprehensions')).toContain('Python has a compact syntax for exactly that shape');
    // Only the public build is readable by other users (Caddy); the paid lessons are not.
    expect(statSync(join(released, 'dist', 'client', 'index.html')).mode & 0o004).toBe(0o004);
    expect(statSync(join(released, 'dist', 'private')).mode & 0o007).toBe(0);
    expect(statSync(join(released, 'courses')).mode & 0o007).toBe(0);
    expect(lstatSync(join(released, '.env')).isSymbolicLink()).toBe(true);
    expect(result.output).toMatch(/no store at .* yet: nothing to back up/);
  }, 240_000);

  test('a release that does not become healthy is rolled back, with the previous lessons', async () => {
    const good = current();
    // The next commit changes a paid lesson and breaks the server's start.
    const work = join(dir, 'work');
    git(dir, 'clone', '--quiet', 'remote.git', work);
    const lessonFile = join(work, 'courses/python-fundamentals/02-data-structures/03-comprehensions.md');
    writeFileSync(lessonFile, `${readFileSync(lessonFile, 'utf8')}\nA sentence only the broken release has.\n`);
    const entry = join(work, 'src/node/server.ts');
    writeFileSync(entry, `throw new Error('this release cannot start');\n${readFileSync(entry, 'utf8')}`);
    git(work, 'commit', '--quiet', '-am', 'A broken release');
    git(work, 'push', '--quiet', 'origin', 'HEAD');

    // The broken server never answers; the good one must be back within this time.
    const result = await deploy(15);
    expect(result.code, result.output).toBe(1);
    expect(result.output).toContain(`rolling back to ${good.replace('releases/', '')}`);
    expect(result.output).toMatch(/rolled back to .*, which is healthy/);
    expect(current()).toBe(good);
    expect(releases()).toHaveLength(2);
    expect(readFileSync(join(dir, 'server.log'), 'utf8')).toContain('this release cannot start');
    // The store was backed up before the migration, and holds the good release's lessons again.
    const backups = readdirSync(join(dir, 'data', 'backups'));
    expect(backups).toEqual([expect.stringMatching(/^app-\d{8}-\d{6}-[0-9a-f]{10}\.db$/)]);
    const backup = createClient({ url: `file:${join(dir, 'data', 'backups', backups[0]!)}` });
    try {
      expect(Number((await backup.execute('SELECT count(*) AS n FROM lessons')).rows[0]!.n)).toBeGreaterThan(0);
    } finally {
      backup.close();
    }
    expect(await lessonHtml('comprehensions')).not.toContain('A sentence only the broken release has.');
    expect((await fetch(`http://127.0.0.1:${serverPort}/healthz`)).status).toBe(200);
  }, 240_000);
});
