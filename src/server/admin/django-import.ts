// Moving members from a Django site: `manage.py dumpdata --indent 2 > dump.json` gives a list of
// {model, pk, fields}. From it come
//   - accounts, from the user model (`auth.user`, or a custom `<app>.user` with email and
//     password): email, the password hash as it is when it is Django's default PBKDF2-SHA256
//     (our verifier accepts it and rehashes at the first sign-in), and date_joined;
//   - courses, from the `<app>.course` model, matched to this store's courses by slug, then by
//     title (or name), or by an explicit mapping;
//   - enrolments, from a model whose objects have a user (`user`, `student` or `member`) and a
//     `course` (e.g. `courses.enrollment`), each becoming a grant with reason `migration`.
// planDjangoImport reads and decides without writing (the dry run); applyDjangoImport writes the
// plan in one atomic batch. Both are idempotent: an existing account is left as it is, a member
// who may read the course gets nothing, and an enrolment imported once is never granted again
// (its ledger note names it), even after an admin revoked it.
import { sql, type SQL } from 'drizzle-orm';
import { grantAccessSql } from '../access/ledger.ts';
import { rowsAffected } from '../db/results.ts';
import { emailSchema } from '../auth/credentials.ts';
import type { Db } from '../context.ts';
import { auditSql, type AdminActor, type AdminContext } from './audit.ts';
import { runBatch } from './batch.ts';

export type DjangoObject = { model: string; pk: unknown; fields: Record<string, unknown> };

export type DjangoImportOptions = {
  /** Model labels, when the guess is not right: `accounts.user`, `school.course`, `school.enrolment`. */
  userModel?: string;
  courseModel?: string;
  enrolmentModel?: string;
  /** Django course slug (or title) → this store's course slug, for courses renamed on the way. */
  courseMap?: Record<string, string>;
};

export type PasswordOutcome =
  /** A `pbkdf2_sha256$...` hash, kept: the member signs in with their old password. */
  | 'kept'
  /** Unusable (`!...`) or empty: the member chooses one with "Forgot your password?". */
  | 'none'
  /** Another algorithm (argon2, bcrypt, ...) that this site cannot verify: as `none`. */
  | 'unsupported';

export type PlannedUser = {
  djangoPk: string;
  username: string | null;
  email: string | null;
  action: 'create' | 'exists' | 'skip';
  /** Why a user is skipped or merged. */
  note: string | null;
  password: PasswordOutcome;
  passwordHash: string | null;
  superuser: boolean;
  createdAt: number | null;
};

export type PlannedCourse = {
  djangoPk: string;
  slug: string | null;
  title: string | null;
  /** This store's course, or null when none matches. */
  match: string | null;
  matchedBy: 'slug' | 'title' | 'mapping' | null;
  enrolments: number;
};

export type PlannedEnrolment = {
  djangoPk: string;
  /** The ledger note that marks this enrolment as imported: `django <model>#<pk>`. */
  key: string;
  email: string | null;
  course: string | null;
  action: 'grant' | 'owned' | 'imported-before' | 'duplicate' | 'skip';
  note: string | null;
  enrolledAt: number | null;
};

export type DjangoPlan = {
  models: { users: string; courses: string | null; enrolments: string | null };
  users: PlannedUser[];
  courses: PlannedCourse[];
  enrolments: PlannedEnrolment[];
};

export class DjangoDumpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DjangoDumpError';
  }
}

const USER_FIELDS = ['user', 'student', 'member'] as const;
const INACTIVE_STATUSES = new Set(['refunded', 'cancelled', 'canceled', 'revoked', 'inactive', 'expired', 'pending']);

function parseDump(value: unknown): DjangoObject[] {
  if (!Array.isArray(value)) throw new DjangoDumpError('A Django dump is a JSON list of objects (made by `manage.py dumpdata`).');
  return value.map((item, index) => {
    const object = item as Partial<DjangoObject> | null;
    if (!object || typeof object.model !== 'string' || typeof object.fields !== 'object' || object.fields === null) {
      throw new DjangoDumpError(`Item ${index} of the dump is not a {model, pk, fields} object.`);
    }
    return { model: object.model.toLowerCase(), pk: object.pk, fields: object.fields as Record<string, unknown> };
  });
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

function timeOf(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

function pkKey(value: unknown): string | null {
  if (typeof value === 'number' || typeof value === 'string') return String(value);
  return null;
}

/** A foreign key as dumpdata writes it: a primary key, or with --natural-foreign a one-item natural key. */
function reference(value: unknown): { pk: string } | { natural: string } | null {
  if (Array.isArray(value)) return value.length === 1 && typeof value[0] === 'string' ? { natural: value[0] } : null;
  const pk = pkKey(value);
  return pk === null ? null : { pk };
}

function passwordOf(raw: unknown): { outcome: PasswordOutcome; hash: string | null } {
  const value = typeof raw === 'string' ? raw : '';
  if (value === '' || value.startsWith('!')) return { outcome: 'none', hash: null };
  if (/^pbkdf2_sha256\$[1-9]\d*\$[^$]+\$[A-Za-z0-9+/]+=*$/.test(value)) return { outcome: 'kept', hash: value };
  return { outcome: 'unsupported', hash: null };
}

function pickModel(objects: DjangoObject[], explicit: string | undefined, what: string, candidates: (label: string, sample: DjangoObject[]) => boolean): string | null {
  const labels = [...new Set(objects.map((object) => object.model))];
  const byLabel = (label: string) => objects.filter((object) => object.model === label);
  if (explicit) {
    const label = explicit.toLowerCase();
    if (!labels.includes(label)) throw new DjangoDumpError(`The dump has no ${what} model ${explicit} (it has ${labels.join(', ') || 'nothing'}).`);
    return label;
  }
  const found = labels.filter((label) => candidates(label, byLabel(label)));
  return found.length ? found[0]! : null;
}

function findEnrolmentModel(objects: DjangoObject[], explicit: string | undefined, exclude: string[]): string | null {
  const labels = [...new Set(objects.map((object) => object.model))].filter((label) => !exclude.includes(label));
  if (explicit) return pickModel(objects, explicit, 'enrolment', () => true);
  const candidates = labels.filter((label) => {
    const fields = objects.find((object) => object.model === label)!.fields;
    return 'course' in fields && USER_FIELDS.some((field) => field in fields);
  });
  if (candidates.length <= 1) return candidates[0] ?? null;
  const named = candidates.filter((label) => /enrol|enroll|purchase|order|membership|access/.test(label));
  if (named.length === 1) return named[0]!;
  throw new DjangoDumpError(`Several models could be the enrolments (${candidates.join(', ')}): name one with --enrolment-model.`);
}

/** Reads a dump and decides what importing it would do, without writing anything. */
export async function planDjangoImport(db: Db, dump: unknown, options: DjangoImportOptions = {}): Promise<DjangoPlan> {
  const objects = parseDump(dump);
  const userModel =
    pickModel(objects, options.userModel, 'user', (label) => label === 'auth.user') ??
    pickModel(objects, undefined, 'user', (label, sample) => /\.(custom)?user$/.test(label) && 'password' in sample[0]!.fields && 'email' in sample[0]!.fields);
  if (!userModel) throw new DjangoDumpError('The dump has no user model (auth.user, or a custom one: name it with --user-model).');
  const courseModel = pickModel(objects, options.courseModel, 'course', (label) => /\.course$/.test(label));
  const enrolmentModel = findEnrolmentModel(objects, options.enrolmentModel, [userModel, ...(courseModel ? [courseModel] : [])]);

  // What the store has already: accounts, courses, who may read what, enrolments imported before.
  const [accounts, storeCourses, owned, imported] = await Promise.all([
    db.all<{ email: string }>(sql`SELECT email FROM users`),
    db.all<{ slug: string; title: string }>(sql`SELECT slug, title FROM courses`),
    db.all<{ email: string; course: string }>(
      sql`SELECT DISTINCT u.email AS email, p.course_slug AS course FROM purchases p JOIN users u ON u.id = p.user_id
        WHERE (SELECT l.action FROM access_ledger l WHERE l.purchase_id = p.id ORDER BY l.seq DESC LIMIT 1) IN ('grant', 'restore')`,
    ),
    db.all<{ note: string }>(sql`SELECT DISTINCT note FROM access_ledger WHERE note LIKE 'django %'`),
  ]);
  const existingEmails = new Set(accounts.map((row) => row.email));
  const ownedPairs = new Set(owned.map((row) => `${row.email} ${row.course}`));
  const importedKeys = new Set(imported.map((row) => row.note));

  // Users: one account per email; the first Django user (by pk) of an email is the one kept.
  const users: PlannedUser[] = [];
  const userByPk = new Map<string, PlannedUser>();
  const userByUsername = new Map<string, PlannedUser>();
  const planned = new Map<string, PlannedUser>();
  const userObjects = objects.filter((object) => object.model === userModel).sort((a, b) => Number(a.pk) - Number(b.pk) || String(a.pk).localeCompare(String(b.pk)));
  for (const object of userObjects) {
    const fields = object.fields;
    const username = text(fields.username);
    const parsedEmail = emailSchema.safeParse(text(fields.email) ?? '');
    const password = passwordOf(fields.password);
    const user: PlannedUser = {
      djangoPk: pkKey(object.pk) ?? '?',
      username,
      email: parsedEmail.success ? parsedEmail.data : null,
      action: 'create',
      note: null,
      password: password.outcome,
      passwordHash: password.hash,
      superuser: fields.is_superuser === true,
      createdAt: timeOf(fields.date_joined),
    };
    if (!user.email) {
      user.action = 'skip';
      user.note = text(fields.email) ? `invalid email "${text(fields.email)}"` : 'no email';
    } else if (fields.is_active === false) {
      user.action = 'skip';
      user.note = 'inactive in Django';
    } else if (planned.has(user.email)) {
      user.action = 'skip';
      user.note = `same email as Django user ${planned.get(user.email)!.djangoPk}; merged into it`;
    } else if (existingEmails.has(user.email)) {
      user.action = 'exists';
      user.note = 'an account with this email exists here; kept as it is';
    }
    if (user.email && user.action !== 'skip') planned.set(user.email, user);
    users.push(user);
    userByPk.set(user.djangoPk, user);
    if (username) userByUsername.set(username, user);
  }
  /** The account an enrolment goes to: the user's, or the one a duplicate email merged into. */
  const accountOf = (user: PlannedUser | undefined): PlannedUser | null => {
    if (!user?.email) return null;
    const target = planned.get(user.email);
    return target && (user.action !== 'skip' || user.note?.startsWith('same email')) ? target : null;
  };

  // Courses: an explicit mapping, then the slug, then the title.
  const bySlug = new Map(storeCourses.map((course) => [course.slug, course.slug]));
  const byTitle = new Map(storeCourses.map((course) => [course.title.trim().toLowerCase(), course.slug]));
  const courses: PlannedCourse[] = [];
  const courseByPk = new Map<string, PlannedCourse>();
  const courseBySlug = new Map<string, PlannedCourse>();
  for (const object of courseModel ? objects.filter((item) => item.model === courseModel) : []) {
    const slug = text(object.fields.slug);
    const title = text(object.fields.title) ?? text(object.fields.name);
    const mapped = (slug && options.courseMap?.[slug]) ?? (title && options.courseMap?.[title]) ?? null;
    let match: string | null = null;
    let matchedBy: PlannedCourse['matchedBy'] = null;
    if (mapped) [match, matchedBy] = [bySlug.get(mapped) ?? null, bySlug.has(mapped) ? 'mapping' : null];
    else if (slug && bySlug.has(slug)) [match, matchedBy] = [slug, 'slug'];
    else if (title && byTitle.has(title.toLowerCase())) [match, matchedBy] = [byTitle.get(title.toLowerCase())!, 'title'];
    const course: PlannedCourse = { djangoPk: pkKey(object.pk) ?? '?', slug, title, match, matchedBy, enrolments: 0 };
    courses.push(course);
    courseByPk.set(course.djangoPk, course);
    if (slug) courseBySlug.set(slug, course);
  }

  // Enrolments.
  const enrolments: PlannedEnrolment[] = [];
  const granted = new Set<string>();
  for (const object of enrolmentModel ? objects.filter((item) => item.model === enrolmentModel) : []) {
    const fields = object.fields;
    const userField = USER_FIELDS.find((field) => field in fields)!;
    const userRef = reference(fields[userField]);
    const courseRef = reference(fields.course);
    const djangoUser = userRef ? ('pk' in userRef ? userByPk.get(userRef.pk) : userByUsername.get(userRef.natural)) : undefined;
    const djangoCourse = courseRef ? ('pk' in courseRef ? courseByPk.get(courseRef.pk) : courseBySlug.get(courseRef.natural)) : undefined;
    if (djangoCourse) djangoCourse.enrolments++;
    const account = accountOf(djangoUser);
    const djangoPk = pkKey(object.pk) ?? '?';
    const status = text(fields.status)?.toLowerCase();
    const enrolment: PlannedEnrolment = {
      djangoPk,
      key: `django ${enrolmentModel}#${djangoPk}`,
      email: account?.email ?? djangoUser?.email ?? null,
      course: djangoCourse?.match ?? null,
      action: 'grant',
      note: null,
      enrolledAt: timeOf(fields.created ?? fields.created_at ?? fields.enrolled_at ?? fields.date_enrolled ?? fields.date),
    };
    if (!djangoUser) [enrolment.action, enrolment.note] = ['skip', `unknown Django user ${JSON.stringify(fields[userField])}`];
    else if (!account) [enrolment.action, enrolment.note] = ['skip', `user ${djangoUser.username ?? djangoUser.djangoPk} is skipped (${djangoUser.note})`];
    else if (!djangoCourse) [enrolment.action, enrolment.note] = ['skip', `unknown Django course ${JSON.stringify(fields.course)}`];
    else if (!djangoCourse.match) [enrolment.action, enrolment.note] = ['skip', `course "${djangoCourse.title ?? djangoCourse.slug}" has no match here`];
    else if (fields.is_active === false || fields.active === false || (status && INACTIVE_STATUSES.has(status))) {
      [enrolment.action, enrolment.note] = ['skip', `not active in Django${status ? ` (${status})` : ''}`];
    } else if (importedKeys.has(enrolment.key)) enrolment.action = 'imported-before';
    else if (ownedPairs.has(`${account.email} ${djangoCourse.match}`)) enrolment.action = 'owned';
    else if (granted.has(`${account.email} ${djangoCourse.match}`)) enrolment.action = 'duplicate';
    else granted.add(`${account.email} ${djangoCourse.match}`);
    enrolments.push(enrolment);
  }

  return { models: { users: userModel, courses: courseModel, enrolments: enrolmentModel }, users, courses, enrolments };
}

export type DjangoImportResult = { usersCreated: number; granted: number };

/**
 * Writes a plan: the new accounts, then a grant (reason `migration`, the enrolment named in the
 * ledger note) with an audit row for each enrolment to grant, then one audit row for the import,
 * in one atomic batch. Conditional throughout, so a plan applied twice, or racing a purchase,
 * writes nothing twice.
 */
export async function applyDjangoImport(ctx: AdminContext, plan: DjangoPlan, options: { actor: AdminActor; source?: string }): Promise<DjangoImportResult> {
  const now = ctx.clock.now();
  const statements: SQL[] = [];
  const userStatements = new Set<number>();
  const ledgerStatements = new Set<number>();
  for (const user of plan.users) {
    if (user.action !== 'create') continue;
    userStatements.add(statements.length);
    statements.push(sql`INSERT INTO users (email, password_hash, session_version, role, created_at, updated_at)
      VALUES (${user.email}, ${user.passwordHash}, 1, 'member', ${user.createdAt ?? now}, ${now}) ON CONFLICT(email) DO NOTHING`);
  }
  // An enrolment of an account this import creates is the old platform's buyer with their own
  // password; one of an account that was here already is for the address, like an author's grant.
  const created = new Set(plan.users.filter((user) => user.action === 'create').map((user) => user.email));
  for (const enrolment of plan.enrolments) {
    if (enrolment.action !== 'grant') continue;
    const userId = sql`(SELECT id FROM users WHERE email = ${enrolment.email})`;
    const grant = grantAccessSql({
      userId,
      courseSlug: enrolment.course!,
      reason: 'migration',
      actorUserId: options.actor.userId,
      note: enrolment.key,
      now,
      requiresVerifiedEmail: !created.has(enrolment.email),
      unless: sql`EXISTS (SELECT 1 FROM access_ledger WHERE user_id = ${userId} AND course_slug = ${enrolment.course} AND note = ${enrolment.key})`,
    });
    statements.push(grant.purchase);
    ledgerStatements.add(statements.length);
    statements.push(grant.ledger);
    statements.push(
      auditSql({
        actor: options.actor,
        action: 'grant',
        subjectUserId: userId,
        courseSlug: enrolment.course,
        reason: 'migration',
        detail: { purchaseId: grant.purchaseId, django: enrolment.key, enrolledAt: enrolment.enrolledAt ? new Date(enrolment.enrolledAt).toISOString() : undefined },
        now,
        onlyIfChanged: true,
      }),
    );
  }
  if (statements.length === 0) return { usersCreated: 0, granted: 0 };
  statements.push(
    auditSql({
      actor: options.actor,
      action: 'import-django',
      detail: {
        source: options.source,
        models: plan.models,
        users: plan.users.filter((user) => user.action === 'create').length,
        grants: plan.enrolments.filter((enrolment) => enrolment.action === 'grant').length,
      },
      now,
    }),
  );
  const results = await runBatch(ctx.db, statements);
  let usersCreated = 0;
  let granted = 0;
  results.forEach((result, index) => {
    if (userStatements.has(index)) usersCreated += rowsAffected(result);
    if (ledgerStatements.has(index)) granted += rowsAffected(result);
  });
  return { usersCreated, granted };
}
