// Moving members from a Django site: `manage.py dumpdata --indent 2 > dump.json` gives a list of
// {model, pk, fields}. From it come
//   - accounts, from the user model (`auth.user`, or a custom `<app>.user` with email and
//     password): email, the password hash when it is Django's default PBKDF2-SHA256 (wrapped in
//     ours at import, so it costs what any account costs to check; the member signs in with the
//     old password and gets a hash of ours), and date_joined;
//   - courses, from the `<app>.course` model, named by `course_title`, `title`, `name` or `slug`,
//     matched to this store's courses by an explicit mapping, then by slug, then by title;
//   - enrolments, from a through-model whose objects have a user (`user`, `student` or `member`)
//     and a `course` (e.g. `courses.enrollment`), and from a many-to-many to the courses on a
//     profile-like model (one-to-one with the user, e.g. `Profile.enrolled_courses`), each
//     becoming a grant with reason `migration`.
// planDjangoImport reads and decides without writing (the dry run); applyDjangoImport writes the
// plan (see migration-import.ts). Both are idempotent: an existing account is left as it is, a
// member who may read the course gets nothing, and an enrolment imported once is never granted
// again (its ledger note names it), even after an admin revoked it. An import that would grant
// nothing from a dump with courses or enrolments is refused unless asked for: it means the
// enrolments were not understood, and members would lose their courses without anyone noticing.
import { emailSchema } from '../auth/credentials.ts';
import type { Db } from '../context.ts';
import type { AdminActor, AdminContext } from '../admin/audit.ts';
import { applyMigration, courseMatcher, isBareDjangoHash, readMigrationState, type MigrationResult } from './migration-import.ts';

export type DjangoObject = { model: string; pk: unknown; fields: Record<string, unknown> };

export type DjangoImportOptions = {
  /** Model labels, when the guess is not right: `accounts.user`, `school.course`, `school.enrolment` or `members.profile`. */
  userModel?: string;
  courseModel?: string;
  enrolmentModel?: string;
  /** Django course title or slug (any case) → this store's course slug, for courses renamed on the way. */
  courseMap?: Record<string, string>;
};

export type PasswordOutcome =
  /** A `pbkdf2_sha256$...` hash: the member signs in with their old password. */
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
  /** Enrolments of this Django user in the dump (whatever becomes of them). */
  enrolments: number;
};

export type PlannedCourse = {
  djangoPk: string;
  slug: string | null;
  /** `course_title`, `title` or `name`. */
  title: string | null;
  /** This store's course, or null when none matches. */
  match: string | null;
  matchedBy: 'slug' | 'title' | 'mapping' | null;
  /** Why there is no match when one was asked for (a mapping to a course this store lacks). */
  note: string | null;
  /** Enrolments in this course in the dump, and how many of them will be granted now. */
  enrolments: number;
  toGrant: number;
};

export type PlannedEnrolment = {
  /** Where it comes from: the through-model's pk, or `<profile pk>/<course pk>` for a many-to-many. */
  djangoPk: string;
  /** The ledger note that marks this enrolment as imported: `django <model>#<pk>` or `django <model>.<field>#<owner>/<course>`. */
  key: string;
  email: string | null;
  course: string | null;
  action: 'grant' | 'owned' | 'imported-before' | 'duplicate' | 'skip';
  note: string | null;
  enrolledAt: number | null;
};

export type DjangoPlan = {
  /** The user and course models, and each source of enrolments (`app.model`, or `app.model.field` for a many-to-many). */
  models: { users: string; courses: string | null; enrolments: string[] };
  users: PlannedUser[];
  courses: PlannedCourse[];
  enrolments: PlannedEnrolment[];
  /** --map keys that named no Django course. */
  unusedMapKeys: string[];
  /** Accounts here that still hold a bare Django hash (from an import before hashes were wrapped): wrapped at apply. */
  rewrap: { email: string; passwordHash: string }[];
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

/** The name a Django course goes by: the write-up's `course_title`, else `title` or `name`. */
export function djangoCourseTitle(fields: Record<string, unknown>): string | null {
  return text(fields.course_title) ?? text(fields.title) ?? text(fields.name);
}

function labelsOf(objects: DjangoObject[]): string[] {
  return [...new Set(objects.map((object) => object.model))];
}

function pickModel(
  objects: DjangoObject[],
  explicit: string | undefined,
  what: string,
  candidates: (label: string, sample: DjangoObject[]) => boolean,
): string | null {
  const labels = labelsOf(objects);
  const byLabel = (label: string) => objects.filter((object) => object.model === label);
  if (explicit) {
    const label = explicit.toLowerCase();
    if (!labels.includes(label)) throw new DjangoDumpError(`The dump has no ${what} model ${explicit} (it has ${labels.join(', ') || 'nothing'}).`);
    return label;
  }
  const found = labels.filter((label) => candidates(label, byLabel(label)));
  return found.length ? found[0]! : null;
}

/** The user and course models of a dump (also used by the content import). */
export function findDjangoModels(dump: unknown, options: Pick<DjangoImportOptions, 'userModel' | 'courseModel'> = {}) {
  const objects = parseDump(dump);
  const userModel =
    pickModel(objects, options.userModel, 'user', (label) => label === 'auth.user') ??
    pickModel(objects, undefined, 'user', (label, sample) => /\.(custom)?user$/.test(label) && 'password' in sample[0]!.fields && 'email' in sample[0]!.fields);
  const courseModel = pickModel(objects, options.courseModel, 'course', (label) => /\.course$/.test(label));
  return { objects, userModel, courseModel };
}

type EnrolmentSource =
  /** One object per enrolment, with a user field and a `course`. */
  | { kind: 'through'; model: string; label: string }
  /** A list of courses on a profile-like object that points at its user (or on the user itself). */
  | { kind: 'm2m'; model: string; field: string; label: string };

/** A many-to-many field to the courses: a list-valued field named for courses. */
function courseListField(objects: DjangoObject[]): string | null {
  const fields = new Set(objects.flatMap((object) => Object.keys(object.fields)));
  return [...fields].find((field) => /course/i.test(field) && objects.some((object) => Array.isArray(object.fields[field]))) ?? null;
}

function findEnrolmentSources(objects: DjangoObject[], explicit: string | undefined, userModel: string, courseModel: string | null): EnrolmentSource[] {
  const byLabel = (label: string) => objects.filter((object) => object.model === label);
  const asSource = (label: string, field?: string): EnrolmentSource | null => {
    const sample = byLabel(label);
    const listField = field ?? courseListField(sample);
    const ownsUser = label === userModel || USER_FIELDS.some((name) => sample.some((object) => name in object.fields));
    if (listField && ownsUser) return { kind: 'm2m', model: label, field: listField, label: `${label}.${listField}` };
    if (sample.some((object) => 'course' in object.fields) && ownsUser) return { kind: 'through', model: label, label };
    return null;
  };
  if (explicit) {
    const name = explicit.toLowerCase();
    const labels = labelsOf(objects);
    const [label, field] = labels.includes(name) ? [name, undefined] : [name.slice(0, name.lastIndexOf('.')), name.slice(name.lastIndexOf('.') + 1)];
    if (!labels.includes(label)) throw new DjangoDumpError(`The dump has no enrolment model ${explicit} (it has ${labels.join(', ') || 'nothing'}).`);
    const source = asSource(label, field);
    if (!source) throw new DjangoDumpError(`${explicit} has neither a user and a course field nor a list of courses: it cannot hold enrolments.`);
    return [source];
  }
  const others = labelsOf(objects).filter((label) => label !== courseModel);
  const sources = others.map((label) => asSource(label)).filter((source): source is EnrolmentSource => source !== null);
  const manyToMany = sources.filter((source) => source.kind === 'm2m');
  const through = sources.filter((source) => source.kind === 'through' && source.model !== userModel);
  if (through.length <= 1) return [...through, ...manyToMany];
  const named = through.filter((source) => /enrol|enroll|purchase|order|membership|access/.test(source.model));
  if (named.length === 1) return [...named, ...manyToMany];
  throw new DjangoDumpError(`Several models could be the enrolments (${through.map((source) => source.label).join(', ')}): name one with --enrolment-model.`);
}

/** Reads a dump and decides what importing it would do, without writing anything. */
export async function planDjangoImport(db: Db, dump: unknown, options: DjangoImportOptions = {}): Promise<DjangoPlan> {
  const { objects, userModel, courseModel } = findDjangoModels(dump, options);
  if (!userModel) throw new DjangoDumpError('The dump has no user model (auth.user, or a custom one: name it with --user-model).');
  const sources = findEnrolmentSources(objects, options.enrolmentModel, userModel, courseModel);
  const state = await readMigrationState(db, 'django ');

  // Users: one account per email; the first Django user (by pk) of an email is the one kept.
  const users: PlannedUser[] = [];
  const userByPk = new Map<string, PlannedUser>();
  const userByUsername = new Map<string, PlannedUser>();
  const planned = new Map<string, PlannedUser>();
  const userObjects = objects
    .filter((object) => object.model === userModel)
    .sort((a, b) => Number(a.pk) - Number(b.pk) || String(a.pk).localeCompare(String(b.pk)));
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
      enrolments: 0,
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
    } else if (state.accounts.has(user.email)) {
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
  const rewrap = users
    .filter((user) => user.action === 'exists' && isBareDjangoHash(state.accounts.get(user.email!)))
    .map((user) => ({ email: user.email!, passwordHash: state.accounts.get(user.email!)! }));

  // Courses: an explicit mapping (by title or slug, any case), then the slug, then the title.
  const matcher = courseMatcher(state.courses, options.courseMap);
  const courses: PlannedCourse[] = [];
  const courseByPk = new Map<string, PlannedCourse>();
  const courseBySlug = new Map<string, PlannedCourse>();
  for (const object of courseModel ? objects.filter((item) => item.model === courseModel) : []) {
    const slug = text(object.fields.slug);
    const title = djangoCourseTitle(object.fields);
    const course: PlannedCourse = { djangoPk: pkKey(object.pk) ?? '?', slug, title, ...matcher.match(slug, title), enrolments: 0, toGrant: 0 };
    courses.push(course);
    courseByPk.set(course.djangoPk, course);
    if (slug) courseBySlug.set(slug, course);
  }

  // Enrolments, from every source, as (user reference, course reference, the object's fields).
  type Raw = { djangoPk: string; key: string; user: unknown; course: unknown; fields: Record<string, unknown> };
  const raws: Raw[] = [];
  for (const source of sources) {
    for (const object of objects.filter((item) => item.model === source.model)) {
      const pk = pkKey(object.pk) ?? '?';
      const fields = object.fields;
      if (source.kind === 'through') {
        const userField = USER_FIELDS.find((field) => field in fields);
        raws.push({ djangoPk: pk, key: `django ${source.model}#${pk}`, user: userField ? fields[userField] : undefined, course: fields.course, fields });
        continue;
      }
      const owner = source.model === userModel ? object.pk : fields[USER_FIELDS.find((field) => field in fields) ?? 'user'];
      const list = Array.isArray(fields[source.field]) ? (fields[source.field] as unknown[]) : [];
      for (const item of list) {
        const courseKey = Array.isArray(item) ? String(item[0]) : String(item);
        raws.push({ djangoPk: `${pk}/${courseKey}`, key: `django ${source.label}#${pk}/${courseKey}`, user: owner, course: item, fields: {} });
      }
    }
  }

  const enrolments: PlannedEnrolment[] = [];
  const granted = new Set<string>();
  for (const raw of raws) {
    const userRef = reference(raw.user);
    const courseRef = reference(raw.course);
    const djangoUser = userRef ? ('pk' in userRef ? userByPk.get(userRef.pk) : userByUsername.get(userRef.natural)) : undefined;
    const djangoCourse = courseRef ? ('pk' in courseRef ? courseByPk.get(courseRef.pk) : courseBySlug.get(courseRef.natural)) : undefined;
    if (djangoCourse) djangoCourse.enrolments++;
    if (djangoUser) djangoUser.enrolments++;
    const account = accountOf(djangoUser);
    const fields = raw.fields;
    const status = text(fields.status)?.toLowerCase();
    const enrolment: PlannedEnrolment = {
      djangoPk: raw.djangoPk,
      key: raw.key,
      email: account?.email ?? djangoUser?.email ?? null,
      course: djangoCourse?.match ?? null,
      action: 'grant',
      note: null,
      enrolledAt: timeOf(fields.created ?? fields.created_at ?? fields.enrolled_at ?? fields.date_enrolled ?? fields.date),
    };
    const who = djangoUser ? (djangoUser.email ?? djangoUser.username ?? `pk ${djangoUser.djangoPk}`) : '';
    if (!djangoUser) [enrolment.action, enrolment.note] = ['skip', `unknown Django user ${JSON.stringify(raw.user)}`];
    else if (!account) [enrolment.action, enrolment.note] = ['skip', `user ${who} is skipped (${djangoUser.note})`];
    else if (!djangoCourse) [enrolment.action, enrolment.note] = ['skip', `unknown Django course ${JSON.stringify(raw.course)}`];
    else if (!djangoCourse.match) [enrolment.action, enrolment.note] = ['skip', `course "${djangoCourse.title ?? djangoCourse.slug}" has no match here`];
    else if (fields.is_active === false || fields.active === false || (status && INACTIVE_STATUSES.has(status))) {
      [enrolment.action, enrolment.note] = ['skip', `not active in Django${status ? ` (${status})` : ''}`];
    } else if (state.importedKeys.has(enrolment.key)) enrolment.action = 'imported-before';
    else if (state.ownedPairs.has(`${account.email} ${djangoCourse.match}`)) enrolment.action = 'owned';
    else if (granted.has(`${account.email} ${djangoCourse.match}`)) enrolment.action = 'duplicate';
    else {
      granted.add(`${account.email} ${djangoCourse.match}`);
      djangoCourse.toGrant++;
    }
    enrolments.push(enrolment);
  }

  return {
    models: { users: userModel, courses: courseModel, enrolments: sources.map((source) => source.label) },
    users,
    courses,
    enrolments,
    unusedMapKeys: matcher.unusedMapKeys(),
    rewrap,
  };
}

/**
 * Why applying this plan would mislead (null when it would not): a dump with courses or
 * enrolments of which not one would be imported means the enrolments were not understood.
 */
export function emptyImportProblem(plan: DjangoPlan): string | null {
  if (plan.enrolments.some((enrolment) => enrolment.action !== 'skip')) return null;
  if (plan.enrolments.length > 0) {
    return `The dump holds ${plan.enrolments.length} enrolment(s) but not one would be granted (see why above): map the courses with --map "<django title>=<course>", or pass --allow-empty to import the accounts alone.`;
  }
  if (plan.courses.length > 0) {
    return `The dump has ${plan.courses.length} course(s) but no enrolments this importer can read (${plan.models.enrolments.length ? `${plan.models.enrolments.join(', ')} hold none` : 'no model with a user and a course, and no list of courses on a profile'}): name the model with --enrolment-model, or pass --allow-empty if nobody was enrolled.`;
  }
  return 'The dump has no courses and no enrolments: dump the app that holds them too (manage.py dumpdata auth.user <app>), or pass --allow-empty to import the accounts alone.';
}

export type DjangoImportResult = MigrationResult;

/**
 * Writes a plan: the new accounts (a Django hash wrapped in ours), the bare Django hashes of
 * earlier imports wrapped, a grant per enrolment to grant with its audit row, and one audit row for
 * the import, in one atomic batch. Refuses (DjangoDumpError) a plan that would import no enrolment
 * (emptyImportProblem) unless `allowEmpty`.
 */
export async function applyDjangoImport(
  ctx: AdminContext,
  plan: DjangoPlan,
  options: { actor: AdminActor; iterations: number; source?: string; allowEmpty?: boolean },
): Promise<DjangoImportResult> {
  const problem = emptyImportProblem(plan);
  if (problem && !options.allowEmpty) throw new DjangoDumpError(`Nothing written. ${problem}`);
  const grants = plan.enrolments.filter((enrolment) => enrolment.action === 'grant');
  return applyMigration(ctx, {
    accounts: plan.users
      .filter((user) => user.action === 'create')
      .map((user) => ({ email: user.email!, passwordHash: user.passwordHash, createdAt: user.createdAt })),
    rewrap: plan.rewrap,
    grants: grants.map((enrolment) => ({
      email: enrolment.email!,
      course: enrolment.course!,
      key: enrolment.key,
      detail: { enrolledAt: enrolment.enrolledAt ? new Date(enrolment.enrolledAt).toISOString() : undefined },
    })),
    actor: options.actor,
    audit: {
      action: 'import-django',
      detail: { source: options.source, models: plan.models, users: plan.users.filter((user) => user.action === 'create').length, grants: grants.length },
    },
    iterations: options.iterations,
  });
}
