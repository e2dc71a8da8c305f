// `npm run admin`, run as the operator runs it (a child process on a real store file loaded by
// the real content sync): usage errors, admin accounts that sign in on the built server, grants
// and revocations in the ledger and the audit log, the purchases CSV, a backup taken while a
// writer writes, a snapshot round trip, and an import from a Django dump.
import { runScript, spawn, type ScriptRun } from './support/processes.ts';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createClient } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hasAccess, owns } from '../src/server/access/ledger.ts';
import { findDjangoModels, planDjangoImport, readDjangoDump } from '../src/server/transfer/django-import.ts';
import { grantCourse } from '../src/server/admin/commands.ts';
import { parseSnapshot } from '../src/server/transfer/snapshot.ts';
import { LATEST_MIGRATION } from '../src/server/db/migrations.ts';
import { hashPassword, verifyPassword } from '../src/server/auth/password-hasher.ts';
import { openStore } from '../src/node/store.ts';
import { accountsEnv, TEST_SITE_URL } from './support/accounts-env.ts';
import { ROOT } from './support/build.ts';
import { startServer } from './support/server.ts';
import { createTestStore, syncStore, type TestStore } from './support/store.ts';
import { requireTool } from './support/tools.ts';
import { createVisitor } from './support/visitor.ts';

const dist = inject('dist');
const COURSE = 'python-fundamentals';
const LESSON_PATH = `/courses/${COURSE}/comprehensions/`;
const ADMIN_PASSWORD = 'a long admin passphrase';
/** The password behind ada's Django hash in tests/fixtures/django-dumpdata.json (PBKDF2, 260,000 iterations). */
const DJANGO_PASSWORD = 'analytical engine 1843';
const DJANGO_DUMP = join(ROOT, 'tests/fixtures/django-dumpdata.json');

const stores: TestStore[] = [];
let main: TestStore;

async function store(options: { sync?: boolean; migrate?: boolean } = {}): Promise<TestStore> {
  const s = await createTestStore({ migrate: options.migrate });
  stores.push(s);
  if (options.sync) await syncStore(dist, s.url);
  return s;
}

beforeAll(async () => {
  main = await store({ sync: true });
});
afterAll(() => {
  for (const s of stores) s.remove();
});

type Run = ScriptRun;

/** Runs `npm run admin -- ...args` against a store, with standard input closed after `input`. */
function admin(args: string[], options: { url?: string; input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return runScript('scripts/admin.ts', args, {
    input: options.input,
    env: { DATABASE_URL: options.url ?? main.url, SITE_URL: TEST_SITE_URL, PASSWORD_ITERATIONS: '2000', ...options.env },
  });
}

async function rows<T = Record<string, unknown>>(s: TestStore, sql: string, args: (string | number | null)[] = []): Promise<T[]> {
  return (await s.client.execute({ sql, args })).rows as unknown as T[];
}

async function userOf(s: TestStore, email: string) {
  const [row] = await rows<{ id: number; role: string; password_hash: string | null; session_version: number }>(s, 'SELECT * FROM users WHERE email = ?', [
    email,
  ]);
  return row;
}

/** Every row of the tables people's data lives in, to compare before and after. */
async function peopleTables(s: TestStore): Promise<string> {
  const dump: Record<string, unknown[]> = {};
  for (const table of ['users', 'purchases', 'access_ledger', 'audit_log', 'lesson_progress', 'course_waitlist'])
    dump[table] = await rows(s, `SELECT * FROM ${table} ORDER BY 1`);
  return JSON.stringify(dump);
}

/** RFC 4180, enough to read back what the CLI wrote. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') record.push(field), (field = '');
    else if (char === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      (record = []), (field = ''), i++;
    } else field += char;
  }
  return records;
}

describe('usage', () => {
  it('answers bad arguments with the usage and exit code 2, and help with 0', async () => {
    const [none, unknown, missing, extra, noReason, badOption, badEmail, noPassword, help] = await Promise.all([
      admin([]),
      admin(['frobnicate']),
      admin(['grant', 'ada@example.com']),
      admin(['users', 'everyone']),
      admin(['grant', 'ada@example.com', COURSE]),
      admin(['purchases', '--format', 'xml']),
      admin(['grant', 'not-an-email', COURSE, '--reason', 'gift']),
      admin(['create-admin', 'boss@example.com']),
      admin(['help']),
    ]);
    for (const run of [none, unknown, missing, extra, noReason, badOption, badEmail, noPassword]) {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain('Usage: npm run admin -- <command>');
    }
    expect(unknown.stderr).toContain('Unknown command "frobnicate"');
    expect(noReason.stderr).toContain('grant needs --reason');
    expect(noPassword.stderr).toContain('--password-stdin');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('import-django');
    expect(await userOf(main, 'boss@example.com')).toBeUndefined();
  });

  it('refuses an unmigrated store and a missing one with exit code 1', async () => {
    const bare = await store({ migrate: false });
    const [unmigrated, missing] = await Promise.all([
      admin(['users'], { url: bare.url }),
      admin(['users'], { url: `file:${join(ROOT, '.test-dist', 'no-such-dir', 'app.db')}` }),
    ]);
    expect(unmigrated.code).toBe(1);
    expect(unmigrated.stderr).toContain('npm run db:migrate');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('There is no store');
    expect(existsSync(join(ROOT, '.test-dist', 'no-such-dir'))).toBe(false);
  });
});

describe('accounts', () => {
  it('create-admin makes an admin from a password on standard input, checked like sign-up, never echoed into the audit', async () => {
    const weak = await admin(['create-admin', 'boss@example.com', '--password-stdin'], { input: 'password123\n' });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/at least 10 characters|most common/);
    expect(await userOf(main, 'boss@example.com')).toBeUndefined();

    const created = await admin(['create-admin', 'Boss@Example.com', '--password-stdin'], { input: `${ADMIN_PASSWORD}\n` });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('Created the admin account boss@example.com');
    const boss = await userOf(main, 'boss@example.com');
    expect(boss?.role).toBe('admin');
    expect(await verifyPassword(ADMIN_PASSWORD, boss!.password_hash!)).toBe(true);
    const audit = await rows(main, "SELECT * FROM audit_log WHERE action = 'create-admin' AND subject_user_id = ?", [boss!.id]);
    expect(audit).toEqual([expect.objectContaining({ actor_user_id: null, via: 'cli' })]);
    expect(JSON.stringify(audit)).not.toContain(ADMIN_PASSWORD);

    // Again: the password given is set again (the operator's word), and the audit says so.
    const noPassword = await admin(['create-admin', 'boss@example.com']);
    expect(noPassword.code).toBe(2);
    const again = await admin(['create-admin', 'boss@example.com'], { env: { ADMIN_PASSWORD: 'a second admin passphrase' } });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('already an admin');
    expect(await verifyPassword('a second admin passphrase', (await userOf(main, 'boss@example.com'))!.password_hash!)).toBe(true);
    expect((await rows(main, "SELECT id FROM audit_log WHERE action = 'create-admin'")).length).toBe(2);
  });

  it('create-admin promotes an existing member with the operator’s password (ADMIN_PASSWORD), ending theirs; the address counts as verified', async () => {
    const now = Date.now();
    const hash = await hashPassword('a member passphrase', { iterations: 2000 });
    await rows(main, "INSERT INTO users (email, password_hash, created_at, updated_at) VALUES ('grace@example.com', ?, ?, ?)", [hash, now, now]);
    const before = (await userOf(main, 'grace@example.com'))!;
    const promoted = await admin(['create-admin', 'grace@example.com'], { env: { ADMIN_PASSWORD: 'the operators passphrase' } });
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout).toContain('it is now an admin, with the password given');
    const grace = (await userOf(main, 'grace@example.com'))!;
    expect(grace.role).toBe('admin');
    expect(await verifyPassword('the operators passphrase', grace.password_hash!)).toBe(true);
    expect(grace.session_version).toBe(before.session_version + 1);
    expect(
      (await rows<{ email_verified_at: number | null }>(main, 'SELECT email_verified_at FROM users WHERE id = ?', [grace.id]))[0]!.email_verified_at,
    ).not.toBeNull();

    const scripted = await admin(['create-admin', 'ops@example.com'], { env: { ADMIN_PASSWORD: 'from the environment 42' } });
    expect(scripted.code, scripted.stderr).toBe(0);
    expect(await verifyPassword('from the environment 42', (await userOf(main, 'ops@example.com'))!.password_hash!)).toBe(true);
  });

  it('set-password sets a checked password and signs the member out everywhere', async () => {
    const before = (await userOf(main, 'grace@example.com'))!;
    const unknown = await admin(['set-password', 'nobody@example.com', '--password-stdin'], { input: 'whatever it is 123' });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No account has the email nobody@example.com');
    const common = await admin(['set-password', 'grace@example.com', '--password-stdin'], { input: 'qwertyuiop' });
    expect(common.code).toBe(1);
    expect((await userOf(main, 'grace@example.com'))!.password_hash).toBe(before.password_hash);

    const set = await admin(['set-password', 'grace@example.com', '--password-stdin'], { input: 'hopper compiler 1952\r\n' });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('signed out on every device');
    const after = (await userOf(main, 'grace@example.com'))!;
    expect(await verifyPassword('hopper compiler 1952', after.password_hash!)).toBe(true);
    expect(after.session_version).toBe(before.session_version + 1);
    expect(await rows(main, "SELECT via, reason FROM audit_log WHERE action = 'set-password' AND subject_user_id = ?", [after.id])).toEqual([
      { via: 'cli', reason: null },
    ]);
    expect(set.stdout).toContain('its address counts as verified');
  });
});

describe('grant and revoke', () => {
  it('grant refuses an unknown member (unless --create) and an unknown course, writing nothing', async () => {
    const before = await peopleTables(main);
    const [noUser, noCourse] = await Promise.all([
      admin(['grant', 'ada@example.com', COURSE, '--reason', 'gift']),
      admin(['grant', 'boss@example.com', 'no-such-course', '--reason', 'gift']),
    ]);
    expect(noUser.code).toBe(1);
    expect(noUser.stderr).toContain('--create');
    expect(noCourse.code).toBe(1);
    expect(noCourse.stderr).toContain('python-fundamentals, python-for-finance, running-python-scripts');
    expect(await peopleTables(main)).toBe(before);
  });

  it('grant --create gives a course through the ledger with the reason and an audit row, once', async () => {
    const granted = await admin(['grant', 'ada@example.com', COURSE, '--reason', 'gift', '--create']);
    expect(granted.code, granted.stderr).toBe(0);
    expect(granted.stdout).toContain('Created the account ada@example.com');
    expect(granted.stdout).toContain(`Granted ${COURSE}`);
    const ada = (await userOf(main, 'ada@example.com'))!;
    expect(ada).toMatchObject({ role: 'member', password_hash: null });
    expect(await hasAccess(main.db, ada.id, COURSE)).toBe(true);
    const [purchase] = await rows<{ id: number }>(main, 'SELECT * FROM purchases WHERE user_id = ?', [ada.id]);
    expect(purchase).toMatchObject({ course_slug: COURSE, source: 'grant', checkout_session_id: null });
    expect(await rows(main, 'SELECT seq, action, reason, actor_user_id FROM access_ledger WHERE purchase_id = ?', [purchase!.id])).toEqual([
      { seq: 1, action: 'grant', reason: 'gift', actor_user_id: null },
    ]);
    const audit = await rows<{ detail: string }>(main, "SELECT * FROM audit_log WHERE action = 'grant' AND subject_user_id = ?", [ada.id]);
    expect(audit).toEqual([expect.objectContaining({ via: 'cli', actor_user_id: null, course_slug: COURSE, reason: 'gift' })]);
    expect(JSON.parse(audit[0]!.detail)).toEqual({ purchaseId: purchase!.id, createdUser: true });
    // The audit command says it in words, as the web admin does.
    const log = await admin(['audit', '--email', 'ada@example.com']);
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout).toContain(`Created the account ada@example.com, without a password, and gave it ${COURSE} (grant #${purchase!.id}).`);

    const before = await peopleTables(main);
    const again = await admin(['grant', 'ada@example.com', COURSE, '--reason', 'gift']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('can already read');
    expect(await peopleTables(main)).toBe(before);
  });

  it('revoke takes away every active purchase and grant of the course, with the reason, and is idempotent', async () => {
    const ada = (await userOf(main, 'ada@example.com'))!;
    // A paid purchase of the same course, as fulfilCheckout records one.
    const now = Date.now();
    await rows(
      main,
      `INSERT INTO purchases (user_id, course_slug, source, checkout_session_id, payment_intent_id, amount_minor, currency, status, created_at, updated_at)
       VALUES (?, ?, 'stripe', 'cs_test_ada_1', 'pi_test_ada_1', 4900, 'USD', 'paid', ?, ?)`,
      [ada.id, COURSE, now, now],
    );
    const [paid] = await rows<{ id: number }>(main, "SELECT id FROM purchases WHERE checkout_session_id = 'cs_test_ada_1'");
    await rows(
      main,
      "INSERT INTO access_ledger (purchase_id, user_id, course_slug, seq, action, reason, created_at) VALUES (?, ?, ?, 1, 'grant', 'purchase', ?)",
      [paid!.id, ada.id, COURSE, now],
    );

    const noReason = await admin(['revoke', 'ada@example.com', COURSE]);
    expect(noReason.code).toBe(2);
    const revoked = await admin(['revoke', 'ada@example.com', COURSE, '--reason', 'chargeback by phone']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain('cs_test_ada_1');
    expect(revoked.stdout).toContain('not refunded');
    expect(await hasAccess(main.db, ada.id, COURSE)).toBe(false);
    const entries = await rows(
      main,
      "SELECT purchase_id, seq, reason, actor_user_id FROM access_ledger WHERE user_id = ? AND action = 'revoke' ORDER BY purchase_id",
      [ada.id],
    );
    expect(entries).toHaveLength(2);
    for (const entry of entries) expect(entry).toMatchObject({ seq: 2, reason: 'chargeback by phone', actor_user_id: null });
    expect(
      await rows(
        main,
        "SELECT count(*) AS n FROM audit_log WHERE action = 'revoke' AND via = 'cli' AND subject_user_id = ? AND reason = 'chargeback by phone'",
        [ada.id],
      ),
    ).toEqual([{ n: 2 }]);

    const before = await peopleTables(main);
    const again = await admin(['revoke', 'ada@example.com', COURSE, '--reason', 'chargeback by phone']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing written');
    expect(await peopleTables(main)).toBe(before);

    // Granting after a revocation is a new grant, not a restore of the old one. It is a grant to
    // an existing account whose address nobody has proven yet: it opens once Ada does
    // (docs/decisions/0006-email-verification.md).
    const regrant = await admin(['grant', 'ada@example.com', COURSE, '--reason', 'goodwill']);
    expect(regrant.code).toBe(0);
    expect(await owns(main.db, ada.id, COURSE)).toBe(true);
    expect(await hasAccess(main.db, ada.id, COURSE)).toBe(false);
    await rows(main, 'UPDATE users SET email_verified_at = ? WHERE id = ?', [Date.now(), ada.id]);
    expect(await hasAccess(main.db, ada.id, COURSE)).toBe(true);
  });
});

describe('grant racing itself', () => {
  it('five simultaneous grants of one course to one member write one grant and one audit row', async () => {
    const connections = await Promise.all(Array.from({ length: 5 }, () => openStore(main.url)));
    try {
      const results = await Promise.all(
        connections.map((connection) =>
          grantCourse(
            { db: connection.db, clock: { now: () => Date.now() } },
            { email: 'racer@example.com', course: 'running-python-scripts', reason: 'race', actor: { userId: null, via: 'cli' }, create: true },
          ),
        ),
      );
      expect(results.filter((result) => result.kind === 'granted')).toHaveLength(1);
      expect(results.filter((result) => result.kind === 'already-owned')).toHaveLength(4);
    } finally {
      for (const connection of connections) connection.close();
    }
    const racer = (await userOf(main, 'racer@example.com'))!;
    expect(await rows(main, 'SELECT count(*) AS n FROM purchases WHERE user_id = ?', [racer.id])).toEqual([{ n: 1 }]);
    expect(await rows(main, 'SELECT count(*) AS n FROM access_ledger WHERE user_id = ?', [racer.id])).toEqual([{ n: 1 }]);
    expect(await rows(main, 'SELECT count(*) AS n FROM audit_log WHERE subject_user_id = ?', [racer.id])).toEqual([{ n: 1 }]);
  });
});

describe('lists', () => {
  it('users lists and searches accounts', async () => {
    const [all, admins, search] = await Promise.all([admin(['users']), admin(['users', '--role', 'admin']), admin(['users', '--search', 'GRA'])]);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/boss@example\.com\s+admin\s+yes/);
    expect(all.stdout).toMatch(/ada@example\.com\s+member\s+no/);
    expect(admins.stdout).not.toContain('ada@example.com');
    expect(search.stdout).toContain('grace@example.com');
    expect(search.stdout).not.toContain('boss@example.com');
  });

  it('purchases --csv is RFC 4180 with Stripe ids, amounts in major units, status and access', async () => {
    await rows(main, 'UPDATE courses SET title = \'Python Fundamentals, "2nd" edition\' WHERE slug = ?', [COURSE]);
    const grace = (await userOf(main, 'grace@example.com'))!;
    const now = Date.now();
    await rows(
      main,
      `INSERT INTO purchases (user_id, course_slug, source, checkout_session_id, payment_intent_id, amount_minor, currency, amount_refunded_minor, status, livemode, created_at, updated_at)
       VALUES (?, 'running-python-scripts', 'stripe', 'cs_test_grace_jpy', 'pi_test_grace_jpy', 4900, 'JPY', 1000, 'partially_refunded', 1, ?, ?)`,
      [grace.id, now, now],
    );
    const csv = await admin(['purchases', '--csv']);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toContain('"Python Fundamentals, ""2nd"" edition"');
    expect(csv.stdout.endsWith('\r\n')).toBe(true);
    const [header, ...records] = parseCsv(csv.stdout);
    expect(header).toEqual([
      'purchase_id',
      'created_at',
      'email',
      'course',
      'course_title',
      'source',
      'status',
      'access',
      'amount',
      'amount_refunded',
      'currency',
      'tax',
      'net_of_tax',
      'tax_country',
      'buyer_tax_ids',
      'invoice_id',
      'checkout_session_id',
      'payment_intent_id',
      'livemode',
    ]);
    const session = header!.indexOf('checkout_session_id');
    const byId = (id: string) => Object.fromEntries(header!.map((name, i) => [name, records.find((record) => record[session] === id)![i]]));
    expect(byId('cs_test_ada_1')).toMatchObject({
      email: 'ada@example.com',
      course_title: 'Python Fundamentals, "2nd" edition',
      source: 'stripe',
      status: 'paid',
      access: 'revoked',
      amount: '49.00',
      amount_refunded: '0.00',
      currency: 'USD',
      tax: '0.00',
      net_of_tax: '49.00',
      tax_country: '',
      payment_intent_id: 'pi_test_ada_1',
      livemode: 'false',
    });
    expect(byId('cs_test_grace_jpy')).toMatchObject({
      amount: '4900',
      amount_refunded: '1000',
      currency: 'JPY',
      status: 'partially_refunded',
      access: 'none',
      livemode: 'true',
    });
    const grants = records.filter((record) => record[5] === 'grant' && record[2] === 'ada@example.com');
    expect(grants.map((record) => [record[2], record[7], record[8], record[10]])).toEqual([
      ['ada@example.com', 'revoked', '', ''],
      ['ada@example.com', 'active', '', ''],
    ]);

    const table = await admin(['purchases', '--course', 'running-python-scripts']);
    expect(table.stdout).toContain('cs_test_grace_jpy');
    expect(table.stdout).not.toContain('cs_test_ada_1');
  });
});

describe('backup', () => {
  it('copies the store consistently while a writer writes, refuses to overwrite, and is owner-only', async () => {
    const s = await store({ sync: true });
    const writer = await openStore(s.url);
    let stop = false;
    let writes = 0;
    const errors: unknown[] = [];
    // Each write puts an account and its audit row in one transaction: a consistent copy has as many of one as of the other.
    const loop = (async () => {
      while (!stop) {
        const now = Date.now();
        try {
          await writer.client.batch(
            [
              { sql: 'INSERT INTO users (email, created_at, updated_at) VALUES (?, ?, ?)', args: [`writer${writes}@example.com`, now, now] },
              { sql: "INSERT INTO audit_log (via, action, created_at) VALUES ('test', 'writer', ?)", args: [now] },
            ],
            'write',
          );
          writes++;
        } catch (error) {
          errors.push(error);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const file = join(s.url.slice('file:'.length), '..', 'backup.db');
    let result: Run;
    try {
      while (writes < 5) await new Promise((resolve) => setTimeout(resolve, 5));
      result = await admin(['backup', file], { url: s.url });
    } finally {
      stop = true;
      await loop;
      writer.close();
    }
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`to ${file}`);
    expect(result.stdout).toMatch(/\d+(\.\d)? (B|KiB|MiB)/);
    expect(errors).toEqual([]);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const copy = createClient({ url: `file:${file}` });
    try {
      expect((await copy.execute('PRAGMA integrity_check')).rows[0]![0]).toBe('ok');
      const users = Number((await copy.execute("SELECT count(*) FROM users WHERE email LIKE 'writer%'")).rows[0]![0]);
      const audits = Number((await copy.execute("SELECT count(*) FROM audit_log WHERE action = 'writer'")).rows[0]![0]);
      expect(users).toBe(audits);
      expect(users).toBeGreaterThanOrEqual(5);
      expect(users).toBeLessThanOrEqual(writes);
      expect(Number((await copy.execute('SELECT count(*) FROM courses')).rows[0]![0])).toBe(3);
    } finally {
      copy.close();
    }

    const size = statSync(file).size;
    const again = await admin(['backup', file], { url: s.url });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists already');
    expect(statSync(file).size).toBe(size);

    const remote = await admin(['backup', join(ROOT, '.test-dist', 'never.db')], { url: 'libsql://store.example.invalid' });
    expect(remote.code).toBe(1);
    expect(remote.stderr).toContain('Use its own backups');
  });
});

describe('export and import', () => {
  it('round-trips people into a fresh store; a second import adds nothing', async () => {
    // Something of every kind: progress too.
    const ada = (await userOf(main, 'ada@example.com'))!;
    await rows(main, 'INSERT INTO lesson_progress (user_id, course_slug, lesson_slug, completed_at) VALUES (?, ?, ?, ?)', [
      ada.id,
      COURSE,
      'comprehensions',
      Date.now(),
    ]);
    await rows(main, 'INSERT INTO course_waitlist (course_slug, email, created_at) VALUES (?, ?, ?)', ['next-course', 'waiting@example.com', Date.now()]);
    const file = join(main.url.slice('file:'.length), '..', 'snapshot.json');
    const exported = await admin(['export', file]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const snapshot = JSON.parse(readFileSync(file, 'utf8'));
    expect(snapshot).toMatchObject({ format: 'course-store-snapshot', version: 1, schema: LATEST_MIGRATION.tag });
    expect(snapshot.progress).toHaveLength(1);
    expect(snapshot.waitlist).toEqual([{ courseSlug: 'next-course', email: 'waiting@example.com', createdAt: expect.any(Number) }]);
    expect((await admin(['export', file])).code).toBe(1);

    const fresh = await store();
    const imported = await admin(['import', file], { url: fresh.url });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(new RegExp(`accounts\\s+${snapshot.users.length} added, 0 already here`));
    expect(imported.stdout).toMatch(new RegExp(`ledger\\s+${snapshot.ledger.length} added`));
    expect(imported.stdout).toMatch(/waitlist\s+1 added/);
    expect(imported.stdout).toContain('Courses not in this store yet (run the content sync): python-fundamentals, running-python-scripts');

    const reexported = await admin(['export', '-'], { url: fresh.url });
    expect(reexported.code, reexported.stderr).toBe(0);
    const copy = JSON.parse(reexported.stdout);
    expect({ ...copy, exportedAt: null }).toEqual({ ...snapshot, exportedAt: null });
    // Same ids, so sessions signed with the same secret keep naming the same people.
    expect((await userOf(fresh, 'ada@example.com'))!.id).toBe(ada.id);
    expect(await hasAccess(fresh.db, ada.id, COURSE)).toBe(true);

    const before = await peopleTables(fresh);
    const again = await admin(['import', file], { url: fresh.url });
    expect(again.code).toBe(0);
    for (const line of ['accounts', 'purchases', 'ledger', 'progress', 'waitlist']) expect(again.stdout).toMatch(new RegExp(`${line}\\s+0 added`));
    expect(await peopleTables(fresh)).toBe(before);
  });

  it('refuses a snapshot of a newer schema or format, and anything else, writing nothing', async () => {
    const fresh = await store();
    const base = {
      format: 'course-store-snapshot',
      version: 1,
      schema: LATEST_MIGRATION.tag,
      exportedAt: new Date().toISOString(),
      users: [{ id: 1, email: 'x@example.com', passwordHash: null, createdAt: 1, updatedAt: 1 }],
      purchases: [],
      ledger: [],
      progress: [],
    };
    const file = join(fresh.url.slice('file:'.length), '..', 'snapshot.json');
    writeFileSync(file, JSON.stringify({ ...base, schema: '0099_loyalty_points' }));
    const newer = await admin(['import', file], { url: fresh.url });
    expect(newer.code).toBe(1);
    expect(newer.stderr).toContain(`newer store schema (0099_loyalty_points) than this site knows (${LATEST_MIGRATION.tag}). Upgrade the site`);
    expect(await rows(fresh, 'SELECT count(*) AS n FROM users')).toEqual([{ n: 0 }]);

    // The same checks, without a process each.
    const cases: [unknown, RegExp][] = [
      [{ ...base, version: 2 }, /format version 2/],
      [{ hello: 'world' }, /not a course store snapshot/],
      [{ ...base, schema: 'latest' }, /names no store schema/],
      [{ ...base, users: [{ email: 'x@example.com' }] }, /damaged at users\.0/],
      [{ ...base, ledger: [{ purchase: 9, seq: 1, action: 'grant', reason: 'gift', createdAt: 1 }] }, /purchase 9, which is not in the snapshot/],
    ];
    for (const [content, message] of cases) expect(() => parseSnapshot(content)).toThrow(message);
    expect(parseSnapshot(base).users[0]).toMatchObject({ role: 'member', sessionVersion: 1 });
  });
});

describe('import-django', () => {
  it('a dry run writes nothing; --apply imports accounts with their Django hashes and enrolments as grants, once', async () => {
    const s = await store({ sync: true });
    // frank has an account here already, and owns the course of his enrolment.
    expect((await admin(['grant', 'frank@example.com', 'python-for-finance', '--reason', 'beta reader', '--create'], { url: s.url })).code).toBe(0);

    const before = await peopleTables(s);
    const dry = await admin(['import-django', DJANGO_DUMP], { url: s.url });
    expect(dry.code, dry.stderr).toBe(0);
    expect(await peopleTables(s)).toBe(before);
    expect(dry.stdout).toContain('users auth.user, courses courses.course, enrolments courses.enrollment');
    expect(dry.stdout).toContain('-> python-fundamentals (by slug)');
    expect(dry.stdout).toContain('-> python-for-finance (by title)');
    expect(dry.stdout).toContain('"Django for Beginners" (pk 3, slug django-for-beginners) -> NO COURSE HERE: 1 enrolment(s), none imported');
    expect(dry.stdout).toContain('Accounts: 4 to create, 1 exist already');
    expect(dry.stdout).toContain('skip dave@example.net: inactive in Django');
    expect(dry.stdout).toContain('Enrolments: 10 in the dump: 3 to grant, 1 already owned, 0 imported before, 1 duplicate(s), 5 skipped.');
    expect(dry.stdout).toContain('Dry run: nothing written');

    const applied = await admin(['import-django', DJANGO_DUMP, '--apply', '--map', 'scripts-in-prod=running-python-scripts'], { url: s.url });
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('Imported: 4 account(s) created, 4 course(s) granted');

    const dump = JSON.parse(readFileSync(DJANGO_DUMP, 'utf8')) as { model: string; pk: number; fields: Record<string, unknown> }[];
    const djangoAda = dump.find((item) => item.model === 'auth.user' && item.pk === 2)!;
    const ada = (await userOf(s, 'ada.lovelace@example.com'))!;
    // Wrapped in this site's hash, keyed by Django's: the old password still verifies.
    expect(ada.password_hash).toMatch(
      /^pbkdf2_sha256_django_chain\$260000\$a8Jd2KqP0sLm4NvB7xTe1W|^pbkdf2_sha256_django_chain\$260000\$Xq3VbT9kLm2Rw8YpZc4NhE\$/,
    );
    expect(ada.password_hash).not.toContain(String(djangoAda.fields.password).split('$')[3]);
    expect(await verifyPassword(DJANGO_PASSWORD, ada.password_hash!)).toBe(true);
    expect((await userOf(s, 'bob@example.org'))!.password_hash).toBeNull();
    expect((await userOf(s, 'carol@example.com'))!.password_hash).toBeNull();
    expect((await userOf(s, 'owner@oldsite.example'))!.role).toBe('member');
    expect(await userOf(s, 'dave@example.net')).toBeUndefined();
    expect(await hasAccess(s.db, ada.id, 'python-for-finance')).toBe(true);
    expect(await rows(s, 'SELECT course_slug, reason, note FROM access_ledger WHERE user_id = ? ORDER BY course_slug', [ada.id])).toEqual([
      { course_slug: 'python-for-finance', reason: 'migration', note: 'django courses.enrollment#102' },
      { course_slug: 'python-fundamentals', reason: 'migration', note: 'django courses.enrollment#101' },
    ]);
    expect(await rows(s, "SELECT count(*) AS n FROM audit_log WHERE action = 'grant' AND reason = 'migration' AND via = 'cli'")).toEqual([{ n: 4 }]);

    // Again, after an admin took one of the migrated courses away: nothing is granted twice.
    expect((await admin(['revoke', 'bob@example.org', COURSE, '--reason', 'asked to close account'], { url: s.url })).code).toBe(0);
    const settled = await peopleTables(s);
    const rerun = await admin(['import-django', DJANGO_DUMP, '--apply', '--map', 'scripts-in-prod=running-python-scripts'], { url: s.url });
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain('Imported: 0 account(s) created, 0 course(s) granted');
    expect(await peopleTables(s)).toBe(settled);
  }, 180_000);

  it('refuses what is not a Django dump', async () => {
    await expect(planDjangoImport(main.db, { users: [] })).rejects.toThrow('JSON list');
    await expect(planDjangoImport(main.db, [{ model: 'courses.course', pk: 1, fields: {} }])).rejects.toThrow('no user model');
    await expect(planDjangoImport(main.db, [{ model: 'auth.user', pk: 1, fields: {} }], { enrolmentModel: 'shop.order' })).rejects.toThrow(
      'no enrolment model shop.order',
    );
  });
});

/** The members site of tests/fixtures/django-members (regenerate.sh): a Profile with enrolled_courses. */
const MEMBERS_DUMP = join(ROOT, 'tests/fixtures/django-members/dump.json');
/** As in tests/fixtures/django-members/members/management/commands/seed_fixture.py. */
const MEMBERS = [
  { email: 'owner@oldsite.example', typed: 'Owner@OldSite.Example', password: 'owner of the old site', courses: ['python-fundamentals'] },
  {
    email: 'ada.lovelace@example.com',
    typed: 'ADA.Lovelace@example.com',
    password: 'analytical engine 1843',
    courses: ['python-fundamentals', 'python-for-finance'],
  },
  { email: 'grace@example.org', typed: 'grace@example.org', password: 'a moth in relay 70', courses: ['running-python-scripts'] },
  { email: 'linus@example.net', typed: 'Linus@Example.net', password: 'just for fun 1991', courses: [] },
];
/** A paid lesson of each store course. */
const PAID_LESSONS: Record<string, string> = {
  'python-fundamentals': '/courses/python-fundamentals/comprehensions/',
  'python-for-finance': '/courses/python-for-finance/cleaning-price-data/',
  'running-python-scripts': '/courses/running-python-scripts/virtual-environments/',
};
/** The site's titles differ from the store's for two courses: a title map, in any case. */
const TITLE_MAP = ['--map', 'python for finance=python-for-finance', '--map', 'RUNNING PYTHON IN PRODUCTION=running-python-scripts'];

describe('import-django from a members site whose profiles hold the enrolled courses', () => {
  it('the dry run lists every course with its match and enrolments, users without email by username, and map keys that match nothing', async () => {
    const s = await store({ sync: true });
    const before = await peopleTables(s);
    const dry = await admin(
      ['import-django', MEMBERS_DUMP, '--map', 'Python for finance=python-for-finance', '--map', 'Runing Python in Production=running-python-scripts'],
      { url: s.url },
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(await peopleTables(s)).toBe(before);
    expect(dry.stdout).toContain('users auth.user, courses members.course, enrolments members.profile.enrolled_courses.');
    expect(dry.stdout).toContain('"Python Fundamentals" (pk 1) -> python-fundamentals (by title): 3 enrolment(s), 2 to grant now');
    expect(dry.stdout).toContain('"Python for Finance" (pk 2) -> python-for-finance (by mapping): 1 enrolment(s), 1 to grant now');
    expect(dry.stdout).toContain('"Running Python in Production" (pk 3) -> NO COURSE HERE: 1 enrolment(s), none imported');
    expect(dry.stdout).toContain('--map "runing python in production=..." matches no Django course');
    expect(dry.stdout).toContain('nomail (pk 5): no email; 1 enrolment(s) not imported');
    expect(dry.stdout).toContain('make admins with create-admin: owner@oldsite.example');
    expect(dry.stdout).toContain('Enrolments: 5 in the dump: 3 to grant');
  }, 180_000);

  it('--apply refuses, writing nothing, when the dump holds enrolments or courses but none would be imported, unless --allow-empty', async () => {
    const s = await store({ sync: true });
    const before = await peopleTables(s);
    const nowhere = ['--map', 'Python Fundamentals=gone', '--map', 'python for finance=gone', '--map', 'running python in production=gone'];
    const dry = await admin(['import-django', MEMBERS_DUMP, ...nowhere], { url: s.url });
    expect(dry.stdout).toContain('WARNING: The dump holds 5 enrolment(s) but not one would be granted');
    expect(dry.stdout).toContain('mapped to "gone", which is not a course here');
    const refused = await admin(['import-django', MEMBERS_DUMP, '--apply', ...nowhere], { url: s.url });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Nothing written. The dump holds 5 enrolment(s) but not one would be granted');
    expect(await peopleTables(s)).toBe(before);

    // The same site dumped without its profiles: courses, but no enrolments to read.
    const dump = JSON.parse(readFileSync(MEMBERS_DUMP, 'utf8')) as { model: string }[];
    const file = join(dirname(s.url.slice('file:'.length)), 'no-profiles.json');
    writeFileSync(file, JSON.stringify(dump.filter((item) => item.model !== 'members.profile')));
    const noProfiles = await admin(['import-django', file, '--apply'], { url: s.url });
    expect(noProfiles.code).toBe(1);
    expect(noProfiles.stderr).toContain('The dump has 3 course(s) but no enrolments this importer can read');
    expect(await peopleTables(s)).toBe(before);
    const allowed = await admin(['import-django', file, '--apply', '--allow-empty'], { url: s.url });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain('Imported: 4 account(s) created, 0 course(s) granted');
  }, 180_000);

  it('imported with a title map, every member signs in over HTTP with the old password and reads exactly the courses they had; a second run changes nothing', async () => {
    const s = await store({ sync: true });
    const applied = await admin(['import-django', MEMBERS_DUMP, '--apply', ...TITLE_MAP], { url: s.url });
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('Imported: 4 account(s) created, 4 course(s) granted');
    expect((await rows<{ email: string }>(s, 'SELECT email FROM users ORDER BY email')).map((row) => row.email)).toEqual(
      MEMBERS.map((member) => member.email).sort(),
    );
    for (const member of MEMBERS) {
      const user = (await userOf(s, member.email))!;
      expect(user.role).toBe('member');
      expect(user.password_hash).toMatch(/^pbkdf2_sha256_django_chain\$260000\$/);
    }
    expect(
      await rows(s, "SELECT note FROM access_ledger WHERE user_id = (SELECT id FROM users WHERE email = 'ada.lovelace@example.com') ORDER BY note"),
    ).toEqual([{ note: 'django members.profile.enrolled_courses#2/1' }, { note: 'django members.profile.enrolled_courses#2/2' }]);
    expect(await rows(s, "SELECT count(*) AS n FROM audit_log WHERE action = 'import-django'")).toEqual([{ n: 1 }]);

    const settled = await peopleTables(s);
    const again = await admin(['import-django', MEMBERS_DUMP, '--apply', ...TITLE_MAP], { url: s.url });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('4 imported before');
    expect(again.stdout).toContain('Imported: 0 account(s) created, 0 course(s) granted');
    expect(await peopleTables(s)).toBe(settled);

    const server = await startServer({ dist, env: accountsEnv({ databaseUrl: s.url, smtpUrl: 'smtp://127.0.0.1:9' }) });
    try {
      for (const member of MEMBERS) {
        const wrong = createVisitor(server.url);
        expect((await wrong.post('/api/auth/login', { email: member.typed, password: `${member.password}!` })).headers.get('location')).toMatch(/^\/login/);
        const visitor = createVisitor(server.url);
        const login = await visitor.post('/api/auth/login', { email: member.typed, password: member.password });
        expect(login.headers.get('location'), member.email).toBe('/account');
        for (const [course, lesson] of Object.entries(PAID_LESSONS)) {
          expect((await visitor.get(lesson)).status === 200, `${member.email} reads ${course}`).toBe(member.courses.includes(course));
        }
        expect((await userOf(s, member.email))!.password_hash).toMatch(/^pbkdf2_sha256_chain\$/);
      }
    } finally {
      await server.stop();
    }
  }, 180_000);

  it('a re-run wraps the bare Django hashes an earlier import left, and the member still signs in', async () => {
    const s = await store({ sync: true });
    const dump = JSON.parse(readFileSync(MEMBERS_DUMP, 'utf8')) as { model: string; fields: Record<string, unknown> }[];
    const bare = String(dump.find((item) => item.model === 'auth.user' && item.fields.username === 'ada')!.fields.password);
    await s.client.execute({
      sql: "INSERT INTO users (email, password_hash, session_version, role, created_at, updated_at) VALUES ('ada.lovelace@example.com', ?, 1, 'member', 0, 0)",
      args: [bare],
    });
    const applied = await admin(['import-django', MEMBERS_DUMP, '--apply', ...TITLE_MAP], { url: s.url });
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('1 account(s) from an earlier import still hold a bare Django hash');
    expect(applied.stdout).toContain('1 bare Django password hash(es) of an earlier import wrapped');
    const wrapped = (await userOf(s, 'ada.lovelace@example.com'))!.password_hash!;
    expect(wrapped).toMatch(/^pbkdf2_sha256_django_chain\$/);
    expect(await verifyPassword('analytical engine 1843', wrapped)).toBe(true);
  }, 180_000);
});

/** The school site of tests/fixtures/django-school (regenerate.sh): a custom user model, Course.students, a wish list. */
const SCHOOL = join(ROOT, 'tests/fixtures/django-school');
/** Its French courses, mapped by slug to this store's. */
const SCHOOL_MAP = ['--map', 'python-basics=python-fundamentals', '--map', 'DATA-SCIENCE=python-for-finance', '--map', 'web-apps=running-python-scripts'];
/** As in tests/fixtures/django-school/school/management/commands/seed_fixture.py (sophie's password is unusable). */
const SCHOOL_MEMBERS: { email: string; password: string | null; courses: string[] }[] = [
  { email: 'marie.curie@school.example', password: 'radium and polonium 1898', courses: ['python-for-finance', 'python-fundamentals'] },
  { email: 'pierre@school.example', password: 'piezoelectric quartz 1880', courses: ['running-python-scripts'] },
  { email: 'sophie@school.example', password: null, courses: ['python-fundamentals'] },
  { email: 'teacher@school.example', password: 'chalk on the blackboard', courses: [] },
  { email: 'henri@school.example', password: 'becquerel rays uranium', courses: [] },
];

describe('import-django from a school site with a custom user model, students on the course and a wish list', () => {
  it('reads the natural-key dump: every student gets exactly their courses, the wish list gives none, the inactive user is skipped; the JSON Lines dump of the same site then changes nothing', async () => {
    const s = await store({ sync: true });
    const before = await peopleTables(s);
    const dry = await admin(['import-django', join(SCHOOL, 'dump.json'), ...SCHOOL_MAP], { url: s.url });
    expect(dry.code, dry.stderr).toBe(0);
    expect(await peopleTables(s)).toBe(before);
    expect(dry.stdout).toContain('Django models: users accounts.user, courses school.course, enrolments school.course.students.');
    expect(dry.stdout).toContain('Not read as enrolments: school.wishlist');
    expect(dry.stdout).toContain('"Python : les bases" (slug python-basics) -> python-fundamentals (by mapping): 3 enrolment(s), 2 to grant now');
    expect(dry.stdout).toContain('"Science des données" (slug data-science) -> python-for-finance (by mapping): 1 enrolment(s), 1 to grant now');
    expect(dry.stdout).toContain('skip old@school.example: inactive in Django; 1 enrolment(s) not imported');
    expect(dry.stdout).toContain('Enrolments: 5 in the dump: 4 to grant');
    // The tests' cheap PASSWORD_ITERATIONS is below Django's: the dry run says what to set; at the default it has nothing to say.
    expect(dry.stdout).toContain('Set PASSWORD_ITERATIONS=260000 or more');
    const atDefault = await admin(['import-django', join(SCHOOL, 'dump.json'), ...SCHOOL_MAP], { url: s.url, env: { PASSWORD_ITERATIONS: '600000' } });
    expect(atDefault.stdout).not.toContain('PASSWORD_ITERATIONS');

    const applied = await admin(['import-django', join(SCHOOL, 'dump.json'), '--apply', ...SCHOOL_MAP], { url: s.url });
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('Imported: 5 account(s) created, 4 course(s) granted');
    expect((await rows<{ email: string }>(s, 'SELECT email FROM users ORDER BY email')).map((row) => row.email)).toEqual(
      SCHOOL_MEMBERS.map((member) => member.email).sort(),
    );
    for (const member of SCHOOL_MEMBERS) {
      const user = (await userOf(s, member.email))!;
      expect(user.role, member.email).toBe('member');
      const courses = await rows<{ course_slug: string }>(
        s,
        "SELECT course_slug FROM access_ledger WHERE user_id = ? AND action = 'grant' AND reason = 'migration' ORDER BY course_slug",
        [user.id],
      );
      expect(
        courses.map((row) => row.course_slug),
        member.email,
      ).toEqual(member.courses);
      for (const course of member.courses) expect(await hasAccess(s.db, user.id, course), `${member.email} reads ${course}`).toBe(true);
      if (member.password === null) expect(user.password_hash).toBeNull();
      else {
        expect(user.password_hash).toMatch(/^pbkdf2_sha256_django_chain\$260000\$/);
        expect(await verifyPassword(member.password, user.password_hash!)).toBe(true);
        expect(await verifyPassword(`${member.password}!`, user.password_hash!)).toBe(false);
      }
    }

    // The same site dumped by pk, in JSON Lines: the same members and courses, so nothing new.
    const settled = await peopleTables(s);
    const again = await admin(['import-django', join(SCHOOL, 'dump.jsonl'), '--apply', ...SCHOOL_MAP], { url: s.url });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Enrolments: 5 in the dump: 0 to grant, 4 already owned');
    expect(again.stdout).toContain('Imported: 0 account(s) created, 0 course(s) granted');
    expect(await peopleTables(s)).toBe(settled);
  }, 180_000);

  it('reads a dump as Windows writes it (UTF-16 from PowerShell, or the code page of a redirected Python) and gzipped; refuses XML, YAML and other compressions with what to do', async () => {
    const s = await store({ sync: true });
    const utf8 = readFileSync(MEMBERS_DUMP);
    const expected = await planDjangoImport(s.db, readDjangoDump(utf8), { courseMap: { 'python for finance': 'python-for-finance' } });
    expect(expected.enrolments.filter((enrolment) => enrolment.action === 'grant')).toHaveLength(3);
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(utf8.toString('utf8'), 'utf16le')]);
    expect(await planDjangoImport(s.db, readDjangoDump(utf16), { courseMap: { 'python for finance': 'python-for-finance' } })).toEqual(expected);

    const french = readFileSync(join(SCHOOL, 'dump.jsonl'), 'utf8');
    const cp1252 = Buffer.from(french.replace(/é/g, '\u00e9'), 'latin1');
    const titles = (dump: unknown) =>
      findDjangoModels(dump)
        .objects.filter((item) => item.model === 'school.course')
        .map((item) => item.fields.title);
    expect(titles(readDjangoDump(cp1252))).toEqual(titles(readDjangoDump(Buffer.from(french))));
    expect(titles(readDjangoDump(cp1252))).toContain('Science des données');

    expect(() => readDjangoDump(Buffer.from('<?xml version="1.0" encoding="utf-8"?>\n<django-objects version="1.0"></django-objects>'))).toThrow(
      'This dump is XML',
    );
    expect(() => readDjangoDump(Buffer.from('- model: auth.user\n  pk: 1\n'))).toThrow('This dump is YAML');
    expect(() => readDjangoDump(Buffer.from('{"model": "auth.user", "pk": 1, "fields": {}}\n{"model": \n'))).toThrow('Line 2 of this JSON Lines dump');
    const xml = join(dirname(s.url.slice('file:'.length)), 'dump.xml');
    writeFileSync(xml, '<?xml version="1.0" encoding="utf-8"?>\n<django-objects version="1.0"></django-objects>');
    const refused = await admin(['import-django', xml, '--apply'], { url: s.url });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('run `manage.py dumpdata` again without --format');

    // `dumpdata -o dump.json.gz` compresses by the extension: gzip is read, the others named.
    const gz = join(dirname(xml), 'dump.json.gz');
    writeFileSync(gz, gzipSync(utf8));
    const fromGz = await admin(['import-django', gz, '--map', 'python for finance=python-for-finance'], { url: s.url });
    expect(fromGz.code, fromGz.stderr).toBe(0);
    expect(fromGz.stdout).toContain('Enrolments: 5 in the dump: 3 to grant');
    const bz2 = join(dirname(xml), 'dump.json.bz2');
    writeFileSync(bz2, Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(32, 7)]));
    const compressed = await admin(['import-django', bz2], { url: s.url });
    expect(compressed.code).toBe(1);
    expect(compressed.stderr).toContain('is compressed with bzip2, xz or lzma: decompress it first');
  }, 180_000);

  it('takes enrolments from a profile whose primary key is its user, leaves unpaid, refunded and wished-for rows, and asks when two lists could be the enrolments', async () => {
    const s = await store({ sync: true });
    const user = (pk: number, username: string) => ({
      model: 'auth.user',
      pk,
      fields: { username, email: `${username}@example.com`, password: '!', last_login: null, is_active: true, date_joined: '2020-01-01T00:00:00Z' },
    });
    const course = (pk: number, slug: string) => ({ model: 'shop.course', pk, fields: { slug, title: slug.replace(/-/g, ' ') } });
    const base = [user(1, 'ann'), user(2, 'bob'), user(3, 'cat'), course(10, 'python-fundamentals'), course(11, 'python-for-finance')];
    const grantsOf = (plan: Awaited<ReturnType<typeof planDjangoImport>>) =>
      plan.enrolments.filter((enrolment) => enrolment.action === 'grant').map((enrolment) => `${enrolment.email} ${enrolment.course}`);

    // OneToOneField(User, primary_key=True): the profile's pk is its user's, and it has no user field.
    const profiles = await planDjangoImport(s.db, [
      ...base,
      { model: 'shop.profile', pk: 2, fields: { purchased_courses: [10, 11], favourite_courses: [10], refunded_courses: [] } },
      { model: 'shop.profile', pk: 3, fields: { purchased_courses: [], favourite_courses: [11], refunded_courses: [10] } },
    ]);
    expect(profiles.models.enrolments).toEqual(['shop.profile.purchased_courses']);
    expect(profiles.models.ignored).toEqual(['shop.profile.favourite_courses', 'shop.profile.refunded_courses']);
    expect(grantsOf(profiles)).toEqual(['bob@example.com python-fundamentals', 'bob@example.com python-for-finance']);

    // Orders: only the paid ones that were not refunded; a wish list beside them gives nothing.
    const orders = await planDjangoImport(s.db, [
      ...base,
      { model: 'shop.order', pk: 1, fields: { customer: 1, course: 10, paid: true } },
      { model: 'shop.order', pk: 2, fields: { customer: 2, course: 10, paid: false } },
      { model: 'shop.order', pk: 3, fields: { customer: 3, course: 11, paid: true, refunded: true } },
      { model: 'shop.order', pk: 4, fields: { customer: 3, course: 10, status: 'failed' } },
      { model: 'shop.wishlist', pk: 1, fields: { user: 2, course: 11 } },
    ]);
    expect(orders.models.enrolments).toEqual(['shop.order']);
    expect(orders.models.ignored).toEqual(['shop.wishlist']);
    expect(grantsOf(orders)).toEqual(['ann@example.com python-fundamentals']);
    expect(orders.enrolments.filter((enrolment) => enrolment.action === 'skip').map((enrolment) => enrolment.note)).toEqual([
      'not active in Django',
      'not active in Django',
      'not active in Django (failed)',
    ]);

    // Two course lists with no enrolment's name between them: the importer asks rather than guesses.
    await expect(
      planDjangoImport(s.db, [...base, { model: 'shop.profile', pk: 1, fields: { user: 1, courses: [10], library_courses: [11] } }]),
    ).rejects.toThrow('Several lists could be the enrolments (shop.profile.courses, shop.profile.library_courses): name one with --enrolment-model.');
    const named = await planDjangoImport(s.db, [...base, { model: 'shop.profile', pk: 1, fields: { user: 1, courses: [10], library_courses: [11] } }], {
      enrolmentModel: 'shop.profile.library_courses',
    });
    expect(grantsOf(named)).toEqual(['ann@example.com python-for-finance']);
  }, 60_000);
});

describe('on the web', () => {
  it('an admin made by the CLI and a member imported from Django sign in on the built server', async () => {
    const s = await store({ sync: true });
    expect((await admin(['create-admin', 'root@example.com', '--password-stdin'], { url: s.url, input: ADMIN_PASSWORD })).code).toBe(0);
    expect((await admin(['grant', 'root@example.com', COURSE, '--reason', 'author copy'], { url: s.url })).code).toBe(0);
    expect((await admin(['import-django', DJANGO_DUMP, '--apply'], { url: s.url })).code).toBe(0);

    const server = await startServer({ dist, env: accountsEnv({ databaseUrl: s.url, smtpUrl: 'smtp://127.0.0.1:9' }) });
    try {
      const root = createVisitor(server.url);
      const login = await root.post('/api/auth/login', { email: 'root@example.com', password: ADMIN_PASSWORD });
      expect(login.status).toBe(303);
      expect(login.headers.get('location')).toBe('/account');
      expect((await root.get(LESSON_PATH)).status).toBe(200);
      expect((await userOf(s, 'root@example.com'))!.role).toBe('admin');

      const ada = createVisitor(server.url);
      const adaLogin = await ada.post('/api/auth/login', { email: 'ADA.Lovelace@example.com', password: DJANGO_PASSWORD });
      expect(adaLogin.headers.get('location')).toBe('/account');
      expect((await ada.get(LESSON_PATH)).status).toBe(200);
      // The Django hash is replaced by this site's at the first sign-in.
      expect((await userOf(s, 'ada.lovelace@example.com'))!.password_hash).toMatch(/^pbkdf2_sha256_chain\$/);
    } finally {
      await server.stop();
    }
  });
});

/**
 * Runs `npm run admin -- ...args` at a terminal (a pseudo-terminal made by util-linux's `script`),
 * typing the next answer at each password prompt, and Ctrl-C at a prompt it has no answer for.
 */
function adminAtTerminal(args: string[], url: string, answers: string[]): Promise<Run & { prompts: number }> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, join(ROOT, 'scripts/admin.ts'), ...args].map((arg) => `'${arg}'`).join(' ');
    const child = spawn(requireTool('script'), ['--quiet', '--return', '--command', command, '/dev/null'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: url, SITE_URL: TEST_SITE_URL, PASSWORD_ITERATIONS: '2000' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let prompts = 0;
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const asked = output.match(/New password: |Repeat it: /g)?.length ?? 0;
      for (; prompts < asked; prompts++) child.stdin.write(answers.length ? `${answers.shift()}\r` : '\u0003');
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout: output, stderr: '', output, prompts }));
  });
}

describe('the admin CLI at a terminal', () => {
  it('asks again for a password that is too short or not repeated the same, and gives up after three tries', async () => {
    const s = await store();
    const created = await adminAtTerminal(['create-admin', 'typist@example.com'], s.url, [
      'short',
      'a long enough password',
      'another long password',
      ADMIN_PASSWORD,
      ADMIN_PASSWORD,
    ]);
    expect(created.stdout).toContain('Choose a password of at least 10 characters. Try again.');
    expect(created.stdout).toContain('The two passwords differ. Try again.');
    expect(created.stdout).not.toContain(ADMIN_PASSWORD);
    expect(created.code, created.stdout).toBe(0);
    expect(created.prompts).toBe(5);
    expect(created.stdout).toContain('Created the admin account typist@example.com');
    const typist = await userOf(s, 'typist@example.com');
    expect(typist?.role).toBe('admin');
    expect(await verifyPassword(ADMIN_PASSWORD, typist!.password_hash!)).toBe(true);

    const gaveUp = await adminAtTerminal(['create-admin', 'quitter@example.com'], s.url, ['short', 'tiny', 'small']);
    expect(gaveUp.code).toBe(1);
    expect(gaveUp.prompts).toBe(3);
    expect(gaveUp.stdout).toContain('Choose a password of at least 10 characters. Nothing changed.');
    expect(await userOf(s, 'quitter@example.com')).toBeUndefined();
  });
});
