// Moving members and purchases from a hosted course platform (Teachable, Podia, Gumroad, ...):
// their exports differ, so the author brings them to one documented column set, a CSV file with a
// header row (docs/admin.md):
//   email, name, course, date, amount, currency, reference
// (only email and course are required; names in any case, or the other names platforms and a
// French spreadsheet give them, COLUMN_NAMES; comma, semicolon or tab; quoted fields; UTF-8, UTF-16
// or the Windows code page, see decodeExport; other columns are ignored and named). Each row
// grants its member the course (reason `migration`), creating the account without a password (the
// member signs in by emailed link or chooses one). planCsvImport decides
// without writing (the dry run), with every refused row's line and reasons; applyCsvImport writes
// the rows that passed, through the same writer as import-django (migration-import.ts). A row's
// key is its `reference` (`csv <reference>`, else `csv <email> <course>`), written as the grant's
// ledger note, so a second run changes nothing.
import { emailSchema } from '../auth/credentials.ts';
import type { Db } from '../context.ts';
import { isCurrency, parsePrice } from '../money.ts';
import type { AdminActor, AdminContext } from '../admin/audit.ts';
import { applyMigration, asciiWords, courseMatcher, decodeExport, readMigrationState, type CourseMatch, type MigrationResult } from './migration-import.ts';

export const CSV_IMPORT_COLUMNS = ['email', 'name', 'course', 'date', 'amount', 'currency', 'reference'] as const;
type Column = (typeof CSV_IMPORT_COLUMNS)[number];
const REQUIRED: Column[] = ['email', 'course'];
/**
 * Other names the columns go by in platforms' exports and in French, compared without case,
 * accents or punctuation. A column named exactly wins over one named by another name.
 */
const COLUMN_NAMES: Record<Column, string[]> = {
  email: ['e mail', 'email address', 'e mail address', 'customer email', 'buyer email', 'student email', 'courriel', 'adresse e mail', 'adresse email'],
  name: ['full name', 'customer name', 'buyer name', 'student name', 'nom', 'nom complet'],
  course: ['course name', 'course title', 'product', 'product name', 'cours', 'formation', 'titre du cours'],
  date: ['purchase date', 'purchased at', 'created at', 'order date', 'enrolled at', 'enrollment date', 'date d achat'],
  amount: ['price', 'total', 'amount paid', 'final price', 'montant', 'prix'],
  currency: ['devise', 'monnaie'],
  reference: ['order id', 'order number', 'transaction id', 'charge id', 'payment id', 'sale id', 'reference id', 'id de commande', 'numero de commande'],
};

const KEY_PREFIX = 'csv ';
const MAX_TEXT = 200;

export class CsvImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvImportError';
  }
}

export type CsvRecord = { line: number; fields: string[] };

type Delimiter = ',' | ';' | '\t';

/** Which of comma, semicolon and tab separates the header's fields (outside quotes); comma on a tie. */
function delimiterOf(text: string): Delimiter {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\n' || char === '\r')) break;
    else if (!quoted && char in counts) counts[char as Delimiter]++;
  }
  return (Object.keys(counts) as Delimiter[]).reduce((best, next) => (counts[next] > counts[best] ? next : best), ',');
}

/**
 * RFC 4180 records, each with the line it starts on: fields quoted with `"` may hold the
 * delimiter, line breaks and doubled quotes. Lines with nothing on them are skipped.
 */
export function parseCsvRecords(input: string): { delimiter: Delimiter; records: CsvRecord[] } {
  const text = input.replace(/^\uFEFF/, '');
  const delimiter = delimiterOf(text);
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let quoteLine = 0;
  let line = 1;
  let start = 1;
  const endRecord = () => {
    fields.push(field);
    if (fields.length > 1 || fields[0]!.trim() !== '') records.push({ line: start, fields });
    fields = [];
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else {
        if (char === '\n') line++;
        field += char;
      }
    } else if (char === '"' && field.trim() === '') {
      quoted = true;
      quoteLine = line;
      field = '';
    } else if (char === delimiter) {
      fields.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      start = ++line;
    } else field += char;
  }
  if (quoted) throw new CsvImportError(`Line ${quoteLine}: a quoted field is never closed (a " is missing): nothing was read after it.`);
  if (field !== '' || fields.length) endRecord();
  return { delimiter, records };
}

export type PlannedCsvRow = {
  line: number;
  email: string | null;
  /** The course as the file names it, and this store's course it matched. */
  courseName: string;
  course: string | null;
  key: string | null;
  action: 'grant' | 'owned' | 'imported-before' | 'duplicate' | 'refused';
  /** Why a row is refused (every reason), or what it duplicates. */
  problems: string[];
  purchasedAt: number | null;
  detail: { line: number; name?: string; date?: string; amount?: string; currency?: string; reference?: string };
};

export type CsvPlan = {
  delimiter: Delimiter;
  /** The file's columns that this import reads (with the header's name for each), and those it ignores. */
  columns: Column[];
  headers: Partial<Record<Column, string>>;
  ignoredColumns: string[];
  rows: PlannedCsvRow[];
  /** Each course name of the file with its match here and its number of rows. */
  courses: ({ name: string; rows: number } & CourseMatch)[];
  unusedMapKeys: string[];
  accounts: { email: string; action: 'create' | 'exists'; createdAt: number | null }[];
};

/** A date or a moment: `2021-03-04`, or ISO 8601 with a time; without an offset it is UTC. */
export function parseImportDate(value: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?)?$/i.exec(value.trim());
  if (!match) return null;
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '', zone = 'Z'] = match;
  const offset = /^(z|utc)$/i.test(zone) ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const ms = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}${fraction.slice(0, 4)}${offset}`);
  if (Number.isNaN(ms)) return null;
  const check = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (check.getUTCMonth() !== Number(month) - 1 || check.getUTCDate() !== Number(day) || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59)
    return null;
  return ms;
}

/** Why an amount is not one of `currency` (null when it is): "49.00", "49" and "0" are. */
function amountProblem(amount: string, currency: string): string | null {
  if (/^-/.test(amount)) return `amount "${amount}" is negative: leave refunds out (a refunded purchase gives no access)`;
  if (/^\d+,\d+$/.test(amount)) return `amount "${amount}" has a decimal comma: write ${amount.replace(',', '.')}`;
  if (/^0+(\.0+)?$/.test(amount)) return null;
  const price = parsePrice(amount, currency);
  return 'message' in price ? `amount: ${price.message}` : null;
}

/** Reads a CSV export and decides what importing it would do, without writing anything. */
export async function planCsvImport(db: Db, file: string | Uint8Array, options: { courseMap?: Record<string, string> } = {}): Promise<CsvPlan> {
  const { delimiter, records } = parseCsvRecords(typeof file === 'string' ? file : decodeExport(file));
  const [header, ...data] = records;
  if (!header) throw new CsvImportError(`The file is empty. Its first line is the header: ${CSV_IMPORT_COLUMNS.join(', ')}.`);
  // Compared as COLUMN_NAMES spells them: lower case, no accents, words between single spaces.
  const names = header.fields.map((name) => asciiWords(name, ' '));
  const index = new Map<Column, number>();
  names.forEach((name, position) => {
    if (!(CSV_IMPORT_COLUMNS as readonly string[]).includes(name)) return;
    if (index.has(name as Column)) throw new CsvImportError(`Line ${header.line}: the column "${name}" is there twice.`);
    index.set(name as Column, position);
  });
  names.forEach((name, position) => {
    const column = CSV_IMPORT_COLUMNS.find((candidate) => COLUMN_NAMES[candidate].includes(name));
    if (column && !index.has(column)) index.set(column, position);
  });
  const used = new Set(index.values());
  const ignoredColumns = header.fields
    .map((field, position) => (used.has(position) ? null : field.trim() || `(column ${position + 1} without a name)`))
    .filter((field): field is string => field !== null);
  const missing = REQUIRED.filter((name) => !index.has(name));
  if (missing.length) {
    throw new CsvImportError(
      `Line ${header.line} must be the header, naming the columns: ${CSV_IMPORT_COLUMNS.join(', ')} (email and course are required; any case; comma, semicolon or tab). ` +
        `It lacks ${missing.join(' and ')}; it reads: ${header.fields.map((field) => `"${field}"`).join(delimiter)}.`,
    );
  }
  if (!data.length) throw new CsvImportError('The file has a header but no rows.');

  const state = await readMigrationState(db, KEY_PREFIX);
  const matcher = courseMatcher(state.courses, options.courseMap);
  const courses = new Map<string, CsvPlan['courses'][number]>();
  const known =
    state.courses
      .map((course) => course.slug)
      .sort()
      .join(', ') || '(none: run the content sync first)';
  const byReference = new Map<string, PlannedCsvRow>();
  const planned = new Set<string>();
  const rows: PlannedCsvRow[] = [];

  for (const record of data) {
    const value = (column: Column) => (index.has(column) ? (record.fields[index.get(column)!] ?? '').trim() : '');
    const problems: string[] = [];
    if (record.fields.length > names.length) {
      problems.push(`it has ${record.fields.length} fields and the header ${names.length}: a "${delimiter}" inside a field needs quotes around the field`);
    }
    const rawEmail = value('email');
    const email = emailSchema.safeParse(rawEmail);
    if (!rawEmail) problems.push('no email');
    else if (!email.success) problems.push(`"${rawEmail}" is not an email address`);

    const courseName = value('course');
    let course: string | null = null;
    if (!courseName) problems.push('no course');
    else {
      let entry = courses.get(courseName.toLowerCase());
      if (!entry) {
        entry = { name: courseName, rows: 0, ...matcher.match(courseName.toLowerCase(), courseName) };
        courses.set(courseName.toLowerCase(), entry);
      }
      entry.rows++;
      course = entry.match;
      if (!course)
        problems.push(
          `course "${courseName}" is not a course here${entry.note ? ` (${entry.note})` : ''}: map it with --map "${courseName}=<course>" (courses here: ${known})`,
        );
    }

    const date = value('date');
    const purchasedAt = date ? parseImportDate(date) : null;
    if (date && purchasedAt === null) problems.push(`date "${date}" is not a date such as 2021-03-04 or 2021-03-04T10:11:12Z (day/month orders are ambiguous)`);

    const amount = value('amount');
    const currency = value('currency').toUpperCase();
    if (currency && !isCurrency(currency)) problems.push(`currency "${value('currency')}" is not a three-letter ISO 4217 code such as USD or EUR`);
    else if (amount && !currency) problems.push(`amount "${amount}" has no currency`);
    else if (amount) {
      const problem = amountProblem(amount, currency);
      if (problem) problems.push(problem);
    }

    const name = value('name');
    const reference = value('reference');
    for (const [column, text] of [
      ['name', name],
      ['reference', reference],
    ] as const)
      if (text.length > MAX_TEXT) problems.push(`${column} is longer than ${MAX_TEXT} characters`);

    const row: PlannedCsvRow = {
      line: record.line,
      email: email.success ? email.data : null,
      courseName,
      course,
      key: null,
      action: 'refused',
      problems,
      purchasedAt,
      detail: {
        line: record.line,
        name: name || undefined,
        date: purchasedAt === null ? undefined : new Date(purchasedAt).toISOString(),
        amount: amount || undefined,
        currency: currency || undefined,
        reference: reference || undefined,
      },
    };
    rows.push(row);
    if (problems.length || !row.email || !course) continue;

    const earlier = reference ? byReference.get(reference) : undefined;
    if (earlier && (earlier.email !== row.email || earlier.course !== course)) {
      problems.push(`reference "${reference}" is also on line ${earlier.line}, for ${earlier.email} and ${earlier.course}: a reference names one purchase`);
      continue;
    }
    if (reference && !earlier) byReference.set(reference, row);
    row.key = `${KEY_PREFIX}${reference || `${row.email} ${course}`}`;
    const pair = `${row.email} ${course}`;
    if (state.importedGrants.has(`${pair} ${row.key}`)) row.action = 'imported-before';
    else if (state.ownedPairs.has(pair)) row.action = 'owned';
    else if (planned.has(pair)) {
      row.action = 'duplicate';
      problems.push(earlier ? `same reference as line ${earlier.line}` : 'the member gets this course from an earlier line');
    } else {
      row.action = 'grant';
      planned.add(pair);
    }
  }

  const accounts = new Map<string, CsvPlan['accounts'][number]>();
  for (const row of rows) {
    if (row.action === 'refused' || !row.email) continue;
    const account = accounts.get(row.email) ?? { email: row.email, action: state.accounts.has(row.email) ? 'exists' : 'create', createdAt: null };
    if (row.purchasedAt !== null && (account.createdAt === null || row.purchasedAt < account.createdAt)) account.createdAt = row.purchasedAt;
    accounts.set(row.email, account);
  }
  return {
    delimiter,
    columns: CSV_IMPORT_COLUMNS.filter((column) => index.has(column)),
    headers: Object.fromEntries([...index].map(([column, position]) => [column, header.fields[position]!.trim()])),
    ignoredColumns,
    rows,
    courses: [...courses.values()],
    unusedMapKeys: matcher.unusedMapKeys(),
    accounts: [...accounts.values()],
  };
}

/**
 * Writes the rows of a plan that passed: the new accounts (no password) and a grant per row to
 * grant, with its audit row holding the file's date, amount, currency, reference and name, and
 * one audit row for the import, in one atomic batch. Refused rows write nothing; a plan of which
 * every row is refused is refused whole (CsvImportError).
 */
export async function applyCsvImport(
  ctx: AdminContext,
  plan: CsvPlan,
  options: { actor: AdminActor; iterations: number; source?: string },
): Promise<MigrationResult> {
  const refused = plan.rows.filter((row) => row.action === 'refused');
  if (refused.length === plan.rows.length) throw new CsvImportError(`Nothing written: every row (${refused.length}) was refused. Fix them and run again.`);
  const grants = plan.rows.filter((row) => row.action === 'grant');
  const accounts = plan.accounts.filter((account) => account.action === 'create');
  return applyMigration(ctx, {
    accounts: accounts.map((account) => ({ email: account.email, passwordHash: null, createdAt: account.createdAt })),
    grants: grants.map((row) => ({ email: row.email!, course: row.course!, key: row.key!, detail: row.detail })),
    actor: options.actor,
    audit: {
      action: 'import-csv',
      detail: { source: options.source, rows: plan.rows.length, accounts: accounts.length, grants: grants.length, refused: refused.length },
    },
    iterations: options.iterations,
  });
}
