// `npm run bench`: measures the lesson gate under load, beside baselines measured in the same run.
//
// 1. Generates a corpus (20 courses x 25 lessons, the first of each free), builds it with
//    `astro build`, and loads the private bundle into a fresh store with `npm run content:sync`:
//    the real build and the real sync, as a deploy does.
// 2. Creates a member who owns every course (the author's manual grant) and has completed a few
//    lessons of the measured course, and opens a session for them (its row and its token).
// 3. Starts the built server (`src/node/server.ts`, NODE_ENV=production with stand-in secrets that
//    nothing here calls) and two baselines, each a bare `node:http` server in its own process that
//    verifies the same JWT, makes the gate's one query for the same lesson and sends the stored
//    page, nothing else: the baseline proper uses the same shortcuts as the gate on Node (a
//    prepared statement on Node's SQLite, verified tokens remembered); the plain one uses the
//    libSQL client and checks the HMAC on every request.
// 4. Loads each with autocannon (32 connections, 10 s after a 2 s warm-up) and prints a table:
//    requests/s, p50, p99, the server process's peak RSS, and the ratio to the baseline.
//
// Options: --duration S, --connections N, --workers N (also measure the site as N processes,
// WEB_CONCURRENCY=N), --rounds N (measure every target N times in turn and
// report medians), --reuse (keep the corpus, build and store of the last run under data/.bench/). Not a test: nothing is asserted, the table is the result. Other work on
// the machine shows in the tail latencies; the table's header gives the load average before the runs.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DatabaseSync } from 'node:sqlite';
import { importJWK, jwtVerify, type JWTPayload } from 'jose';
// The rest is imported where it is used, so that a baseline process loads only what it needs.

const ROOT = resolve(import.meta.dirname, '..');
// A dot folder: type checking and other tools skip it (`data/` is not committed).
const WORK = join(ROOT, 'data/.bench');
const CORPUS = join(WORK, 'corpus');
const DIST = join(WORK, 'dist');
const DATABASE_URL = `file:${join(WORK, 'store.db')}`;
const SESSION_SECRET = 'bench-only-secret-3f9a1c7e5b2d8f4a6c0e9b7d5f3a1c8e2b4d6f';
const COURSES = 20;
const LESSONS = 25;
const COURSE = 'course-010';
const LESSON = 'lesson-12';
const LESSON_PATH = `/courses/${COURSE}/${LESSON}/`;

const { values } = parseArgs({
  options: {
    baseline: { type: 'string' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '1' },
    reuse: { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
  },
});

/** The gate's own lesson query, compiled once with named parameters (handed to the baselines). */
async function compiledLessonQuery(): Promise<string> {
  const { sql } = await import('drizzle-orm');
  const { SQLiteAsyncDialect } = await import('drizzle-orm/sqlite-core');
  const { lessonQuery } = await import('../src/server/access/lesson-gate.ts');
  const query = new SQLiteAsyncDialect().sqlToQuery(lessonQuery(sql.raw(':user'), sql.raw(':sid'), sql.raw(':course'), sql.raw(':lesson'), sql.raw(':known')));
  if (query.params.length > 0) throw new Error('the lesson query must have named parameters only');
  return query.sql;
}

/**
 * The baselines: the least a correct lesson handler does, on bare `node:http`: verify the token,
 * make the gate's one query, send the stored page (no index, no member state, no ETag).
 * `prepared` reads with the same shortcuts as the gate on Node (a prepared statement on Node's
 * SQLite, tokens verified once and remembered); `client` is the plain way (the libSQL client,
 * an HMAC check per request). Runs as `bench.ts --baseline prepared|client`.
 */
async function runBaseline(mode: string) {
  const query = process.env.LESSON_QUERY!;
  let read: (args: Record<string, string | number>) => Promise<Record<string, unknown> | undefined>;
  if (mode === 'prepared') {
    const statement = new DatabaseSync(process.env.DATABASE_URL!.slice('file:'.length)).prepare(query);
    read = async (args) => statement.get(args) as Record<string, unknown> | undefined;
  } else {
    const { createClient } = await import('@libsql/client');
    const client = createClient({ url: process.env.DATABASE_URL! });
    read = async (args) => (await client.execute({ sql: query, args })).rows[0];
  }
  const key = await importJWK({ kty: 'oct', k: Buffer.from(process.env.SESSION_SECRET!).toString('base64url') }, 'HS256');
  const remembered = new Map<string, JWTPayload>();
  const verify = async (token: string): Promise<JWTPayload | null> => {
    const known = mode === 'prepared' ? remembered.get(token) : undefined;
    if (known && (known.exp ?? 0) * 1000 > Date.now()) return known;
    const payload = await jwtVerify(token, key, { algorithms: ['HS256'] }).then(
      (result) => result.payload,
      () => null,
    );
    if (payload && mode === 'prepared') remembered.set(token, payload);
    return payload;
  };
  const server = createServer(async (req, res) => {
    try {
      const [, courses, course, lesson] = (req.url ?? '').split('/');
      const token = /(?:^|;\s*)__Host-session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
      const payload = token ? await verify(token) : null;
      if (courses !== 'courses' || !course || !lesson || !payload) {
        res.writeHead(303, { Location: '/login' }).end();
        return;
      }
      const row = await read({ user: Number(payload.sub), sid: String(payload.sid), course, lesson, known: '' });
      if (!row || row.sv !== payload.sv || !(Number(row.sx) > Date.now()) || !row.entitled || typeof row.html !== 'string') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'private, no-cache', 'Content-Length': Buffer.byteLength(row.html) });
      res.end(row.html);
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
  server.listen(Number(process.env.PORT), '127.0.0.1');
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ASTRO_TELEMETRY_DISABLED: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => (code === 0 ? done(output) : fail(new Error(`${args.join(' ')} exited with ${code}:\n${output}`))));
  });
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createNetServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

type Started = { url: string; pid: number; stop(): Promise<void>; logs(): string };

async function startProcess(args: string[], env: Record<string, string>, port: number): Promise<Started> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited:\n${output}`);
    try {
      await fetch(`${url}/robots.txt`, { redirect: 'manual' });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${args.join(' ')} did not answer:\n${output}`);
      await new Promise((done) => setTimeout(done, 100));
    }
  }
  return {
    url,
    pid: child.pid!,
    logs: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Resident memory of a process and its children (a cluster's workers) in MB, from /proc (Linux). */
function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const own = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return own + children.reduce((sum, child) => sum + (existsSync(`/proc/${child}`) ? rssMb(Number(child)) : 0), 0);
}

type Autocannon = (options: Record<string, unknown>) => Promise<{
  requests: { average: number };
  latency: { p50: number; p99: number };
  statusCodeStats: Record<string, { count: number }>;
  errors: number;
  timeouts: number;
}>;

type Row = { name: string; rps: number; p50: number; p99: number; rss: number; codes: Record<string, number>; errors: number };

async function load(name: string, target: Started, path: string, headers: Record<string, string>, expect: number): Promise<Row> {
  const check = await fetch(`${target.url}${path}`, { headers, redirect: 'manual' });
  if (check.status !== expect) throw new Error(`${name}: expected ${expect}, got ${check.status}\n${await check.text()}`);
  const specifier = 'autocannon';
  const autocannon = ((await import(specifier)) as { default: Autocannon }).default;
  const connections = Number(values.connections);
  await autocannon({ url: `${target.url}${path}`, headers, connections, duration: 2 });
  let peak = rssMb(target.pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(target.pid))), 100);
  const result = await autocannon({ url: `${target.url}${path}`, headers, connections, duration: Number(values.duration) });
  clearInterval(sampler);
  peak = Math.max(peak, rssMb(target.pid));
  const codes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]));
  return { name, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, rss: peak, codes, errors: result.errors + result.timeouts };
}

async function prepare(): Promise<{ cookie: string; pageBytes: { min: number; max: number; measured: number } }> {
  if (!values.reuse || !existsSync(join(DIST, 'private/manifest.json'))) {
    rmSync(WORK, { recursive: true, force: true });
    console.log(`Generating ${COURSES} courses x ${LESSONS} lessons and building them…`);
    await run(process.execPath, [
      'scripts/generate-corpus.ts',
      '--courses',
      String(COURSES),
      '--lessons',
      String(LESSONS),
      '--lesson-kb',
      '0.5',
      '--out',
      CORPUS,
    ]);
    const started = performance.now();
    await run(process.execPath, ['node_modules/astro/bin/astro.mjs', 'build', '--outDir', DIST], { COURSES_DIR: CORPUS });
    console.log(`  built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    await run(process.execPath, ['scripts/migrate.ts'], { DATABASE_URL });
    console.log((await run(process.execPath, ['scripts/content-sync.ts', '--bundle', join(DIST, 'private')], { DATABASE_URL })).trim());
  } else {
    // A reused store may predate a migration added since.
    await run(process.execPath, ['scripts/migrate.ts'], { DATABASE_URL });
  }
  const { openStore } = await import('../src/node/store.ts');
  const { grantAccess } = await import('../src/server/access/ledger.ts');
  const { createSessionToken, sessionCookieName } = await import('../src/server/auth/session.ts');
  const { parseConfig } = await import('../src/server/config.ts');
  const store = await openStore(DATABASE_URL);
  try {
    const now = Date.now();
    await store.client.execute({
      sql: `INSERT INTO users (email, session_version, created_at, updated_at) VALUES ('bench@example.com', 1, ?, ?) ON CONFLICT (email) DO NOTHING`,
      args: [now, now],
    });
    const user = (await store.client.execute(`SELECT id FROM users WHERE email = 'bench@example.com'`)).rows[0]!;
    const userId = Number(user.id);
    const owned = await store.client.execute({ sql: 'SELECT count(*) AS n FROM purchases WHERE user_id = ?', args: [userId] });
    if (Number(owned.rows[0]!.n) === 0) {
      for (const { slug } of (await store.client.execute('SELECT slug FROM courses')).rows) {
        await grantAccess(store.db, { userId, courseSlug: String(slug), reason: 'bench', now });
      }
      for (const lesson of ['lesson-1', 'lesson-2', 'lesson-3', 'lesson-5', 'lesson-8']) {
        await store.client.execute({ sql: 'INSERT INTO lesson_progress VALUES (?, ?, ?, ?)', args: [userId, COURSE, lesson, now] });
      }
    }
    const sizes = (await store.client.execute('SELECT min(length(html)) AS min, max(length(html)) AS max FROM lessons WHERE html IS NOT NULL')).rows[0]!;
    const measured = (await store.client.execute({ sql: 'SELECT length(html) AS n FROM lessons WHERE course_slug = ? AND slug = ?', args: [COURSE, LESSON] }))
      .rows[0]!;
    const config = parseConfig({ SESSION_SECRET, SITE_URL: 'https://courses.bench' });
    // A session row, as sign-in makes one: the gate's query checks it on every request.
    const sessionId = `bench-session-${now}`;
    const endsAtMs = now + 24 * 60 * 60 * 1000;
    await store.client.execute({
      sql: 'INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)',
      args: [sessionId, userId, now, endsAtMs],
    });
    const token = await createSessionToken({ userId, sessionVersion: 1, sessionId, endsAtMs }, config, now);
    return { cookie: `${sessionCookieName(config)}=${token}`, pageBytes: { min: Number(sizes.min), max: Number(sizes.max), measured: Number(measured.n) } };
  } finally {
    store.close();
  }
}

async function main() {
  const { cookie, pageBytes } = await prepare();
  // Other work on the machine shows in the tail latencies: the 1-minute load before the runs says how quiet it was.
  const quiet = loadavg()[0]!;
  const env = {
    NODE_ENV: 'production',
    SITE_URL: 'https://courses.bench',
    SESSION_SECRET,
    DATABASE_URL,
    DIST_DIR: DIST,
    // Production settings require these; nothing in the measured requests mails or calls Stripe.
    SMTP_URL: 'smtp://127.0.0.1:9',
    MAIL_FROM: 'Courses <courses@courses.bench>',
    STRIPE_SECRET_KEY: 'sk_test_bench_never_called',
    STRIPE_WEBHOOK_SECRET: 'whsec_bench_never_called',
    STRIPE_ALLOW_TEST_MODE: 'true',
    LOG_LEVEL: 'warn',
  };
  const site = await startProcess(['src/node/server.ts'], env, await freePort());
  // --workers N: the same site as N processes on one port (WEB_CONCURRENCY), beside the single one.
  const workers = Number(values.workers);
  const cluster = workers > 1 ? await startProcess(['src/node/server.ts'], { ...env, WEB_CONCURRENCY: String(workers) }, await freePort()) : null;
  // The first worker answers before the others listen; give them the time they take to start.
  if (cluster) await new Promise((done) => setTimeout(done, 5000));
  const LESSON_QUERY = await compiledLessonQuery();
  const baseline = await startProcess(['scripts/bench.ts', '--baseline', 'prepared'], { DATABASE_URL, SESSION_SECRET, LESSON_QUERY }, await freePort());
  const naive = await startProcess(['scripts/bench.ts', '--baseline', 'client'], { DATABASE_URL, SESSION_SECRET, LESSON_QUERY }, await freePort());
  const targets: [string, Started, string, Record<string, string>, number][] = [
    ['**baseline**: bare node:http, prepared statement, token remembered', baseline, LESSON_PATH, { cookie }, 200],
    ['bare node:http, libSQL client, HMAC per request', naive, LESSON_PATH, { cookie }, 200],
    ['**entitled lesson** (gate)', site, LESSON_PATH, { cookie }, 200],
    ['anonymous offer page (gate)', site, LESSON_PATH, {}, 403],
    ['catalogue page `/` (Astro, static)', site, '/', {}, 200],
    ...(cluster
      ? ([
          [`**entitled lesson** (gate), ${workers} processes`, cluster, LESSON_PATH, { cookie }, 200],
          [`catalogue page \`/\`, ${workers} processes`, cluster, '/', {}, 200],
        ] as typeof targets)
      : []),
  ];
  // With --rounds N the targets are measured in turn N times, and each cell is the median of its
  // N runs (peak RSS: the highest), so that a burst of other work on the machine skews one run only.
  const runs: Row[][] = targets.map(() => []);
  const rows: Row[] = [];
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const [i, [name, target, path, headers, status]] of targets.entries()) runs[i]!.push(await load(name, target, path, headers, status));
    }
    const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor((list.length - 1) / 2)]!;
    for (const list of runs) {
      rows.push({
        name: list[0]!.name,
        rps: median(list.map((row) => row.rps)),
        p50: median(list.map((row) => row.p50)),
        p99: median(list.map((row) => row.p99)),
        rss: Math.max(...list.map((row) => row.rss)),
        codes: list.reduce<Record<string, number>>((sum, row) => {
          for (const [code, count] of Object.entries(row.codes)) sum[code] = (sum[code] ?? 0) + count;
          return sum;
        }, {}),
        errors: list.reduce((sum, row) => sum + row.errors, 0),
      });
    }
  } finally {
    await site.stop();
    await cluster?.stop();
    await baseline.stop();
    await naive.stop();
  }
  const base = rows[0]!.rps;
  const fixed = (value: number, digits = 0) => value.toFixed(digits);
  console.log(
    `\n${new Date().toISOString().slice(0, 10)} · ${cpus().length} cores (${cpus()[0]?.model.trim()}) · ${Math.round(totalmem() / 2 ** 30)} GiB · Node ${process.versions.node}` +
      ` · ${values.connections} connections, ${values.duration} s each after a 2 s warm-up` +
      (Number(values.rounds) > 1 ? `, ${values.rounds} rounds (medians)` : '') +
      ` · load average before the runs ${quiet.toFixed(2)}` +
      `\nPaid pages ${(pageBytes.min / 1024).toFixed(1)}–${(pageBytes.max / 1024).toFixed(1)} KB (the measured one ${(pageBytes.measured / 1024).toFixed(1)} KB)\n`,
  );
  console.log('| request | requests/s | p50 (ms) | p99 (ms) | peak RSS (MB) | vs baseline | responses |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of rows) {
    const errors = row.errors ? `, ${row.errors} errors` : '';
    console.log(
      `| ${row.name} | ${fixed(row.rps)} | ${row.p50} | ${row.p99} | ${fixed(row.rss)} | ${fixed((row.rps / base) * 100)}% | ${Object.entries(row.codes)
        .map(([code, count]) => `${code}×${count}`)
        .join(' ')}${errors} |`,
    );
  }
}

if (values.baseline) await runBaseline(values.baseline);
else await main();
