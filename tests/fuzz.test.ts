// Hostile input: random and malformed requests to every endpoint (methods, paths, query strings,
// headers, cookies, bodies, huge and empty inputs, and raw bytes that are not HTTP at all), and
// bodies shaped to hurt (chunked, trickling, oversized, reset halfway, with odd framing headers)
// against the built server with payments configured. None may get a 5xx or end the server's
// process, and none, being unauthenticated, may change the store: a digest of every table is the
// same before and after, except `rate_limits`, where failed attempts are legitimately counted, and
// `checkout_starts`, where a guest's checkout (which needs no account) legitimately records its start.
//
// The endpoints and the fields they read are the route table's (src/server/routes.ts); a route
// under a prefix (/admin/*) is tried at the addresses listed in PREFIX_EXAMPLES.
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { GATED_PATHS, ROUTES, STATIC_PATHS } from '../src/server/routes.ts';
import { startPaymentsSite, type PaymentsSite } from './support/payments.ts';

const COURSE = 'python-fundamentals';

/** Addresses under each prefix route. */
const PREFIX_EXAMPLES: Record<string, string[]> = {
  '/admin/*': [
    '/admin/',
    '/admin/members',
    '/admin/members.csv',
    '/admin/purchases',
    '/admin/purchases.csv',
    '/admin/courses',
    '/admin/audit',
    '/admin/members/1/grant',
    '/admin/members/1/revoke',
    '/admin/members/1/password-email',
    '/admin/members/1/sign-out',
  ],
};

/** A demo address for a pattern of the table (`:course` and friends, `/*`); `lesson` is a paid or a free one. */
function examplesOf(path: string, lesson = 'why-python'): string[] {
  if (PREFIX_EXAMPLES[path]) return PREFIX_EXAMPLES[path]!;
  if (path.endsWith('/*')) return [`${path.slice(0, -2)}/none.png`];
  return [path.replace(':course', COURSE).replace(':lesson', lesson).replace(':name', 'none.png')];
}

/** Every page and endpoint, with the fields its forms or query read. */
const ENDPOINTS: { path: string; fields: string[] }[] = [
  ...ROUTES.flatMap((route) => examplesOf(route.path).map((path) => ({ path, fields: [...route.fields] }))),
  ...GATED_PATHS.flatMap((path) => examplesOf(path, 'control-flow').map((example) => ({ path: example, fields: [] }))),
  ...STATIC_PATHS.flatMap((path) => examplesOf(path).map((example) => ({ path: example, fields: [] }))),
  { path: '/courses/no-such-course/no-such-lesson/', fields: [] },
  { path: '/no-such-page', fields: [] },
];

const REQUESTS = 1500;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

let site: PaymentsSite;

beforeAll(async () => {
  site = await startPaymentsSite(inject('dist'));
});
afterAll(async () => {
  await site?.stop();
});

/** mulberry32: a small seeded generator, so that a failing run can be replayed with FUZZ_SEED. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
  return { next, int, pick };
}

const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  '%00',
  '%ZZ',
  '%',
  '%E0%A4%A',
  '\uFFFF',
  '\uD800',
  '😀'.repeat(50),
  '../../../../etc/passwd',
  '..%2f..%2f',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '"; DROP TABLE users; --',
  '${jndi:ldap://x}',
  '{{7*7}}',
  'a'.repeat(5000),
  'x'.repeat(200_000),
  '-1',
  '0',
  '1e308',
  'NaN',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'https://evil.example/',
  '//evil.example',
  'javascript:alert(1)',
  '\r\nSet-Cookie: x=1',
  'not-an-email',
  '@',
  'a@',
  '@b',
  'cs_test_nope',
  'evt_nope',
  'ey.ey.ey',
  'python-fundamentals',
  'PYTHON-FUNDAMENTALS',
  'python-fundamentals/../x',
  '1',
  '2',
  'done',
];
const METHODS = ['GET', 'POST', 'POST', 'POST', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'FOO'];
const CONTENT_TYPES = [
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-16',
  'multipart/form-data',
  'multipart/form-data; boundary=x',
  'application/json',
  'text/plain',
  'application/octet-stream',
  '',
  'x/y; ;;; =',
  'multipart/form-data; boundary=' + 'b'.repeat(300),
];

function fuzzRequest(random: ReturnType<typeof generator>, origin: string) {
  const endpoint = random.pick(ENDPOINTS);
  const method = random.pick(METHODS);
  let path = endpoint.path;
  const pathMutation = random.int(8);
  if (pathMutation === 0) path += random.pick(['%ZZ', '%', '%00', '/..', '//', '/%2e%2e/', ';x=1', '\u00e9', 'x'.repeat(4000)]);
  if (pathMutation === 1) path = path.replace(/[a-z]/g, (letter) => (random.int(4) === 0 ? letter.toUpperCase() : letter));
  const query = new URLSearchParams();
  for (const field of [...endpoint.fields, 'next', 'x'].filter(() => random.int(2) === 0)) query.append(field, random.pick(HOSTILE_STRINGS));
  const raw = random.int(6) === 0 ? `${random.pick(['a=%ZZ', '&&&', '=', 'a[b]=1', 'a=1&a=2&a=3', '%%%'])}` : query.toString();
  const headers: Record<string, string> = {};
  if (random.int(3) > 0) headers.origin = random.pick([origin, origin, 'null', 'https://evil.example', 'http://localhost', 'garbage', '']);
  if (random.int(2) === 0) {
    headers.cookie = random.pick([
      'session=' + random.pick(HOSTILE_STRINGS.filter((s) => !/[\r\n\u0000]/.test(s) && s.length < 10_000)),
      'session=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIiwic3YiOjF9.',
      'session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwic3YiOjEsImV4cCI6OTk5OTk5OTk5OX0.' + 'A'.repeat(43),
      'session=a; session=b; checkout=cs_test_x',
      ';;;=;',
      'checkout=' + 'c'.repeat(4000),
      'a'.repeat(8000),
    ]);
  }
  if (random.int(3) === 0) headers['content-type'] = random.pick(CONTENT_TYPES);
  if (random.int(5) === 0) headers['x-forwarded-for'] = random.pick(['1.2.3.4', 'garbage', '::1, 10.0.0.1', 'x'.repeat(500)]);
  if (endpoint.path.includes('webhook') && random.int(2) === 0)
    headers['stripe-signature'] = random.pick(['t=1,v1=abc', 't=abc', '', 'v1=' + 'f'.repeat(64), `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`]);
  if (random.int(6) === 0) headers['accept-language'] = random.pick(['*', 'xx-XX;q=2', ';;;', 'en'.repeat(500)]);
  if (random.int(6) === 0) headers['if-none-match'] = random.pick(['*', '"x"', 'W/"', 'x'.repeat(1000)]);
  if (random.int(8) === 0) headers.range = random.pick(['bytes=0-1', 'bytes=-1', 'bytes=9999999999-', 'bytes=x', 'bytes=0-0,1-1,2-2']);

  let body: string | Uint8Array | undefined;
  if (method !== 'GET' && method !== 'HEAD') {
    switch (random.int(7)) {
      case 0:
        body = '';
        break;
      case 1: {
        const form = new URLSearchParams();
        for (const field of endpoint.fields) for (let n = random.int(3); n > 0; n -= 1) form.append(field, random.pick(HOSTILE_STRINGS));
        body = form.toString();
        break;
      }
      case 2:
        body = Uint8Array.from({ length: random.int(4096) }, () => random.int(256));
        break;
      case 3:
        body = JSON.stringify(Object.fromEntries(endpoint.fields.map((field) => [field, random.pick([null, 1, [], {}, random.pick(HOSTILE_STRINGS)])])));
        break;
      case 4:
        body = '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\n' + random.pick(HOSTILE_STRINGS) + (random.int(2) ? '\r\n--x--\r\n' : '');
        break;
      case 5:
        body = 'a=' + 'b'.repeat(random.pick([1024 * 1024, 3 * 1024 * 1024]));
        break;
      default:
        body = random.pick(['%', '=&=&', 'email', '{"', '\u0000\u0000', 'a=%ZZ&b=%E0%A4%A']);
    }
  }
  return { method, path, raw, headers, body };
}

/** Every table's rows, hashed; blobs by their bytes. */
async function storeDigest(): Promise<Record<string, string>> {
  const tables = (
    await site.store.client.execute(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('rate_limits', 'checkout_starts') ORDER BY name`)
  ).rows.map((row) => String(row.name));
  const digest: Record<string, string> = {};
  for (const table of tables) {
    // Sorted here, not by rowid: the search index's shadow tables have none (WITHOUT ROWID).
    const rows = (await site.store.client.execute(`SELECT * FROM "${table}"`)).rows;
    const lines = rows
      .map((row) => JSON.stringify(Object.values(row), (_, value) => (value instanceof ArrayBuffer ? Buffer.from(value).toString('hex') : value)))
      .sort();
    const hash = createHash('sha256');
    for (const line of lines) hash.update(line);
    digest[table] = `${rows.length}:${hash.digest('hex').slice(0, 16)}`;
  }
  return digest;
}

/** Bytes that are barely HTTP or not at all, on a raw socket: the answer (if any) must not be 5xx. */
const RAW_REQUESTS = [
  'GARBAGE\r\n\r\n',
  'GET / HTTP/9.9\r\n\r\n',
  'GET /' + 'a'.repeat(70_000) + ' HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'a'.repeat(70_000) + '\r\n\r\n',
  'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n',
  'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\nabc',
  'POST /api/stripe/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\nContent-Type: application/json\r\n\r\n{"a":',
  'POST /api/checkout HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n',
  'GET /\u0000 HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /courses/%ZZ/%ZZ/ HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\n\r\n',
  'GET * HTTP/1.1\r\nHost: x\r\n\r\n',
  'CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nCookie: session=' + 'a'.repeat(20_000) + '\r\n\r\n',
  'GET / HTTP/1.1\r\n' + 'X: y\r\n'.repeat(3000) + '\r\n',
];

function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(3000, () => socket.destroy());
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => resolve(answer));
    // A body that never arrives ends with the client giving up: half-close after sending.
    socket.end(bytes);
  });
}

test(`${REQUESTS} hostile requests to ${ENDPOINTS.length} endpoints and ${RAW_REQUESTS.length} raw ones: no 5xx, no crash, no change to the store`, {
  timeout: 120_000,
}, async () => {
  const before = await storeDigest();
  const random = generator(SEED);
  const origin = new URL(site.siteUrl).origin;
  const statuses: Record<string, number> = {};
  const serverErrors: string[] = [];
  let index = 0;
  const worker = async () => {
    while (index < REQUESTS) {
      index += 1;
      const request = fuzzRequest(random, origin);
      const url = `${site.server.url}${request.path}${request.raw ? `?${request.raw}` : ''}`;
      let status: number | string;
      try {
        const response = await fetch(url, { method: request.method, headers: request.headers, body: request.body as BodyInit | undefined, redirect: 'manual' });
        await response.arrayBuffer().catch(() => {});
        status = response.status;
        if (status >= 500)
          serverErrors.push(
            `${request.method} ${request.path.slice(0, 120)}?${request.raw.slice(0, 80)} -> ${status} (request ${response.headers.get('x-request-id')})`,
          );
      } catch (error) {
        // The client itself refused to send it (a header value fetch does not allow), or the
        // server closed the connection on a body over its limit: no answer is not a 5xx.
        status = (error as Error).name;
      }
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  for (const bytes of RAW_REQUESTS) {
    const answer = await rawExchange(site.server.port, bytes);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 'closed';
    statuses[`raw ${status}`] = (statuses[`raw ${status}`] ?? 0) + 1;
    if (Number(status) >= 500) serverErrors.push(`raw ${JSON.stringify(bytes.slice(0, 60))} -> ${status}`);
  }
  console.log(`fuzz seed ${SEED} (replay: FUZZ_SEED=${SEED}): ${JSON.stringify(statuses)}`);

  expect(serverErrors).toEqual([]);
  // Still up, and the same process: nothing crashed it.
  expect(site.server.exited()).toBeNull();
  expect((await fetch(`${site.server.url}/healthz`)).status).toBe(200);
  expect(site.server.logs()).not.toMatch(/"level":"error"/);
  expect(await storeDigest()).toEqual(before);
});

/** What a body-shape scenario does on its socket; `reset` ends it with a TCP reset instead of waiting for the answer. */
type Shape = { name: string; head: Record<string, string>; parts: (string | Buffer)[]; pauseMs: number; reset: boolean };

const POST_ENDPOINTS = ENDPOINTS.filter((endpoint) => endpoint.path.startsWith('/api/') || endpoint.path.startsWith('/admin/members/'));

function bodyShape(random: ReturnType<typeof generator>, origin: string): { path: string; shape: Shape } {
  const endpoint = random.pick(POST_ENDPOINTS);
  const fields = new URLSearchParams(endpoint.fields.map((field) => [field, random.pick(HOSTILE_STRINGS).slice(0, 200)])).toString();
  const base: Record<string, string> = { Host: '127.0.0.1', Origin: origin, 'Content-Type': random.pick(CONTENT_TYPES.slice(0, 4)) };
  const chunk = (text: string | Buffer) => [`${Buffer.byteLength(text).toString(16)}\r\n`, text, '\r\n'];
  const big = Buffer.alloc(64 * 1024, 'b');
  switch (random.int(6)) {
    case 0: // chunked, in pieces of any size, ending properly or not at all
      return {
        path: endpoint.path,
        shape: {
          name: 'chunked',
          head: { ...base, 'Transfer-Encoding': 'chunked' },
          parts: [...[...fields].flatMap((_, i, all) => (i % 7 === 0 ? chunk(all.slice(i, i + 7).join('')) : [])), ...(random.int(2) ? ['0\r\n\r\n'] : [])],
          pauseMs: 0,
          reset: false,
        },
      };
    case 1: // oversized chunked: past every limit, with no length to refuse up front
      return {
        path: endpoint.path,
        shape: {
          name: 'chunked-oversized',
          head: { ...base, 'Transfer-Encoding': 'chunked' },
          parts: [...Array.from({ length: 24 }, () => chunk(big)).flat(), '0\r\n\r\n'],
          pauseMs: 0,
          reset: false,
        },
      };
    case 2: // oversized with a true Content-Length
      return {
        path: endpoint.path,
        shape: {
          name: 'length-oversized',
          head: { ...base, 'Content-Length': String(24 * big.length) },
          parts: Array.from({ length: 24 }, () => big),
          pauseMs: 0,
          reset: false,
        },
      };
    case 3: // slow: a few bytes at a time for about two seconds
      return {
        path: endpoint.path,
        shape: {
          name: 'slow',
          head: { ...base, 'Content-Length': String(fields.length) },
          parts: fields.match(/[\s\S]{1,8}/g) ?? [''],
          pauseMs: Math.ceil(2000 / Math.max(1, Math.ceil(fields.length / 8))),
          reset: false,
        },
      };
    case 4: // reset halfway through the body
      return {
        path: endpoint.path,
        shape: {
          name: 'reset',
          head: { ...base, ...(random.int(2) ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': '100000' }) },
          parts: random.int(2) ? chunk(big) : [fields],
          pauseMs: 50,
          reset: true,
        },
      };
    default: {
      // framing and headers that proxies and parsers disagree about
      const odd = random.pick<Record<string, string>>([
        { 'Transfer-Encoding': 'chunked', 'Content-Length': String(fields.length) },
        { 'Transfer-Encoding': 'gzip, chunked' },
        { 'Transfer-Encoding': 'identity' },
        { 'Content-Length': '-1' },
        { 'Content-Length': '1e3' },
        { 'Content-Length': String(fields.length), 'Content-Encoding': 'gzip' },
        { 'Content-Length': String(fields.length), Expect: '100-continue' },
        { 'Content-Length': String(fields.length), Expect: 'something-else' },
        { 'Content-Length': String(fields.length), Connection: 'Upgrade', Upgrade: 'websocket' },
        { 'Content-Length': String(fields.length), 'Content-Type': 'multipart/form-data; boundary=' },
        { 'Content-Length': String(fields.length), 'X-Forwarded-For': '1.2.3.4, ::1, ' + 'f'.repeat(300), 'X-Forwarded-Proto': 'gopher' },
        { 'Content-Length': String(fields.length), Cookie: 'session=' + 'x'.repeat(8000) },
      ]);
      return { path: endpoint.path, shape: { name: 'odd-headers', head: { ...base, ...odd }, parts: [fields], pauseMs: 0, reset: false } };
    }
  }
}

/** Plays a shape on a raw socket; gives the status line's code, or what happened instead. */
function play(port: number, path: string, shape: Shape): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? (shape.reset ? 'reset' : 'closed'));
    };
    socket.setTimeout(8000, finish);
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', finish);
    socket.once('connect', async () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\n${Object.entries(shape.head)
          .map(([name, value]) => `${name}: ${value}\r\n`)
          .join('')}\r\n`,
      );
      for (const part of shape.parts) {
        if (done || socket.destroyed) return;
        if (!socket.write(part))
          await new Promise((resolve) => {
            socket.once('drain', resolve);
            socket.once('close', resolve);
          });
        if (shape.pauseMs) await new Promise((resolve) => setTimeout(resolve, shape.pauseMs));
      }
      if (shape.reset && !done) {
        done = true;
        socket.resetAndDestroy();
        resolve('reset');
      }
    });
  });
}

test('bodies shaped to hurt (chunked, slow, oversized, reset halfway, odd framing headers) to every form and API endpoint: no 5xx, the process never ends, the store unchanged', {
  timeout: 180_000,
}, async () => {
  const before = await storeDigest();
  const random = generator(SEED + 1);
  const origin = new URL(site.siteUrl).origin;
  const outcomes: Record<string, number> = {};
  const serverErrors: string[] = [];
  let index = 0;
  const SHAPES = 160;
  const worker = async () => {
    while (index < SHAPES) {
      index += 1;
      const { path, shape } = bodyShape(random, origin);
      const status = await play(site.server.port, path, shape);
      outcomes[`${shape.name} ${status}`] = (outcomes[`${shape.name} ${status}`] ?? 0) + 1;
      if (Number(status) >= 500) serverErrors.push(`${shape.name} ${path} -> ${status}`);
      // Checked after every shape, so that the one that ended the process is named.
      if (site.server.exited()) serverErrors.push(`the server process ended (${site.server.exited()}) after ${shape.name} to ${path}`);
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  console.log(`fuzz seed ${SEED} (replay: FUZZ_SEED=${SEED}), body shapes: ${JSON.stringify(outcomes)}`);
  expect(serverErrors).toEqual([]);
  expect(site.server.exited()).toBeNull();
  expect((await fetch(`${site.server.url}/healthz`)).status).toBe(200);
  expect(site.server.logs()).not.toMatch(/"level":"error"/);
  expect(await storeDigest()).toEqual(before);
});
