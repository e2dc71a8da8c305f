// Moving in from elsewhere, run as the author runs it (`npm run admin` as a child process):
// the content of the Django members site of tests/fixtures/django-members turned into course
// folders that the catalogue check accepts and the real build publishes (its downloads only to
// members), and a hosted platform's CSV export of members and purchases: dry run, apply, a second
// run, refused rows, and an imported member signing in by emailed link on the built server.
import { runScript } from './support/processes.ts';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadCatalog } from '../src/catalog/load.ts';
import { applyCsvImport, parseCsvRecords, parseImportDate, planCsvImport } from '../src/server/transfer/csv-import.ts';
import { accountsEnv, linkIn, TEST_SITE_URL } from './support/accounts-env.ts';
import { buildSite, ROOT } from './support/build.ts';
import { startServer } from './support/server.ts';
import { startSmtpSink } from './support/smtp-sink.ts';
import { createTestStore, syncStore, type TestStore } from './support/store.ts';
import { createVisitor } from './support/visitor.ts';

const dist = inject('dist');
const MEMBERS_SITE = join(ROOT, 'tests/fixtures/django-members');
const MEMBERS_DUMP = join(MEMBERS_SITE, 'dump.json');
const MEDIA_ROOT = join(MEMBERS_SITE, 'media');
/** A paid lesson of each demo course. */
const PAID_LESSONS: Record<string, string> = {
  'python-fundamentals': '/courses/python-fundamentals/comprehensions/',
  'python-for-finance': '/courses/python-for-finance/cleaning-price-data/',
  'running-python-scripts': '/courses/running-python-scripts/virtual-environments/',
};

const folders: string[] = [];
const stores: TestStore[] = [];

function tempFolder(name: string): string {
  const dir = mkdtempSync(join(ROOT, '.test-dist', `${name}-`));
  folders.push(dir);
  return dir;
}

async function store(): Promise<TestStore> {
  const s = await createTestStore();
  stores.push(s);
  await syncStore(dist, s.url);
  return s;
}

afterAll(() => {
  for (const s of stores) s.remove();
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** `node <script> ...args` from the project, as `npm run` runs it. */
const run = (script: string, args: string[], env: Record<string, string> = {}) =>
  runScript(script, args, { env: { SITE_URL: TEST_SITE_URL, PASSWORD_ITERATIONS: '2000', ...env } });

const admin = (args: string[], databaseUrl: string) => run('scripts/admin.ts', args, { DATABASE_URL: databaseUrl });

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)]));
}

/** Every file under a folder with its bytes, to compare before and after. */
function tree(dir: string): Record<string, string> {
  return Object.fromEntries(files(dir).map((file) => [relative(dir, file), readFileSync(file).toString('base64')]));
}

async function rows<T = Record<string, unknown>>(s: TestStore, sql: string, args: (string | number | null)[] = []): Promise<T[]> {
  return (await s.client.execute({ sql, args })).rows as unknown as T[];
}

async function peopleTables(s: TestStore): Promise<string> {
  const dump: Record<string, unknown[]> = {};
  for (const table of ['users', 'purchases', 'access_ledger', 'audit_log']) dump[table] = await rows(s, `SELECT * FROM ${table} ORDER BY 1`);
  return JSON.stringify(dump);
}

/** No store is needed for the content: one that does not exist proves it is never opened. */
const NO_STORE = 'file:/nonexistent/never/app.db';

describe('import-django-content', () => {
  it('writes a course folder per Django course and a lesson per document, which the check accepts and the build publishes to members only', async () => {
    const courses = join(tempFolder('content'), 'courses');
    const imported = await admin(['import-django-content', MEMBERS_DUMP, '--media-root', MEDIA_ROOT, '--out', courses, '--currency', 'eur'], NO_STORE);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('Django models: courses members.course, documents members.document.');
    expect(imported.stdout).toContain('python-fundamentals/ "Python Fundamentals" (pk 1): 2 lesson(s)');
    expect(imported.stdout).toContain('02-cheat-sheet.md  download of documents/cheat-sheet.pdf');
    expect(imported.stdout).toContain('01-setting-up-pandas.md  from documents/setting-up.html');
    expect(imported.stdout).toContain('site.yaml was missing');
    expect(imported.stdout).toContain('Check: 3 course(s), 5 lesson(s): the catalogue accepts them');

    const catalog = await loadCatalog(courses);
    const summary = catalog.courses.map((course) => ({
      slug: course.slug,
      title: course.title,
      price: `${course.priceMinor} ${course.currency}`,
      lessons: course.lessons.map((lesson) => `${lesson.slug}: ${lesson.title}${lesson.preview ? ' (free)' : ''}`),
    }));
    expect(summary).toEqual([
      {
        slug: 'python-for-finance',
        title: 'Python for Finance',
        price: '7900 EUR',
        lessons: ['setting-up-pandas: Setting up pandas', 'price-data: Price data'],
      },
      {
        slug: 'python-fundamentals',
        title: 'Python Fundamentals',
        price: '4900 EUR',
        lessons: ['welcome-to-python-fundamentals: Welcome to Python Fundamentals', 'cheat-sheet: Cheat sheet'],
      },
      {
        slug: 'running-python-in-production',
        title: 'Running Python in Production',
        price: '3900 EUR',
        lessons: ['deploying-with-systemd: Deploying with systemd'],
      },
    ]);
    const fundamentals = catalog.courses.find((course) => course.slug === 'python-fundamentals')!;
    expect(fundamentals.description).toBe('Learn Python from the very beginning: variables, loops, functions and files.');
    const [welcome] = fundamentals.lessons;
    expect(welcome!.html).not.toContain('<h1');
    expect(welcome!.headings.map((heading) => heading.text)).toEqual(['What you need']);
    const pandas = catalog.courses.find((course) => course.slug === 'python-for-finance')!.lessons[0]!;
    expect(pandas.html).toContain('<pre>python3 -m venv .venv\n. .venv/bin/activate\npip install pandas</pre>');
    expect(pandas.html).not.toContain('Setting up pandas</h1>');
    expect([...catalog.privateMedia.get('python-fundamentals')!]).toEqual([expect.stringMatching(/^[0-9a-f]{16}-cheat-sheet\.pdf$/)]);
    expect([...catalog.privateMedia.get('python-for-finance')!]).toEqual([expect.stringMatching(/^[0-9a-f]{16}-price-data\.zip$/)]);

    const check = await run('scripts/check-courses.ts', [courses]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/✓ 3 courses \(3 published\), 5 lessons checked/);

    // The real build: every lesson is paid, so the downloads go to the private bundle only.
    const build = await buildSite({ coursesDir: courses, outDir: join(tempFolder('content-build'), 'dist') });
    expect(build.code, build.output).toBe(0);
    const pdf = readFileSync(join(MEDIA_ROOT, 'documents/cheat-sheet.pdf'));
    const zip = readFileSync(join(MEDIA_ROOT, 'documents/price-data.zip'));
    const privateMedia = join(build.outDir, 'private/media');
    expect(readFileSync(join(privateMedia, 'python-fundamentals', [...catalog.privateMedia.get('python-fundamentals')!][0]!))).toEqual(pdf);
    expect(readFileSync(join(privateMedia, 'python-for-finance', [...catalog.privateMedia.get('python-for-finance')!][0]!))).toEqual(zip);
    const cheatSheetPage = readFileSync(join(build.outDir, 'private/pages/python-fundamentals/cheat-sheet.html'), 'utf8');
    expect(cheatSheetPage).toMatch(/href="\/courses\/python-fundamentals\/media\/[0-9a-f]{16}-cheat-sheet\.pdf" download="cheat-sheet\.pdf"/);
    const leaks = files(join(build.outDir, 'client')).filter((file) => {
      const bytes = readFileSync(file);
      return bytes.includes(pdf) || bytes.includes(zip) || bytes.includes('Create a virtual environment') || bytes.includes('writing a unit file');
    });
    expect(leaks).toEqual([]);
  }, 240_000);

  it('never writes over a course folder without --force, and --force replaces it', async () => {
    const courses = join(tempFolder('content-again'), 'courses');
    const args = ['import-django-content', MEMBERS_DUMP, '--media-root', MEDIA_ROOT, '--out', courses];
    expect((await admin(args, NO_STORE)).code).toBe(0);
    const lesson = join(courses, 'python-fundamentals/01-welcome-to-python-fundamentals.md');
    writeFileSync(lesson, `${readFileSync(lesson, 'utf8')}\nEdited by the author.\n`);
    const before = tree(courses);
    const again = await admin(args, NO_STORE);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(
      `Nothing written: ${join(courses, 'python-fundamentals')}, ${join(courses, 'python-for-finance')}, ${join(courses, 'running-python-in-production')} exist already`,
    );
    expect(again.stderr).toContain('--force');
    expect(tree(courses)).toEqual(before);
    const forced = await admin([...args, '--force'], NO_STORE);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(lesson, 'utf8')).not.toContain('Edited by the author.');
    expect(readFileSync(join(courses, 'site.yaml')).toString('base64')).toBe(before['site.yaml']);
  }, 120_000);

  it('names what to fix: files outside the media root or missing, a course without documents, prices the currency cannot have', async () => {
    const dir = tempFolder('content-problems');
    const dump = JSON.parse(readFileSync(MEMBERS_DUMP, 'utf8')) as unknown[];
    dump.push(
      { model: 'members.course', pk: 4, fields: { course_title: 'Nothing Here Yet', course_description: 'Announced.', course_price: '10.00' } },
      { model: 'members.document', pk: 6, fields: { course: 3, file: '../dump.json' } },
      { model: 'members.document', pk: 7, fields: { course: 3, file: 'documents/gone.pdf' } },
    );
    const file = join(dir, 'dump.json');
    writeFileSync(file, JSON.stringify(dump));
    const courses = join(dir, 'courses');
    const result = await admin(['import-django-content', file, '--media-root', MEDIA_ROOT, '--out', courses, '--currency', 'JPY'], NO_STORE);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('TO FIX: running-python-in-production: document 6 names ../dump.json, outside the media root: skipped');
    expect(result.stdout).toContain('TO FIX: running-python-in-production: document 7: documents/gone.pdf is not in the media root');
    expect(result.stdout).toContain('TO FIX: nothing-here-yet: the Django course has no documents, so no lessons');
    expect(result.stderr).toContain('Written, but the catalogue check found 5 problem(s) to fix:');
    expect(result.stderr).toContain('python-fundamentals/course.md:4: price: JPY has no minor unit: write a whole number such as "4900", not "49.00"');
    expect(result.stderr).toContain('course "nothing-here-yet" has no lessons');
    expect(files(courses).some((path) => readFileSync(path).equals(readFileSync(MEMBERS_DUMP)))).toBe(false);
    expect(statSync(join(courses, 'running-python-in-production/01-deploying-with-systemd.md')).isFile()).toBe(true);
  }, 120_000);
});

/**
 * A hosted platform's export in the documented columns, as a spreadsheet saves it: a byte order
 * mark, semicolons, a header in another case, quoted fields (one with the delimiter and a quote),
 * an extra column, CRLF line ends and a blank line.
 */
const EXPORT = [
  '\uFEFFEmail;Name;Course;Date;Amount;Currency;Reference;Coupon',
  'Ada.Lovelace@Example.com;"Lovelace; Ada ""the first""";Python Fundamentals;2021-03-04;49.00;usd;TCH-1001;',
  'ada.lovelace@example.com;Ada;PYTHON-FOR-FINANCE;2021-03-05T10:11:12+01:00;79;EUR;TCH-1002;SPRING',
  '',
  'grace@example.org;Grace;Running scripts;2022-01-08 12:00;0;USD;TCH-1003;',
  'ada.lovelace@example.com;Ada;Python Fundamentals;2021-03-04;49.00;USD;TCH-1001;',
].join('\r\n');

const MAP = ['--map', 'running scripts=running-python-scripts'];

describe('import-csv', () => {
  it('reads quoted fields, either delimiter, a BOM and line numbers; dates as ISO 8601 in UTC', () => {
    expect(parseCsvRecords('\uFEFFa,b\r\n"x, ""y""",\n\n"two\nlines",z').records).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x, "y"', ''] },
      { line: 4, fields: ['two\nlines', 'z'] },
    ]);
    expect(parseCsvRecords('a;b;c,d\n1;2;3,4').records[1]!.fields).toEqual(['1', '2', '3,4']);
    expect(parseCsvRecords('a,b;c\n1,2;3').records[1]!.fields).toEqual(['1', '2;3']);
    expect(() => parseCsvRecords('a,b\n1,"open\n2,3')).toThrow('Line 2: a quoted field is never closed');
    expect(parseImportDate('2021-03-04')).toBe(Date.UTC(2021, 2, 4));
    expect(parseImportDate('2021-03-04 10:11')).toBe(Date.UTC(2021, 2, 4, 10, 11));
    expect(parseImportDate('2021-03-04T10:11:12+0100')).toBe(Date.UTC(2021, 2, 4, 9, 11, 12));
    expect(parseImportDate('2021-03-04 10:11:12 UTC')).toBe(Date.UTC(2021, 2, 4, 10, 11, 12));
    for (const bad of ['03/04/2021', '2021-02-30', '2021-03-04T25:00', 'yesterday']) expect(parseImportDate(bad), bad).toBeNull();
  });

  it('a dry run writes nothing; --apply creates the members and grants each purchase once, with ledger and audit rows; a second run changes nothing', async () => {
    const s = await store();
    const file = join(tempFolder('csv'), 'export.csv');
    writeFileSync(file, EXPORT);
    const before = await peopleTables(s);
    const dry = await admin(['import-csv', file, ...MAP], s.url);
    expect(dry.code, dry.stderr).toBe(0);
    expect(await peopleTables(s)).toBe(before);
    expect(dry.stdout).toContain('Columns: email, name, course, date, amount, currency, reference (separated by ";"); ignored: Coupon.');
    expect(dry.stdout).toContain('"Python Fundamentals" -> python-fundamentals (by title): 2 row(s)');
    expect(dry.stdout).toContain('"PYTHON-FOR-FINANCE" -> python-for-finance (by slug): 1 row(s)');
    expect(dry.stdout).toContain('"Running scripts" -> running-python-scripts (by mapping): 1 row(s)');
    expect(dry.stdout).toContain('Accounts: 2 to create (without a password), 0 exist already');
    expect(dry.stdout).toContain('Rows: 4: 3 to grant, 0 already owned, 0 imported before, 1 duplicate(s), 0 refused.');
    expect(dry.stdout).toContain('line 6: duplicate (same reference as line 2)');
    expect(dry.stdout).toContain('Dry run: nothing written.');

    const applied = await admin(['import-csv', file, '--apply', ...MAP], s.url);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('Imported: 2 account(s) created (without a password: they sign in by emailed link), 3 course(s) granted');
    expect(await rows(s, 'SELECT email, password_hash, role, created_at FROM users ORDER BY email')).toEqual([
      { email: 'ada.lovelace@example.com', password_hash: null, role: 'member', created_at: Date.UTC(2021, 2, 4) },
      { email: 'grace@example.org', password_hash: null, role: 'member', created_at: Date.UTC(2022, 0, 8, 12) },
    ]);
    expect(
      await rows(s, 'SELECT u.email, l.course_slug, l.action, l.reason, l.note FROM access_ledger l JOIN users u ON u.id = l.user_id ORDER BY l.seq'),
    ).toEqual([
      { email: 'ada.lovelace@example.com', course_slug: 'python-fundamentals', action: 'grant', reason: 'migration', note: 'csv TCH-1001' },
      { email: 'ada.lovelace@example.com', course_slug: 'python-for-finance', action: 'grant', reason: 'migration', note: 'csv TCH-1002' },
      { email: 'grace@example.org', course_slug: 'running-python-scripts', action: 'grant', reason: 'migration', note: 'csv TCH-1003' },
    ]);
    const audit = await rows<{ action: string; course_slug: string | null; detail: string }>(
      s,
      'SELECT action, course_slug, detail FROM audit_log ORDER BY id',
    );
    expect(audit.map((row) => `${row.action} ${row.course_slug ?? ''}`)).toEqual([
      'grant python-fundamentals',
      'grant python-for-finance',
      'grant running-python-scripts',
      'import-csv ',
    ]);
    expect(JSON.parse(audit[0]!.detail)).toMatchObject({
      import: 'csv TCH-1001',
      line: 2,
      name: 'Lovelace; Ada "the first"',
      date: '2021-03-04T00:00:00.000Z',
      amount: '49.00',
      currency: 'USD',
      reference: 'TCH-1001',
    });
    expect(JSON.parse(audit[1]!.detail)).toMatchObject({ date: '2021-03-05T09:11:12.000Z', amount: '79', currency: 'EUR' });
    expect(JSON.parse(audit[3]!.detail)).toMatchObject({ source: file, rows: 4, accounts: 2, grants: 3, refused: 0 });

    const settled = await peopleTables(s);
    const again = await admin(['import-csv', file, '--apply', ...MAP], s.url);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Accounts: 0 to create (without a password), 2 exist already');
    expect(again.stdout).toContain('Rows: 4: 0 to grant, 0 already owned, 4 imported before');
    expect(again.stdout).toContain('Imported: 0 account(s) created');
    expect(await peopleTables(s)).toBe(settled);

    // Taken away by an admin, an imported purchase is not given back by another run.
    expect((await admin(['revoke', 'grace@example.org', 'running-python-scripts', '--reason', 'refunded outside Stripe'], s.url)).code).toBe(0);
    const revoked = await peopleTables(s);
    const afterRevoke = await admin(['import-csv', file, '--apply', ...MAP], s.url);
    expect(afterRevoke.stdout).toContain('4 imported before');
    expect(await peopleTables(s)).toBe(revoked);
  }, 120_000);

  it('reads exports as platforms and a French Excel write them: Windows-1252 with semicolons and French column names, or tabs with a platform’s names', async () => {
    const s = await store();
    const dir = tempFolder('csv-excel');
    const french = join(dir, 'ventes.csv');
    // Excel's "CSV (separator: semicolon)" on a French Windows: the Windows code page, CRLF, a decimal comma refused.
    writeFileSync(
      french,
      Buffer.from(
        [
          "Courriel;Nom complet;Formation;Date d'achat;Montant;Devise;Num\u00e9ro de commande",
          'Eloise.Dupre@Example.fr;\u00c9lo\u00efse Dupr\u00e9;Python Fundamentals;2023-05-06;49.00;EUR;FR-1',
          'agathe@example.fr;Agathe;Science des donn\u00e9es;2023-05-07;79.00;EUR;FR-2',
        ].join('\r\n'),
        'latin1',
      ),
    );
    const dry = await admin(['import-csv', french, '--map', 'science des donn\u00e9es=python-for-finance'], s.url);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(
      `Columns: email ("Courriel"), name ("Nom complet"), course ("Formation"), date ("Date d'achat"), amount ("Montant"), currency ("Devise"), reference ("Num\u00e9ro de commande") (separated by ";").`,
    );
    expect(dry.stdout).toContain('"Science des donn\u00e9es" -> python-for-finance (by mapping): 1 row(s)');
    const applied = await admin(['import-csv', french, '--apply', '--map', 'science des donn\u00e9es=python-for-finance'], s.url);
    expect(applied.code, applied.stderr).toBe(0);
    expect(await rows(s, 'SELECT u.email, l.course_slug, l.note FROM access_ledger l JOIN users u ON u.id = l.user_id ORDER BY l.seq')).toEqual([
      { email: 'eloise.dupre@example.fr', course_slug: 'python-fundamentals', note: 'csv FR-1' },
      { email: 'agathe@example.fr', course_slug: 'python-for-finance', note: 'csv FR-2' },
    ]);
    const [audit] = await rows<{ detail: string }>(s, "SELECT detail FROM audit_log WHERE action = 'grant' ORDER BY id LIMIT 1");
    expect(JSON.parse(audit!.detail)).toMatchObject({ name: '\u00c9lo\u00efse Dupr\u00e9', reference: 'FR-1' });

    // A sheet saved as tab-separated text, with a platform's column names: the documented name wins over another name.
    const sheet = join(dir, 'sales.tsv');
    writeFileSync(
      sheet,
      'Customer Email\tProduct Name\tCourse\tPurchased At\tPrice\tCurrency\tOrder ID\ngrace@example.org\tBundle\tPython Fundamentals\t2024-01-02\t49\tUSD\tTX-9\n',
    );
    const tabs = await admin(['import-csv', sheet, '--apply'], s.url);
    expect(tabs.code, tabs.stderr).toBe(0);
    expect(tabs.stdout).toContain(
      'Columns: email ("Customer Email"), course, date ("Purchased At"), amount ("Price"), currency, reference ("Order ID") (separated by tabs); ignored: Product Name.',
    );
    expect(tabs.stdout).toContain('1 course(s) granted');
  }, 120_000);

  it('refuses bad rows with their line and every reason, writing nothing for them, and imports the rest', async () => {
    const s = await store();
    const file = join(tempFolder('csv-bad'), 'export.csv');
    writeFileSync(
      file,
      [
        'email,name,course,date,amount,currency,reference',
        'katherine@example.com,Katherine,python-fundamentals,2021-05-01,49.00,USD,G-1',
        'not-an-email,Bob,python-fundamentals,,,,G-2',
        'dorothy@example.com,Dorothy,Cooking for Pythonistas,03/04/2021,49,,G-3',
        'mary@example.com,Mary,python-fundamentals,2021-05-02,"49,00",EUR,G-4',
        'hedy@example.com,Hedy,python-fundamentals,2021-05-02,-49.00,USD,G-5',
        'hedy@example.com,Hedy,python-fundamentals,2021-05-02,49.001,USD,G-6',
        'hedy@example.com,Hedy,python-fundamentals,2021-05-02,49.00,DOLLARS,G-7',
        'annie@example.com,Annie,python-for-finance,,,,G-1',
        ',Nobody,,,,,',
        'joan@example.com,Joan,python-fundamentals,2021-05-01,49.00,USD,G-8,extra',
      ].join('\n'),
    );
    const before = await peopleTables(s);
    const dry = await admin(['import-csv', file], s.url);
    expect(dry.code, dry.stderr).toBe(0);
    expect(await peopleTables(s)).toBe(before);
    const refusals = dry.stdout.split('\n').filter((line) => line.includes(': refused: '));
    expect(refusals).toEqual([
      '  line 3: refused: "not-an-email" is not an email address',
      '  line 4: refused: course "Cooking for Pythonistas" is not a course here: map it with --map "Cooking for Pythonistas=<course>" (courses here: python-for-finance, python-fundamentals, running-python-scripts); date "03/04/2021" is not a date such as 2021-03-04 or 2021-03-04T10:11:12Z (day/month orders are ambiguous); amount "49" has no currency',
      '  line 5: refused: amount "49,00" has a decimal comma: write 49.00',
      '  line 6: refused: amount "-49.00" is negative: leave refunds out (a refunded purchase gives no access)',
      '  line 7: refused: amount: USD has 2 decimal places: "49.001" has 3',
      '  line 8: refused: currency "DOLLARS" is not a three-letter ISO 4217 code such as USD or EUR',
      '  line 9: refused: reference "G-1" is also on line 2, for katherine@example.com and python-fundamentals: a reference names one purchase',
      '  line 10: refused: no email; no course',
      '  line 11: refused: it has 8 fields and the header 7: a "," inside a field needs quotes around the field',
    ]);
    expect(dry.stdout).toContain('Rows: 10: 1 to grant, 0 already owned, 0 imported before, 0 duplicate(s), 9 refused.');
    expect(dry.stdout).toContain('Run again with --apply to import the rows that are not refused.');

    const applied = await admin(['import-csv', file, '--apply'], s.url);
    expect(applied.code).toBe(1);
    expect(applied.stdout).toContain('Imported: 1 account(s) created');
    expect(applied.stderr).toContain('9 row(s) refused (listed above): nothing was written for them.');
    expect(await rows(s, 'SELECT email FROM users')).toEqual([{ email: 'katherine@example.com' }]);
    expect(await rows(s, 'SELECT course_slug, note FROM access_ledger')).toEqual([{ course_slug: 'python-fundamentals', note: 'csv G-1' }]);
  }, 120_000);

  it('refuses, writing nothing, a file without the header, with an unclosed quote, or whose every row is refused', async () => {
    const s = await store();
    const dir = tempFolder('csv-refused');
    const before = await peopleTables(s);
    const file = join(dir, 'no-header.csv');
    writeFileSync(file, 'ada@example.com,python-fundamentals\n');
    const noHeader = await admin(['import-csv', file, '--apply'], s.url);
    expect(noHeader.code).toBe(1);
    expect(noHeader.stderr).toContain('Line 1 must be the header, naming the columns: email, name, course, date, amount, currency, reference');
    expect((await admin(['import-csv', join(dir, 'missing.csv')], s.url)).stderr).toContain('no such file');

    const cases: [string, string][] = [
      ['Mail,Item\nada@example.com,python-fundamentals\n', 'It lacks email and course; it reads: "Mail","Item".'],
      ['email,course,course\nada@example.com,a,b\n', 'Line 1: the column "course" is there twice.'],
      ['', 'The file is empty.'],
      ['email,course\n', 'The file has a header but no rows.'],
      ['email,course\nada@example.com,"python-fundamentals\n', 'Line 2: a quoted field is never closed'],
    ];
    for (const [text, message] of cases) await expect(planCsvImport(s.db, text), text).rejects.toThrow(message);
    const allRefused = await planCsvImport(s.db, 'email,course\nada@example.com,nope\n');
    await expect(
      applyCsvImport({ db: s.db, clock: { now: () => Date.now() } }, allRefused, { actor: { userId: null, via: 'cli' }, iterations: 2000 }),
    ).rejects.toThrow('Nothing written: every row (1) was refused.');
    expect(await peopleTables(s)).toBe(before);
  }, 180_000);

  it('an imported member signs in by the emailed link and reads exactly the courses granted', async () => {
    const s = await store();
    const file = join(tempFolder('csv-sign-in'), 'export.csv');
    writeFileSync(file, EXPORT);
    expect((await admin(['import-csv', file, '--apply', ...MAP], s.url)).code).toBe(0);
    const sink = await startSmtpSink();
    const server = await startServer({ dist, env: accountsEnv({ databaseUrl: s.url, smtpUrl: sink.url }) });
    try {
      const visitor = createVisitor(server.url);
      const sent = sink.messages.length;
      const request = await visitor.post('/api/auth/link-request', { email: 'ADA.Lovelace@example.com' });
      expect(request.headers.get('location')).toBe('/login?notice=link-sent');
      const link = new URL(linkIn((await sink.waitFor('ada.lovelace@example.com', { after: sent })).text), server.url);
      const signIn = await visitor.post('/api/auth/link', { token: link.searchParams.get('token')! });
      expect(signIn.status).toBe(303);
      expect(signIn.headers.get('location')).toBe('/account');
      for (const [course, lesson] of Object.entries(PAID_LESSONS)) {
        expect((await visitor.get(lesson)).status === 200, course).toBe(course === 'python-fundamentals' || course === 'python-for-finance');
      }
      const me = (await (await visitor.get('/api/me')).json()) as { signedIn: boolean; email: string; hasPassword: boolean; courses: { slug: string }[] };
      expect(me).toMatchObject({ signedIn: true, email: 'ada.lovelace@example.com', hasPassword: false });
      expect(me.courses.map((course) => course.slug).sort()).toEqual(['python-for-finance', 'python-fundamentals']);
    } finally {
      await server.stop();
      await sink.stop();
    }
  }, 120_000);
});
