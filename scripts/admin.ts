// `npm run admin -- <command>`: the operator's tool for members, courses given by hand, backups and
// moving data. The work is done by src/server/admin/ (which the web admin pages share) and
// src/server/transfer/; this file reads arguments and passwords, opens the store named by
// DATABASE_URL, and prints what happened.
// Exit codes: 0 done (also when there was nothing to do), 1 failed, 2 bad arguments (with usage).
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { gunzipSync } from 'node:zlib';
import type { Store } from '../src/node/store.ts';
import type { AdminActor, AdminContext } from '../src/server/admin/audit.ts';
import type { Invalid } from '../src/server/admin/commands.ts';
import { textTable } from '../src/server/admin/text-table.ts';
import { normaliseEmail } from '../src/server/auth/credentials.ts';
import type { Config } from '../src/server/config.ts';
import { errorMessage } from '../src/server/http/form-messages.ts';
import { messagesFor } from '../src/server/i18n/index.ts';
import type { CsvPlan } from '../src/server/transfer/csv-import.ts';
import type { DjangoPlan } from '../src/server/transfer/django-import.ts';
import type { ImportCounts } from '../src/server/transfer/snapshot.ts';

/** Operator messages stay English, whatever the site's language. */
const CLI_TEXTS = messagesFor('en-US');

/**
 * The store driver, drizzle, zod and the admin functions, loaded only once the arguments are
 * known to be right: help and usage errors answer at once.
 */
async function loadTools() {
  const [libsql, env, migrations, store, commands, queries, views, csv, csvImport, django, snapshot, config, money] = await Promise.all([
    import('@libsql/client'),
    import('../src/node/env.ts'),
    import('../src/node/migrations.ts'),
    import('../src/node/store.ts'),
    import('../src/server/admin/commands.ts'),
    import('../src/server/admin/queries.ts'),
    import('../src/server/admin/views.ts'),
    import('../src/server/admin/csv.ts'),
    import('../src/server/transfer/csv-import.ts'),
    import('../src/server/transfer/django-import.ts'),
    import('../src/server/transfer/snapshot.ts'),
    import('../src/server/config.ts'),
    import('../src/server/money.ts'),
  ]);
  return {
    createClient: libsql.createClient,
    readNodeEnv: env.readNodeEnv,
    assertMigrated: migrations.assertMigrated,
    openToolStore: store.openToolStore,
    storeFilePath: store.storeFilePath,
    purchasesCsv: csv.purchasesCsv,
    planCsvImport: csvImport.planCsvImport,
    applyCsvImport: csvImport.applyCsvImport,
    planDjangoImport: django.planDjangoImport,
    applyDjangoImport: django.applyDjangoImport,
    emptyImportProblem: django.emptyImportProblem,
    readDjangoDump: django.readDjangoDump,
    ...commands,
    ...queries,
    auditSentence: views.auditSentence,
    exportSnapshot: snapshot.exportSnapshot,
    importSnapshot: snapshot.importSnapshot,
    parseSnapshot: snapshot.parseSnapshot,
    parseConfig: config.parseConfig,
    formatMinor: money.formatMinor,
    isCurrency: money.isCurrency,
  };
}

let t: Awaited<ReturnType<typeof loadTools>>;

/** Errors whose message says all there is to say (no stack trace for the operator). */
const EXPLAINED = new Set(['ConfigError', 'StoreNotMigratedError', 'SnapshotError', 'DjangoDumpError', 'DjangoContentError', 'CsvImportError']);

const USAGE = `Usage: npm run admin -- <command> [options]

Accounts
  create-admin <email> [--password-stdin]     create an admin account, or make an existing one admin;
                                              either way it gets the password given, and nothing
                                              of before (password, sessions, emailed links) works
  remove-admin <email>                        make an admin a member again
  set-password <email> [--password-stdin]     set a member's password (signs them out everywhere,
                                              ends their emailed links, counts the address verified)
  users [--search <text>] [--role admin|member]
                                              list accounts

Courses
  grant <email> <course> --reason <why> [--create]
                                              give a member a course (gift, support, migration, ...);
                                              --create makes the account (without a password) if needed
  revoke <email> <course> --reason <why>      take a course away (every purchase and grant of it)
  purchases [--course <slug>] [--email <email>] [--csv]
                                              list purchases and grants; --csv for a spreadsheet
  audit [--email <email>] [--limit <n>]       what admins did by hand, newest first

Data
  backup <file>                               an online, consistent copy of the store file
  export <file|->                             a JSON snapshot of accounts, purchases, ledger, progress, waitlist
  import <file> [--dry-run]                   add what the store is missing from a snapshot
  import-django <dump.json> [--apply] [--allow-empty] [--verbose] [--map "<django title or slug>=<course>"]...
                [--user-model <app.model>] [--course-model <app.model>] [--enrolment-model <app.model[.field]>]
                                              accounts and enrolments from Django's dumpdata;
                                              a dry run unless --apply
  import-django-content <dump.json> --media-root <dir> --out <dir> [--currency <code>] [--force]
                [--course-model <app.model>] [--document-model <app.model>]
                                              a course folder per Django course, a lesson per document
                                              (no store needed); --force replaces existing folders
  import-csv <file.csv> [--apply] [--verbose] [--map "<course name there>=<course>"]...
                                              members and purchases exported from a hosted platform
                                              (columns email, name, course, date, amount, currency,
                                              reference); a dry run unless --apply

Passwords are never arguments: they are asked on the terminal (not echoed), or read from
standard input with --password-stdin, or from the ADMIN_PASSWORD environment variable.
The store is DATABASE_URL (default file:data/app.db). See docs/admin.md.`;

class UsageError extends Error {}
class Failure extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed = { positionals: string[]; values: Record<string, string | boolean | string[] | undefined> };
type Command = {
  args: string[];
  options?: Options;
  /** Options that must be given, with what to say when one is not. */
  requires?: Record<string, string>;
  /** Refuses, before the store is opened, what this command cannot do with these settings. */
  check?(config: Config): void;
} & (
  | { run(parsed: Parsed, session: Session): Promise<void> }
  /** A command that works on files alone: no settings read, no store opened. */
  | { runWithoutStore(parsed: Parsed): Promise<void> }
);

type Session = { store: Store; config: Config; ctx: AdminContext; actor: AdminActor };

const print = (line = '') => process.stdout.write(`${line}\n`);
const note = (line: string) => process.stderr.write(`${line}\n`);

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function stringOption(parsed: Parsed, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A problem with the input, as a sentence. Email and course problems are usage errors. */
function failInvalid(result: Invalid): never {
  if (result.field === 'password') throw new Failure(errorMessage(CLI_TEXTS, result.problem) ?? `The password is not acceptable (${result.problem}).`);
  if (result.field === 'reason')
    throw new UsageError(
      result.problem === 'reason-too-long'
        ? '--reason is too long (200 characters at most).'
        : '--reason must be a short text such as gift, support or migration.',
    );
  if (result.field === 'course') throw new UsageError('A course is its slug: lower-case letters, digits and dashes (e.g. python-fundamentals).');
  throw new UsageError('That is not a valid email address.');
}

// --- Passwords -----------------------------------------------------------------------------------

function readStdin(): Promise<string> {
  return new Promise((resolveText, reject) => {
    let data = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => (data += chunk));
    process.stdin.on('end', () => resolveText(data));
    process.stdin.on('error', reject);
  });
}

/** What was typed past the end of the last line read (a fast typist, or a paste of two lines). */
let typedAhead = '';

/** Reads a line from the terminal without showing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolveText, reject) => {
    const input = process.stdin;
    // Raw before the question: nothing typed after it is echoed, and Ctrl-C comes as a key.
    input.setRawMode(true);
    input.setEncoding('utf8');
    process.stderr.write(question);
    let value = '';
    const finish = () => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      const chars = [...chunk];
      for (let i = 0; i < chars.length; i++) {
        const char = chars[i]!;
        if (char === '\r' || char === '\n' || char === '\u0004') {
          typedAhead = chars.slice(i + (char === '\r' && chars[i + 1] === '\n' ? 2 : 1)).join('');
          finish();
          resolveText(value);
          return;
        }
        if (char === '\u0003') {
          finish();
          reject(new Failure('Interrupted: nothing changed.'));
          return;
        }
        if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('');
        else if (char >= ' ') value += char;
      }
    };
    input.on('data', onData);
    if (typedAhead) {
      const ahead = typedAhead;
      typedAhead = '';
      onData(ahead);
      if (input.listenerCount('data') === 0) return;
    }
    input.resume();
  });
}

/** How many times the terminal asks for a new password before giving up, as passwd(1) does. */
const PASSWORD_ATTEMPTS = 3;

/** A new password typed at the terminal, twice; a short one or two that differ are asked again. */
async function promptNewPassword(): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const password = await promptHidden('New password: ');
    const problem = t.passwordProblem(password);
    const mistake = problem
      ? (errorMessage(CLI_TEXTS, problem) ?? problem)
      : (await promptHidden('Repeat it: ')) !== password
        ? 'The two passwords differ.'
        : null;
    if (!mistake) return password;
    if (attempt === PASSWORD_ATTEMPTS) throw new Failure(`${mistake} Nothing changed.`);
    process.stderr.write(`${mistake} Try again.\n`);
  }
}

/** A new password from --password-stdin, ADMIN_PASSWORD or the terminal (asked twice), checked like sign-up's. */
async function readNewPassword(parsed: Parsed): Promise<string> {
  let password: string;
  if (parsed.values['password-stdin']) {
    password = (await readStdin()).replace(/\r?\n$/, '');
  } else if (process.env.ADMIN_PASSWORD) {
    password = process.env.ADMIN_PASSWORD;
  } else if (process.stdin.isTTY) {
    password = await promptNewPassword();
  } else {
    throw new UsageError('No password: give it on standard input with --password-stdin, or in ADMIN_PASSWORD, or run this in a terminal.');
  }
  const problem = t.passwordProblem(password);
  if (problem) throw new Failure(errorMessage(CLI_TEXTS, problem) ?? problem);
  return password;
}

// --- Commands ------------------------------------------------------------------------------------

const COMMANDS: Record<string, Command> = {
  'create-admin': {
    args: ['email'],
    options: { 'password-stdin': { type: 'boolean' } },
    async run(parsed, { ctx, config, actor }) {
      const [email] = parsed.positionals as [string];
      const state = await t.getAccountState(ctx.db, email);
      if ('kind' in state) failInvalid(state);
      // Always the operator's password: one chosen by whoever registered the address first must
      // not reach /admin/.
      const password = await readNewPassword(parsed);
      const result = await t.makeAdmin(ctx, { email, password, iterations: config.passwordIterations, actor });
      const login = new URL('/login', config.siteUrl).href;
      switch (result.kind) {
        case 'invalid':
          return failInvalid(result);
        case 'password-required':
          throw new Failure('An admin account needs a password.');
        case 'created':
          print(`Created the admin account ${normaliseEmail(email)} (id ${result.userId}). Sign in at ${login}`);
          return;
        case 'promoted':
          print(`${normaliseEmail(email)} (id ${result.userId}) already had an account: it is now an admin, with the password given.`);
          print('Its previous password, sessions and emailed links no longer work; its address counts as verified.');
          return;
        case 'already-admin':
          print(`${normaliseEmail(email)} (id ${result.userId}) was already an admin: its password is now the one given, and it is signed out everywhere.`);
          return;
      }
    },
  },

  'remove-admin': {
    args: ['email'],
    async run(parsed, { ctx, actor }) {
      const [email] = parsed.positionals as [string];
      const result = await t.removeAdmin(ctx, { email, actor });
      if (result.kind === 'invalid') failInvalid(result);
      if (result.kind === 'unknown-user') throw new Failure(`No account has the email ${result.email}.`);
      print(
        result.kind === 'demoted'
          ? `${normaliseEmail(email)} is a member again, no longer an admin.`
          : `${normaliseEmail(email)} is not an admin: nothing changed.`,
      );
    },
  },

  'set-password': {
    args: ['email'],
    options: { 'password-stdin': { type: 'boolean' } },
    async run(parsed, { ctx, config, actor }) {
      const [email] = parsed.positionals as [string];
      const state = await t.getAccountState(ctx.db, email);
      if ('kind' in state) failInvalid(state);
      if (!state.exists) throw new Failure(`No account has the email ${normaliseEmail(email)}.`);
      const password = await readNewPassword(parsed);
      const result = await t.setMemberPassword(ctx, { email, password, iterations: config.passwordIterations, actor });
      if (result.kind === 'invalid') failInvalid(result);
      if (result.kind === 'unknown-user') throw new Failure(`No account has the email ${result.email}.`);
      print(
        `Set the password of ${normaliseEmail(email)} (id ${result.userId}); it is signed out on every device, its emailed links no longer work, and its address counts as verified.`,
      );
    },
  },

  users: {
    args: [],
    options: { search: { type: 'string' }, role: { type: 'string' } },
    async run(parsed, { ctx }) {
      const role = stringOption(parsed, 'role');
      if (role !== undefined && role !== 'admin' && role !== 'member') throw new UsageError('--role is admin or member.');
      const rows = await t.listUsers(ctx.db, { search: stringOption(parsed, 'search'), role });
      if (rows.length === 0) {
        print('No accounts.');
        return;
      }
      print(
        textTable(
          ['>id', 'email', 'role', 'password', 'verified', '>courses', '>purchases', 'created'],
          rows.map((row) => [
            row.id,
            row.email,
            row.role,
            row.hasPassword ? 'yes' : 'no',
            row.emailVerified ? 'yes' : 'no',
            row.activeCourses,
            row.purchases,
            day(row.createdAt),
          ]),
        ),
      );
      print(`${rows.length} account(s). courses: courses they may read now.`);
    },
  },

  grant: {
    args: ['email', 'course'],
    options: { reason: { type: 'string' }, create: { type: 'boolean' } },
    requires: { reason: 'grant needs --reason, e.g. --reason gift (it goes into the access ledger and the audit log).' },
    async run(parsed, { ctx, config, actor }) {
      const [email, course] = parsed.positionals as [string, string];
      const reason = stringOption(parsed, 'reason');
      if (reason === undefined) throw new UsageError(this.requires!.reason!);
      const result = await t.grantCourse(ctx, { email, course, reason, actor, create: parsed.values.create === true });
      switch (result.kind) {
        case 'invalid':
          return failInvalid(result);
        case 'unknown-course':
          throw new Failure(await unknownCourse(ctx, result.course));
        case 'unknown-user':
          throw new Failure(`No account has the email ${result.email}. Add --create to create one (without a password).`);
        case 'already-owned':
          print(`${normaliseEmail(email)} can already read ${result.course.slug}: nothing written.`);
          return;
        case 'granted':
          if (result.createdUser) {
            print(`Created the account ${normaliseEmail(email)} (id ${result.userId}), without a password.`);
            print(`  They sign in with "Forgot your password?" or a sign-in link: ${new URL('/login', config.siteUrl).href}`);
          }
          print(
            `Granted ${result.course.slug} ("${result.course.title}") to ${normaliseEmail(email)}: purchase ${result.purchaseId}, reason "${reason.trim()}".`,
          );
          if (!result.course.published) print('  Note: this course is unpublished, so its lessons are not served until it is published again.');
          return;
      }
    },
  },

  revoke: {
    args: ['email', 'course'],
    options: { reason: { type: 'string' } },
    requires: { reason: 'revoke needs --reason, e.g. --reason "refunded by hand" (it goes into the access ledger and the audit log).' },
    async run(parsed, { ctx, actor }) {
      const [email, course] = parsed.positionals as [string, string];
      const reason = stringOption(parsed, 'reason');
      if (reason === undefined) throw new UsageError(this.requires!.reason!);
      const result = await t.revokeCourse(ctx, { email, course, reason, actor });
      switch (result.kind) {
        case 'invalid':
          return failInvalid(result);
        case 'unknown-course':
          throw new Failure(await unknownCourse(ctx, result.course));
        case 'unknown-user':
          throw new Failure(`No account has the email ${result.email}.`);
        case 'not-owned':
          print(`${normaliseEmail(email)} has no access to ${course} to revoke: nothing written.`);
          return;
        case 'revoked':
          print(`Revoked ${course} for ${normaliseEmail(email)}, reason "${reason.trim()}":`);
          for (const purchase of result.purchases) {
            print(
              `  purchase ${purchase.purchaseId} (${purchase.source === 'stripe' ? `Stripe ${purchase.checkoutSessionId}` : 'grant'}, was ${purchase.previous})`,
            );
          }
          if (result.purchases.some((purchase) => purchase.source === 'stripe')) {
            print('  The payment is not refunded: refund it in the Stripe Dashboard if you mean to.');
          }
          return;
      }
    },
  },

  purchases: {
    args: [],
    options: { course: { type: 'string' }, email: { type: 'string' }, csv: { type: 'boolean' } },
    async run(parsed, { ctx }) {
      const rows = await t.listPurchases(ctx.db, { course: stringOption(parsed, 'course'), email: stringOption(parsed, 'email') });
      if (parsed.values.csv) {
        process.stdout.write(t.purchasesCsv(rows));
        return;
      }
      if (rows.length === 0) {
        print('No purchases.');
        return;
      }
      print(
        textTable(
          ['>id', 'date', 'email', 'course', 'source', '>amount', 'status', 'access', 'stripe'],
          rows.map((row) => [
            row.id,
            day(row.createdAt),
            row.email,
            row.courseSlug,
            row.source,
            row.source === 'stripe' ? t.formatMinor(row.amountMinor, row.currency, 'en') : '',
            row.status,
            row.accessReason && row.access !== 'active' ? `${row.access} (${row.accessReason})` : row.access,
            row.checkoutSessionId ?? '',
          ]),
        ),
      );
      print(`${rows.length} purchase(s) and grant(s).`);
    },
  },

  audit: {
    args: [],
    options: { email: { type: 'string' }, limit: { type: 'string' } },
    async run(parsed, { ctx }) {
      const limit = Number(stringOption(parsed, 'limit') ?? 50);
      if (!Number.isSafeInteger(limit) || limit < 1) throw new UsageError('--limit is a positive number.');
      let subjectUserId: number | undefined;
      const email = stringOption(parsed, 'email');
      if (email !== undefined) {
        const state = await t.getAccountState(ctx.db, email);
        if ('kind' in state) failInvalid(state);
        if (!state.exists) throw new Failure(`No account has the email ${normaliseEmail(email)}.`);
        subjectUserId = state.userId;
      }
      const rows = await t.listAudit(ctx.db, { subjectUserId, limit });
      if (rows.length === 0) {
        print('No admin actions recorded.');
        return;
      }
      print(
        textTable(
          ['time', 'by', 'action', 'what happened', 'reason'],
          rows.map((row) => [
            new Date(row.createdAt).toISOString().replace('T', ' ').slice(0, 19),
            row.actorEmail ?? row.via,
            row.action,
            t.auditSentence(CLI_TEXTS, row),
            row.reason ?? '',
          ]),
        ),
      );
    },
  },

  backup: {
    args: ['file'],
    check(config) {
      if (!t.storeFilePath(config.databaseUrl) || config.databaseSyncUrl) {
        throw new Failure(
          'backup copies a store file; the store is a libSQL server (DATABASE_URL, or the primary of DATABASE_SYNC_URL). Use its own backups (Turso: point-in-time restore; sqld: its snapshots), or `npm run admin -- export <file>` for a snapshot of accounts and purchases.',
        );
      }
    },
    async run(parsed, { store, config }) {
      const source = t.storeFilePath(config.databaseUrl)!;
      const target = resolve(parsed.positionals[0]!);
      if (existsSync(target)) throw new Failure(`${target} exists already: choose a new file (a backup never overwrites one).`);
      mkdirSync(dirname(target), { recursive: true });
      const started = performance.now();
      // VACUUM INTO reads one consistent snapshot (a read transaction: in WAL mode writers go on)
      // and writes a compact copy, which it refuses to do over an existing file.
      await store.client.execute({ sql: 'VACUUM INTO ?', args: [target] });
      chmodSync(target, 0o600);
      const copy = t.createClient({ url: `file:${target}` });
      try {
        const check = await copy.execute('PRAGMA quick_check');
        if (String(check.rows[0]?.[0]) !== 'ok') throw new Failure(`The copy at ${target} failed its check: ${String(check.rows[0]?.[0])}`);
      } finally {
        copy.close();
      }
      const bytes = statSync(target).size;
      print(`Backed up ${source} to ${target}: ${formatBytes(bytes)} in ${Math.round(performance.now() - started)} ms, checked.`);
      print('  Restore: stop the site, put the copy in place of the store file (remove its -wal and -shm files), start the site.');
    },
  },

  export: {
    args: ['file'],
    async run(parsed, { ctx }) {
      const file = parsed.positionals[0]!;
      const snapshot = await t.exportSnapshot(ctx.db, ctx.clock.now());
      const json = `${JSON.stringify(snapshot, null, 1)}\n`;
      const summary = `${snapshot.users.length} account(s), ${snapshot.purchases.length} purchase(s), ${snapshot.ledger.length} ledger entr${snapshot.ledger.length === 1 ? 'y' : 'ies'}, ${snapshot.progress.length} progress mark(s), ${snapshot.waitlist.length} waitlist sign-up(s); schema ${snapshot.schema}`;
      if (file === '-') {
        process.stdout.write(json);
        note(`Exported ${summary}.`);
        return;
      }
      const target = resolve(file);
      mkdirSync(dirname(target), { recursive: true });
      try {
        // It holds password hashes: readable by the owner only, and never over an existing file.
        writeFileSync(target, json, { mode: 0o600, flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new Failure(`${target} exists already: choose a new file.`);
        throw error;
      }
      print(`Exported ${summary}, to ${target} (${formatBytes(Buffer.byteLength(json))}).`);
      print('  It contains password hashes and email addresses: keep it as safe as the store.');
    },
  },

  import: {
    args: ['file'],
    options: { 'dry-run': { type: 'boolean' } },
    async run(parsed, { ctx, actor }) {
      const snapshot = t.parseSnapshot(readJson(parsed.positionals[0]!));
      const dryRun = parsed.values['dry-run'] === true;
      const report = await t.importSnapshot(ctx, snapshot, { actor, dryRun });
      print(`${dryRun ? 'Dry run of the import of' : 'Imported'} the snapshot of ${snapshot.exportedAt} (schema ${snapshot.schema}):`);
      const line = (name: string, counts: ImportCounts) =>
        print(
          `  ${name.padEnd(10)} ${counts.added} ${dryRun ? 'to add' : 'added'}, ${counts.unchanged} already here${counts.kept ? `, ${counts.kept} differ here (the store's kept)` : ''}`,
        );
      line('accounts', report.users);
      line('purchases', report.purchases);
      line('ledger', report.ledger);
      line('progress', report.progress);
      line('waitlist', report.waitlist);
      if (report.renumberedUsers) print(`  ${report.renumberedUsers} account(s) got a new id (theirs was taken here): they sign in again.`);
      if (report.unknownCourses.length) print(`  Courses not in this store yet (run the content sync): ${report.unknownCourses.join(', ')}`);
      if (dryRun) print('Nothing written (dry run).');
    },
  },

  'import-django': {
    args: ['dump'],
    options: {
      apply: { type: 'boolean' },
      'allow-empty': { type: 'boolean' },
      verbose: { type: 'boolean' },
      map: { type: 'string', multiple: true },
      'user-model': { type: 'string' },
      'course-model': { type: 'string' },
      'enrolment-model': { type: 'string' },
    },
    async run(parsed, { ctx, config, actor }) {
      const file = parsed.positionals[0]!;
      const plan = await t.planDjangoImport(ctx.db, readDjangoDump(file), {
        courseMap: courseMapOption(parsed),
        userModel: stringOption(parsed, 'user-model'),
        courseModel: stringOption(parsed, 'course-model'),
        enrolmentModel: stringOption(parsed, 'enrolment-model'),
      });
      const apply = parsed.values.apply === true;
      const allowEmpty = parsed.values['allow-empty'] === true;
      printDjangoPlan(plan, parsed.values.verbose === true, config.passwordIterations);
      const problem = t.emptyImportProblem(plan);
      if (!apply) {
        if (problem) print(`\nWARNING: ${problem}${allowEmpty ? '' : ' --apply refuses until then.'}`);
        print('Dry run: nothing written. Run again with --apply to import.');
        return;
      }
      const result = await t.applyDjangoImport(ctx, plan, { actor, source: resolve(file), iterations: config.passwordIterations, allowEmpty });
      print(
        `Imported: ${result.usersCreated} account(s) created, ${result.granted} course(s) granted (reason "migration")` +
          (result.passwordsWrapped ? `, ${result.passwordsWrapped} bare Django password hash(es) of an earlier import wrapped` : '') +
          '.',
      );
    },
  },
  'import-django-content': {
    args: ['dump'],
    options: {
      'media-root': { type: 'string' },
      out: { type: 'string' },
      currency: { type: 'string' },
      force: { type: 'boolean' },
      'course-model': { type: 'string' },
      'document-model': { type: 'string' },
    },
    requires: {
      'media-root': "--media-root is the Django site's MEDIA_ROOT, where the documents' files are.",
      out: '--out is the courses folder to write into (e.g. courses).',
    },
    async runWithoutStore(parsed) {
      const currency = stringOption(parsed, 'currency');
      if (currency !== undefined && !t.isCurrency(currency.trim().toUpperCase()))
        throw new UsageError('--currency is a three-letter ISO 4217 code such as USD, EUR or JPY.');
      const [content, catalog] = await Promise.all([import('../src/catalog/django-content.ts'), import('../src/catalog/load.ts')]);
      const out = resolve(stringOption(parsed, 'out')!);
      const plan = await content.planDjangoContent(readDjangoDump(parsed.positionals[0]!), {
        mediaRoot: stringOption(parsed, 'media-root')!,
        currency: currency?.trim(),
        courseModel: stringOption(parsed, 'course-model'),
        documentModel: stringOption(parsed, 'document-model'),
      });
      const { siteWritten } = await content.writeDjangoContent(plan, out, { force: parsed.values.force === true, currency: currency?.trim() });
      print(`Django models: courses ${plan.models.courses}, documents ${plan.models.documents ?? '(none)'}.`);
      print(`Wrote ${plan.courses.length} course folder(s) to ${out}:`);
      for (const course of plan.courses) {
        print(`  ${course.slug}/ "${course.title}" (pk ${course.djangoPk}): ${course.lessons.length} lesson(s)`);
        for (const lesson of course.lessons)
          print(`    ${lesson.file}  ${lesson.kind === 'download' ? `download of ${lesson.source}` : `from ${lesson.source}`}`);
      }
      if (siteWritten) print(`  site.yaml was missing: written with a placeholder name, description and author; edit them.`);
      print('  Every lesson is paid, as on the Django site: mark free ones with "preview: true".');
      for (const problem of plan.problems) print(`  TO FIX: ${problem}`);
      try {
        const checked = await catalog.loadCatalog(out);
        print(
          `Check: ${checked.courses.length} course(s), ${checked.courses.reduce((n, c) => n + c.lessons.length, 0)} lesson(s): the catalogue accepts them (npm run check -- ${out}).`,
        );
      } catch (error) {
        if (!(error instanceof catalog.CatalogError)) throw error;
        throw new Failure(
          `Written, but the catalogue check found ${error.problems.length} problem(s) to fix:\n${catalog.formatProblems(error.problems)}\nFix them, then run npm run check -- ${out}`,
        );
      }
    },
  },
  'import-csv': {
    args: ['file'],
    options: { apply: { type: 'boolean' }, verbose: { type: 'boolean' }, map: { type: 'string', multiple: true } },
    async run(parsed, { ctx, config, actor }) {
      const { path: file, bytes } = readInput(parsed.positionals[0]!);
      const plan = await t.planCsvImport(ctx.db, bytes, { courseMap: courseMapOption(parsed) });
      printCsvPlan(plan, parsed.values.verbose === true);
      const refused = plan.rows.filter((row) => row.action === 'refused').length;
      if (parsed.values.apply !== true) {
        print('Dry run: nothing written. Run again with --apply to import' + (refused ? ' the rows that are not refused.' : '.'));
        return;
      }
      const result = await t.applyCsvImport(ctx, plan, { actor, source: file, iterations: config.passwordIterations });
      print(
        `Imported: ${result.usersCreated} account(s) created (without a password: they sign in by emailed link), ${result.granted} course(s) granted (reason "migration").`,
      );
      if (refused)
        throw new Failure(
          `${refused} row(s) refused (listed above): nothing was written for them. Fix them and run again; the rows imported now are skipped then.`,
        );
    },
  },
};

function printCsvPlan(plan: CsvPlan, verbose: boolean): void {
  const count = (action: string) => plan.rows.filter((row) => row.action === action).length;
  print(
    `Columns: ${plan.columns.map((column) => (plan.headers[column]?.toLowerCase() === column ? column : `${column} ("${plan.headers[column]}")`)).join(', ')} (separated by ${plan.delimiter === '\t' ? 'tabs' : `"${plan.delimiter}"`})${plan.ignoredColumns.length ? `; ignored: ${plan.ignoredColumns.join(', ')}` : ''}.`,
  );
  print(`Courses: ${plan.courses.filter((course) => course.match).length} of ${plan.courses.length} matched.`);
  for (const course of plan.courses) {
    print(
      `  "${course.name}" -> ${course.match ? `${course.match} (by ${course.matchedBy})` : `NO COURSE HERE${course.note ? ` (${course.note})` : ''}`}: ${course.rows} row(s)`,
    );
  }
  for (const key of plan.unusedMapKeys) print(`  --map "${key}=..." matches no course of the file: check the spelling.`);
  print(
    `Accounts: ${plan.accounts.filter((account) => account.action === 'create').length} to create (without a password), ${plan.accounts.filter((account) => account.action === 'exists').length} exist already (kept as they are).`,
  );
  print(
    `Rows: ${plan.rows.length}: ${count('grant')} to grant, ${count('owned')} already owned, ${count('imported-before')} imported before, ${count('duplicate')} duplicate(s), ${count('refused')} refused.`,
  );
  for (const row of plan.rows) {
    if (row.action === 'refused') print(`  line ${row.line}: refused: ${row.problems.join('; ')}`);
    else if (row.action === 'duplicate') print(`  line ${row.line}: duplicate (${row.problems.join('; ')})`);
    else if (verbose) print(`  line ${row.line}: ${row.action} ${row.email} ${row.course}`);
  }
}

/** `--map "<name>=<course slug>"`, repeatable: the names the other platform gives courses, to this store's slugs. */
function courseMapOption(parsed: Parsed): Record<string, string> {
  const courseMap: Record<string, string> = {};
  for (const pair of (parsed.values.map as string[] | undefined) ?? []) {
    const index = pair.lastIndexOf('=');
    if (index < 1 || index === pair.length - 1) throw new UsageError(`--map takes "<title or slug there>=<course slug here>", not "${pair}".`);
    courseMap[pair.slice(0, index)] = pair.slice(index + 1);
  }
  return courseMap;
}

function printDjangoPlan(plan: DjangoPlan, verbose: boolean, iterations: number): void {
  const count = <T>(items: T[], test: (item: T) => boolean) => items.filter(test).length;
  print(
    `Django models: users ${plan.models.users}, courses ${plan.models.courses ?? '(none)'}, enrolments ${plan.models.enrolments.join(' and ') || '(none)'}.`,
  );

  if (plan.models.ignored.length)
    print(
      `  Not read as enrolments: ${plan.models.ignored.join(', ')} (a wish list, favourites, progress or teachers give no course; if one holds purchases, name it with --enrolment-model).`,
    );
  print(`Courses: ${count(plan.courses, (c) => c.match !== null)} of ${plan.courses.length} matched.`);
  for (const course of plan.courses) {
    const ids = [course.djangoPk !== null ? `pk ${course.djangoPk}` : null, course.slug ? `slug ${course.slug}` : null].filter(Boolean);
    const name = `"${course.title ?? course.slug}"${ids.length ? ` (${ids.join(', ')})` : ''}`;
    const enrolled = `${course.enrolments} enrolment(s)`;
    if (course.match) print(`  ${name} -> ${course.match} (by ${course.matchedBy}): ${enrolled}, ${course.toGrant} to grant now`);
    else
      print(
        `  ${name} -> NO COURSE HERE${course.note ? ` (${course.note})` : ''}: ${enrolled}, none imported (use --map "${course.title ?? course.slug}=<course>")`,
      );
  }
  for (const key of plan.unusedMapKeys) print(`  --map "${key}=..." matches no Django course (by title or slug): check the spelling.`);

  const users = plan.users;
  print(
    `Accounts: ${count(users, (u) => u.action === 'create')} to create, ${count(users, (u) => u.action === 'exists')} exist already (kept as they are), ${count(users, (u) => u.action === 'skip')} skipped.`,
  );
  const created = users.filter((u) => u.action === 'create');
  print(
    `  of those created: ${count(created, (u) => u.password === 'kept')} keep their Django password, ${count(created, (u) => u.password !== 'kept')} choose one with "Forgot your password?"` +
      (count(created, (u) => u.password === 'unsupported')
        ? ` (${count(created, (u) => u.password === 'unsupported')} had a hash type this site cannot check)`
        : ''),
  );
  if (plan.rewrap.length) print(`  ${plan.rewrap.length} account(s) from an earlier import still hold a bare Django hash: it is wrapped in this site's.`);
  // A wrapped hash costs Django's iterations plus at least one: above this site's cost, a wrong password takes longer on those accounts.
  const djangoIterations = Math.max(
    0,
    ...[...created.map((u) => u.passwordHash), ...plan.rewrap.map((u) => u.passwordHash)].map((hash) => Number(hash?.split('$')[1] ?? 0)),
  );
  if (djangoIterations > iterations)
    print(
      `  WARNING: Django hashed with ${djangoIterations} iterations, more than this site's PASSWORD_ITERATIONS (${iterations}): a wrong password would take longer to refuse on the imported accounts than on others, which tells them apart. Set PASSWORD_ITERATIONS=${djangoIterations} or more, for the site and for this import.`,
    );
  const noEmail = users.filter((u) => u.action === 'skip' && !u.email);
  for (const user of users) {
    if (user.action === 'skip' && user.email)
      print(`  skip ${user.email}: ${user.note}${user.enrolments ? `; ${user.enrolments} enrolment(s) not imported` : ''}`);
    else if (verbose && user.action !== 'skip') print(`  ${user.action} ${user.email}${user.action === 'create' ? ` (password: ${user.password})` : ''}`);
  }
  if (noEmail.length) {
    print(`  Without a valid email (they cannot sign in here; give them an account by hand with grant --create):`);
    for (const user of noEmail)
      print(
        `    ${user.username ?? '(no username)'}${user.djangoPk !== null ? ` (pk ${user.djangoPk})` : ''}: ${user.note}${user.enrolments ? `; ${user.enrolments} enrolment(s) not imported` : ''}`,
      );
  }
  const superusers = users.filter((u) => u.superuser && u.action !== 'skip');
  if (superusers.length) print(`  Django superusers are imported as members; make admins with create-admin: ${superusers.map((u) => u.email).join(', ')}`);

  const enrolments = plan.enrolments;
  print(
    `Enrolments: ${enrolments.length} in the dump: ${count(enrolments, (e) => e.action === 'grant')} to grant, ${count(enrolments, (e) => e.action === 'owned')} already owned, ` +
      `${count(enrolments, (e) => e.action === 'imported-before')} imported before, ${count(enrolments, (e) => e.action === 'duplicate')} duplicate(s), ${count(enrolments, (e) => e.action === 'skip')} skipped.`,
  );
  for (const enrolment of enrolments) {
    if (enrolment.action === 'skip') print(`  skip enrolment ${enrolment.djangoPk}${enrolment.email ? ` of ${enrolment.email}` : ''}: ${enrolment.note}`);
    else if (verbose) print(`  ${enrolment.action} ${enrolment.email} ${enrolment.course}`);
  }
}

async function unknownCourse(ctx: AdminContext, slug: string): Promise<string> {
  const courses = await t.listCourses(ctx.db);
  return courses.length
    ? `No course "${slug}" in the store. Its courses: ${courses.map((course) => course.slug).join(', ')}.`
    : `No course "${slug}": the store has no courses yet (npm start, or npm run content:sync after a build, writes them).`;
}

/** A Django dump in any of the forms dumpdata writes it (see readDjangoDump). */
function readDjangoDump(file: string): unknown {
  let { path, bytes } = readInput(file);
  // `dumpdata -o dump.json.gz` (or .bz2, .xz, .lzma) compresses by the file's extension.
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new Failure(`${path} is gzip, but cannot be decompressed: ${(error as Error).message}`);
    }
  } else if (
    bytes.subarray(0, 3).toString('latin1') === 'BZh' ||
    bytes.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) ||
    bytes[0] === 0x5d
  )
    throw new Failure(`${path} is compressed with bzip2, xz or lzma: decompress it first (bunzip2, unxz), or dump it again to a .json or .json.gz file.`);
  return t.readDjangoDump(bytes);
}

/** A file's bytes and its full path, or a Failure that says why it cannot be read. */
function readInput(file: string): { path: string; bytes: Buffer } {
  const path = resolve(file);
  try {
    return { path, bytes: readFileSync(path) };
  } catch (error) {
    throw new Failure(`Cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

function readJson(file: string): unknown {
  const { path, bytes } = readInput(file);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new Failure(`${path} is not JSON: ${(error as Error).message}`);
  }
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

// --- Running a command ---------------------------------------------------------------------------

/** The settings the tool uses (the store and password hashing), with the server's defaults. */
function readConfig(): Config {
  const env = t.readNodeEnv();
  // HOST and PORT: without SITE_URL, the sign-in address printed is the server's (http://HOST:PORT).
  const keep = ['DATABASE_URL', 'DATABASE_AUTH_TOKEN', 'DATABASE_SYNC_URL', 'PASSWORD_ITERATIONS', 'SITE_URL', 'HOST', 'PORT'];
  // Not NODE_ENV: production's checks are about serving (secrets, SMTP, Stripe), not this tool.
  return t.parseConfig(Object.fromEntries(keep.map((key) => [key, env[key]])), { signsSessions: false });
}

async function openSession(config: Config): Promise<Session> {
  // With a replica, the tool works on the primary itself (openToolStore): what it reads is current.
  const path = config.databaseSyncUrl ? null : t.storeFilePath(config.databaseUrl);
  if (path && !existsSync(path)) throw new Failure(`There is no store at ${path} (DATABASE_URL). Create it with \`npm run db:migrate\`.`);
  const store = await t.openToolStore(config);
  try {
    await t.assertMigrated(store.client);
  } catch (error) {
    store.close();
    throw error;
  }
  const ctx: AdminContext = { db: store.db, clock: { now: () => Date.now() } };
  return { store, config, ctx, actor: { userId: null, via: 'cli' } };
}

/** An unexpected error with its causes (a failed query says why only in its cause). */
function describe(error: unknown): string {
  const parts: string[] = [];
  for (let current = error; current; current = (current as { cause?: unknown }).cause) {
    parts.push(current instanceof Error ? current.message : String(current));
    if (!(current instanceof Error)) break;
  }
  return parts.join('\n  because: ');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' || name === '--help' || name === '-h') {
    print(USAGE);
    return 0;
  }
  const command = name ? COMMANDS[name] : undefined;
  let session: Session | undefined;
  try {
    if (!command) throw new UsageError(name ? `Unknown command "${name}".` : 'No command given.');
    let parsed: Parsed;
    try {
      parsed = parseArgs({ args: rest, options: command.options ?? {}, allowPositionals: true, strict: true }) as Parsed;
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (parsed.positionals.length !== command.args.length) {
      throw new UsageError(
        `${name} takes ${command.args.length ? command.args.map((arg) => `<${arg}>`).join(' ') : 'no arguments'}${parsed.positionals.length ? `, not "${parsed.positionals.join(' ')}"` : ''}.`,
      );
    }
    for (const [option, message] of Object.entries(command.requires ?? {})) if (parsed.values[option] === undefined) throw new UsageError(message);
    t = await loadTools();
    if ('runWithoutStore' in command) {
      await command.runWithoutStore(parsed);
      return 0;
    }
    const config = readConfig();
    command.check?.(config);
    session = await openSession(config);
    await command.run(parsed, session);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      note(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    const known = error instanceof Failure || (error instanceof Error && EXPLAINED.has(error.name));
    note(known ? (error as Error).message : `Failed: ${describe(error)}`);
    return 1;
  } finally {
    session?.store.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
