// Writing what an import from another platform decided (import-django, import-csv): new accounts,
// each with the password hash it brought (a Django hash wrapped in ours) or none, and a grant
// (reason `migration`) per enrolment or purchase, whose ledger note is the import's key for it, so
// that it is never granted twice, even after an admin revoked it. One atomic batch, conditional
// throughout, so a plan applied twice, or racing a purchase, writes nothing twice.
import { sql, type SQL } from 'drizzle-orm';
import { grantAccessSql } from '../access/ledger.ts';
import { wrapDjangoHash } from '../auth/password-hasher.ts';
import { rowsAffected } from '../db/results.ts';
import type { Db } from '../context.ts';
import { auditSql, runBatch, type AdminActor, type AdminContext } from '../admin/audit.ts';

export type MigrationAccount = { email: string; passwordHash: string | null; createdAt: number | null };

export type MigrationGrant = {
  email: string;
  course: string;
  /** The ledger note that marks this grant as imported, e.g. `django courses.enrollment#101`. */
  key: string;
  /** Kept in the grant's audit row (the other platform's date, amount, reference). */
  detail?: Record<string, unknown>;
};

export type MigrationResult = { usersCreated: number; granted: number; passwordsWrapped: number };

/** What the store has already, which every import plan needs to decide. */
export async function readMigrationState(db: Db, keyPrefix: string) {
  const [accounts, courses, owned, imported] = await Promise.all([
    db.all<{ email: string; password_hash: string | null }>(sql`SELECT email, password_hash FROM users`),
    db.all<{ slug: string; title: string }>(sql`SELECT slug, title FROM courses`),
    db.all<{ email: string; course: string }>(
      sql`SELECT DISTINCT u.email AS email, p.course_slug AS course FROM purchases p JOIN users u ON u.id = p.user_id
        WHERE (SELECT l.action FROM access_ledger l WHERE l.purchase_id = p.id ORDER BY l.seq DESC LIMIT 1) IN ('grant', 'restore')`,
    ),
    db.all<{ note: string; email: string; course: string }>(
      sql`SELECT DISTINCT l.note AS note, u.email AS email, l.course_slug AS course FROM access_ledger l JOIN users u ON u.id = l.user_id
        WHERE substr(l.note, 1, ${keyPrefix.length}) = ${keyPrefix}`,
    ),
  ]);
  return {
    accounts: new Map(accounts.map((row) => [row.email, row.password_hash])),
    courses,
    ownedPairs: new Set(owned.map((row) => `${row.email} ${row.course}`)),
    importedKeys: new Set(imported.map((row) => row.note)),
    /** `<email> <course> <key>` of every grant imported before: a key is the import's only for that member and course. */
    importedGrants: new Set(imported.map((row) => `${row.email} ${row.course} ${row.note}`)),
  };
}

export type CourseMatch = { match: string | null; matchedBy: 'slug' | 'title' | 'mapping' | null; note: string | null };

/**
 * Matches the other platform's courses to this store's: an explicit mapping (`--map`, keyed by
 * the course's title or slug there, in any case), then the slug, then the title (any case).
 * `unusedMapKeys` names the mapping keys that matched nothing, which are usually typos.
 */
export function courseMatcher(courses: { slug: string; title: string }[], courseMap: Record<string, string> = {}) {
  const mapping = new Map(Object.entries(courseMap).map(([key, value]) => [key.trim().toLowerCase(), value.trim()]));
  const used = new Set<string>();
  const bySlug = new Set(courses.map((course) => course.slug));
  const byTitle = new Map(courses.map((course) => [course.title.trim().toLowerCase(), course.slug]));
  return {
    match(slug: string | null, title: string | null): CourseMatch {
      const key = [slug, title].map((name) => name?.trim().toLowerCase()).find((name) => name && mapping.has(name));
      if (key) {
        used.add(key);
        const mapped = mapping.get(key)!;
        return bySlug.has(mapped)
          ? { match: mapped, matchedBy: 'mapping', note: null }
          : { match: null, matchedBy: null, note: `mapped to "${mapped}", which is not a course here` };
      }
      if (slug && bySlug.has(slug)) return { match: slug, matchedBy: 'slug', note: null };
      const byName = title ? byTitle.get(title.trim().toLowerCase()) : undefined;
      if (byName) return { match: byName, matchedBy: 'title', note: null };
      return { match: null, matchedBy: null, note: null };
    },
    unusedMapKeys: () => [...mapping.keys()].filter((key) => !used.has(key)),
  };
}

/**
 * The text of a file exported from another platform: UTF-8 (a byte order mark dropped), UTF-16
 * with its byte order mark (Windows PowerShell's `>`, Excel's "Unicode text"), else the Windows
 * code page that a redirected Python or Excel's "CSV" writes on a French or English Windows.
 */
export function decodeExport(bytes: Uint8Array): string {
  let text: string;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) text = new TextDecoder('utf-16le').decode(bytes.subarray(2));
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) text = new TextDecoder('utf-16be').decode(bytes.subarray(2));
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      text = new TextDecoder('windows-1252').decode(bytes);
    }
  }
  return text.replace(/^\uFEFF/, '');
}

/** A name as plain words: accents dropped, lower case, ASCII letters and digits between single `separator`s. */
export function asciiWords(name: string, separator: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, separator)
    .split(separator)
    .filter(Boolean)
    .join(separator);
}

/** A Django `pbkdf2_sha256$` hash stored as it came (imports before hashes were wrapped). */
export function isBareDjangoHash(hash: string | null | undefined): hash is string {
  return typeof hash === 'string' && hash.startsWith('pbkdf2_sha256$');
}

/** Runs `work` over `items`, `limit` at a time (hashing uses the thread pool's few threads). */
async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export async function applyMigration(
  ctx: AdminContext,
  input: {
    accounts: MigrationAccount[];
    grants: MigrationGrant[];
    /** Accounts here still holding a bare Django hash (see isBareDjangoHash): wrapped in ours. */
    rewrap?: { email: string; passwordHash: string }[];
    actor: AdminActor;
    /** The import's own audit row: `import-django`, `import-csv`, with what it did. */
    audit: { action: string; detail: Record<string, unknown> };
    iterations: number;
  },
): Promise<MigrationResult> {
  const now = ctx.clock.now();
  const wrap = async (hash: string | null) => (hash && (await wrapDjangoHash(hash, { iterations: input.iterations }))) ?? hash;
  const accountHashes = await mapLimited(input.accounts, 4, (account) => wrap(account.passwordHash));
  const rewrapped = await mapLimited(input.rewrap ?? [], 4, (account) => wrap(account.passwordHash));

  const statements: SQL[] = [];
  const userStatements = new Set<number>();
  const wrapStatements = new Set<number>();
  const ledgerStatements = new Set<number>();
  input.accounts.forEach((account, index) => {
    userStatements.add(statements.length);
    statements.push(sql`INSERT INTO users (email, password_hash, session_version, role, created_at, updated_at)
      VALUES (${account.email}, ${accountHashes[index]}, 1, 'member', ${account.createdAt ?? now}, ${now}) ON CONFLICT(email) DO NOTHING`);
  });
  (input.rewrap ?? []).forEach((account, index) => {
    wrapStatements.add(statements.length);
    // Only if the hash is still the bare one: a member who signed in meanwhile has ours already.
    statements.push(
      sql`UPDATE users SET password_hash = ${rewrapped[index]}, updated_at = ${now} WHERE email = ${account.email} AND password_hash = ${account.passwordHash}`,
    );
  });
  // An enrolment of an account this import creates is the old platform's buyer with their own
  // password; one of an account that was here already is for the address, like an author's grant,
  // and opens once that address is verified (docs/decisions/0006-email-verification.md).
  const created = new Set(input.accounts.map((account) => account.email));
  for (const grantInput of input.grants) {
    const userId = sql`(SELECT id FROM users WHERE email = ${grantInput.email})`;
    const grant = grantAccessSql({
      userId,
      courseSlug: grantInput.course,
      reason: 'migration',
      actorUserId: input.actor.userId,
      note: grantInput.key,
      now,
      requiresVerifiedEmail: !created.has(grantInput.email),
      unless: sql`EXISTS (SELECT 1 FROM access_ledger WHERE user_id = ${userId} AND course_slug = ${grantInput.course} AND note = ${grantInput.key})`,
    });
    statements.push(grant.purchase);
    ledgerStatements.add(statements.length);
    statements.push(grant.ledger);
    statements.push(
      auditSql({
        actor: input.actor,
        action: 'grant',
        subjectUserId: userId,
        courseSlug: grantInput.course,
        reason: 'migration',
        detail: { purchaseId: grant.purchaseId, import: grantInput.key, ...grantInput.detail },
        now,
        onlyIfChanged: true,
      }),
    );
  }
  if (statements.length === 0) return { usersCreated: 0, granted: 0, passwordsWrapped: 0 };
  statements.push(auditSql({ actor: input.actor, action: input.audit.action, detail: input.audit.detail, now }));
  const results = await runBatch(ctx.db, statements);
  const result: MigrationResult = { usersCreated: 0, granted: 0, passwordsWrapped: 0 };
  results.forEach((row, index) => {
    if (userStatements.has(index)) result.usersCreated += rowsAffected(row);
    if (wrapStatements.has(index)) result.passwordsWrapped += rowsAffected(row);
    if (ledgerStatements.has(index)) result.granted += rowsAffected(row);
  });
  return result;
}
