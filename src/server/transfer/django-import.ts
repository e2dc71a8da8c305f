// Moving members from a Django site: `manage.py dumpdata > dump.json` (JSON or JSON Lines, with or
// without natural keys; readDjangoDump) gives a list of {model, pk, fields}. From it come
//   - accounts, from the user model (`auth.user`, or a custom one found by the fields of
//     AbstractBaseUser): email, the password hash when it is Django's default PBKDF2-SHA256
//     (wrapped in ours at import, so it costs what any account costs to check; the member signs in
//     with the old password and gets a hash of ours), and date_joined;
//   - courses, from the `<app>.course` model (or a formation, training, program...), named by
//     `course_title`, `title`, `name` or `slug`, matched to this store's courses by an explicit
//     mapping, then by slug, then by title;
//   - enrolments (findEnrolmentSources), from a through-model whose objects have a user and a
//     course (e.g. `courses.enrollment`), from a many-to-many to the courses on a profile-like
//     model (e.g. `Profile.enrolled_courses`) and from a many-to-many to the users on the course
//     (e.g. `Course.students`), each becoming a grant with reason `migration`; relations whose name
//     says they give nothing (a wish list, progress, teachers) are left and reported.
// planDjangoImport reads and decides without writing (the dry run); applyDjangoImport writes the
// plan (see migration-import.ts). Both are idempotent: an existing account is left as it is, a
// member who may read the course gets nothing, and an enrolment imported once is never granted
// again (its ledger note names it), even after an admin revoked it. An import that would grant
// nothing from a dump with courses or enrolments is refused unless asked for: it means the
// enrolments were not understood, and members would lose their courses without anyone noticing.
import { emailSchema } from '../auth/credentials.ts';
import type { Db } from '../context.ts';
import type { AdminActor, AdminContext } from '../admin/audit.ts';
import { applyMigration, courseMatcher, decodeExport, isBareDjangoHash, readMigrationState, type MigrationResult } from './migration-import.ts';

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
  /** Null in a dump made with --natural-primary, where users go by their username. */
  djangoPk: string | null;
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
  djangoPk: string | null;
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
  models: { users: string; courses: string | null; enrolments: string[]; ignored: string[] };
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

/** Fields of a profile-like or through-model that point at the user. */
const USER_FIELDS = ['user', 'student', 'member', 'owner', 'customer', 'buyer', 'learner', 'account', 'client'];
/** Names of course lists (on a profile) that say the user has the course. */
const OWNED_COURSES = /course|cours|formation|enrol|inscri|purchas|bought|achat|paid|owned|access|subscri|librar|product|program|training/;
/** Names of user lists (on a course) that say the users have it. */
const COURSE_MEMBERS = /student|member|user|enrol|inscri|buyer|customer|learner|subscri|participant|attendee|client|eleve|apprenant/;
/** Names of models and fields that relate a user to a course without giving it to them. */
const NOT_OWNERSHIP =
  /unpaid|pending|refund|rembours|expired|cancel|annul|wish|souhait|favou?rite|favori|cart|basket|panier|bookmark|saved|like|recommend|review|avis|rating|comment|question|feedback|progress|complet|finish|termin|viewed|visit|history|waitlist|interest|follow|teach|instruct|author|auteur|tutor|formateur|staff/;
/** Django's own many-to-many fields of a user, never courses. */
const AUTH_LISTS = new Set(['groups', 'user_permissions', 'permissions']);
const INACTIVE_STATUSES = new Set([
  'refunded',
  'cancelled',
  'canceled',
  'revoked',
  'inactive',
  'expired',
  'pending',
  'failed',
  'unpaid',
  'rembourse',
  'annule',
]);
/** Model names a course model goes by, in order of preference. */
const COURSE_MODEL = [/\.course$/, /\.(courses|cours|formation|training|programme|program|class|module)$/];

/** Reads the bytes of a dump: JSON (`dumpdata`'s default) or JSON Lines (`--format jsonl`), in any encoding decodeExport reads. */
export function readDjangoDump(bytes: Uint8Array): unknown {
  const trimmed = decodeExport(bytes).trim();
  if (trimmed.startsWith('<'))
    throw new DjangoDumpError('This dump is XML: run `manage.py dumpdata` again without --format (JSON is its default), or with --format jsonl.');
  if (/^-\s+model:/.test(trimmed))
    throw new DjangoDumpError('This dump is YAML: run `manage.py dumpdata` again without --format (JSON is its default), or with --format jsonl.');
  try {
    return JSON.parse(trimmed);
  } catch (error) {
    if (!trimmed.startsWith('{')) throw new DjangoDumpError(`This is not a JSON dump (made by \`manage.py dumpdata\`): ${(error as Error).message}`);
  }
  // JSON Lines: an object per line.
  return trimmed.split(/\r?\n/).flatMap((line, index) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line)];
    } catch (error) {
      throw new DjangoDumpError(`Line ${index + 1} of this JSON Lines dump is not JSON: ${(error as Error).message}`);
    }
  });
}

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

/** A foreign key as dumpdata writes it: a primary key, or with --natural-foreign a natural key (a one-item list). */
function reference(value: unknown): { pk: string } | { natural: string } | null {
  if (Array.isArray(value)) return value.length === 1 && (typeof value[0] === 'string' || typeof value[0] === 'number') ? { natural: String(value[0]) } : null;
  const pk = pkKey(value);
  return pk === null ? null : { pk };
}

/** How an object is named in keys and messages: its pk, or with --natural-primary its natural key. */
export function idOf(object: DjangoObject, naturalFields: string[]): string {
  return pkKey(object.pk) ?? naturalFields.map((name) => text(object.fields[name])).find((value) => value !== null) ?? '?';
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

function explicitModel(objects: DjangoObject[], explicit: string, what: string): string {
  const labels = labelsOf(objects);
  const label = explicit.toLowerCase();
  if (!labels.includes(label)) throw new DjangoDumpError(`The dump has no ${what} model ${explicit} (it has ${labels.join(', ') || 'nothing'}).`);
  return label;
}

/** A user model: Django's, else one with the fields of AbstractBaseUser and an email. */
function isUserModel(sample: DjangoObject[]): boolean {
  return sample.some((object) => 'password' in object.fields && 'last_login' in object.fields && ('email' in object.fields || 'username' in object.fields));
}

/**
 * The objects of one model by every way a foreign key can name them: their pk, and with
 * --natural-primary (no pk) the natural key, one of `naturalFields` (a username, a course's slug).
 */
export function djangoIndex(objects: DjangoObject[], label: string | null, naturalFields: string[]): Map<string, DjangoObject> {
  const index = new Map<string, DjangoObject>();
  for (const object of label ? objects.filter((item) => item.model === label) : []) {
    const pk = pkKey(object.pk);
    if (pk !== null) index.set(`pk ${pk}`, object);
    for (const name of naturalFields) {
      const value = text(object.fields[name]);
      if (value !== null && !index.has(`natural ${value}`)) index.set(`natural ${value}`, object);
    }
  }
  return index;
}

/** The object a foreign key names, in an index made by djangoIndex. */
export function lookUp(index: Map<string, DjangoObject>, value: unknown): DjangoObject | undefined {
  const ref = reference(value);
  if (!ref) return undefined;
  return 'pk' in ref ? index.get(`pk ${ref.pk}`) : index.get(`natural ${ref.natural}`);
}

const USER_NATURAL = ['username', 'email'];
export const COURSE_NATURAL = ['slug', 'course_title', 'title', 'name'];

/** The names a foreign key to the course model goes by: `course`, or the model's own name (`formation`). */
export function courseFieldNames(courseModel: string): string[] {
  return ['course', courseModel.slice(courseModel.indexOf('.') + 1)];
}

/** The user and course models of a dump (also used by the content import). */
export function findDjangoModels(dump: unknown, options: Pick<DjangoImportOptions, 'userModel' | 'courseModel'> = {}) {
  const objects = parseDump(dump);
  const labels = labelsOf(objects);
  const byLabel = (label: string) => objects.filter((object) => object.model === label);
  const userModel = options.userModel
    ? explicitModel(objects, options.userModel, 'user')
    : labels.includes('auth.user')
      ? 'auth.user'
      : (labels.find((label) => isUserModel(byLabel(label))) ?? null);
  const courseModel = options.courseModel
    ? explicitModel(objects, options.courseModel, 'course')
    : (COURSE_MODEL.map((pattern) => labels.find((label) => pattern.test(label) && label !== userModel)).find(Boolean) ?? null);
  return { objects, userModel, courseModel };
}

type EnrolmentSource =
  /** One object per enrolment, with a user field and a course field (e.g. `courses.enrollment`). */
  | { kind: 'through'; model: string; label: string; userField: string; courseField: string }
  /** A list of courses on a profile-like object (owner: its user field, its pk when that is the user's, or the user itself). */
  | { kind: 'courses'; model: string; field: string; label: string; owner: string | { pk: true } | { self: true } }
  /** A list of users on a course (e.g. `Course.students`). */
  | { kind: 'users'; model: string; field: string; label: string };

type Found = { sources: EnrolmentSource[]; ignored: string[] };

/**
 * Where the enrolments are: through-models, lists of courses on profiles or users, lists of users
 * on courses. A relation whose name says it gives nothing (a wish list, favourites, progress,
 * teachers) is not read as enrolments, and is reported; so is every other guess, in the dry run.
 */
function findEnrolmentSources(
  objects: DjangoObject[],
  explicit: string | undefined,
  userModel: string,
  courseModel: string | null,
  users: Map<string, DjangoObject>,
  courses: Map<string, DjangoObject>,
): Found {
  const byLabel = (label: string) => objects.filter((object) => object.model === label);
  const ignored: string[] = [];
  const listFields = (sample: DjangoObject[]) =>
    [...new Set(sample.flatMap((object) => Object.keys(object.fields)))].filter(
      (field) => !AUTH_LISTS.has(field) && sample.some((object) => Array.isArray(object.fields[field])),
    );
  /** Every item of the list field names an object of the index (true when the lists are all empty). */
  const listOf = (sample: DjangoObject[], field: string, index: Map<string, DjangoObject>) => {
    const items = sample.flatMap((object) => (Array.isArray(object.fields[field]) ? (object.fields[field] as unknown[]) : []));
    return items.every((item) => lookUp(index, item) !== undefined);
  };
  /** A foreign key: a pk, or with --natural-foreign a natural key that names an object of the index. */
  const isKey = (value: unknown, index: Map<string, DjangoObject>) => (Array.isArray(value) ? lookUp(index, value) !== undefined : pkKey(value) !== null);
  const userFieldOf = (sample: DjangoObject[]) => USER_FIELDS.find((name) => sample.some((object) => isKey(object.fields[name], users)));
  const courseFieldOf = (sample: DjangoObject[]) =>
    courseModel ? courseFieldNames(courseModel).find((name) => sample.some((object) => isKey(object.fields[name], courses))) : undefined;

  const candidates = (label: string, onlyField?: string): EnrolmentSource[] => {
    const sample = byLabel(label);
    const found: EnrolmentSource[] = [];
    if (label === courseModel) {
      for (const field of listFields(sample).filter((name) => (onlyField ? name === onlyField : COURSE_MEMBERS.test(name)))) {
        if (!onlyField && NOT_OWNERSHIP.test(field)) ignored.push(`${label}.${field}`);
        else if (listOf(sample, field, users)) found.push({ kind: 'users', model: label, field, label: `${label}.${field}` });
      }
      return found;
    }
    const userField = label === userModel ? null : userFieldOf(sample);
    const pkIsUser =
      label !== userModel &&
      !userField &&
      /profile|member|customer|student|account|learner|client|eleve|subscri/.test(label) &&
      sample.every((object) => lookUp(users, object.pk) !== undefined && pkKey(object.pk) !== null);
    const owner = label === userModel ? { self: true as const } : userField ? userField : pkIsUser ? { pk: true as const } : null;
    if (!owner) return found;
    for (const field of listFields(sample).filter((name) => (onlyField ? name === onlyField : OWNED_COURSES.test(name)))) {
      if (!onlyField && NOT_OWNERSHIP.test(field)) ignored.push(`${label}.${field}`);
      else if (!courseModel || listOf(sample, field, courses)) found.push({ kind: 'courses', model: label, field, label: `${label}.${field}`, owner });
    }
    const courseField = courseFieldOf(sample);
    if (!onlyField && userField && courseField && label !== userModel) {
      if (!explicit && NOT_OWNERSHIP.test(label.slice(label.indexOf('.') + 1))) ignored.push(label);
      else found.push({ kind: 'through', model: label, label, userField, courseField });
    }
    return found;
  };

  if (explicit) {
    const name = explicit.toLowerCase();
    const labels = labelsOf(objects);
    const [label, field] = labels.includes(name) ? [name, undefined] : [name.slice(0, name.lastIndexOf('.')), name.slice(name.lastIndexOf('.') + 1)];
    if (!labels.includes(label)) throw new DjangoDumpError(`The dump has no enrolment model ${explicit} (it has ${labels.join(', ') || 'nothing'}).`);
    const sources = candidates(label, field);
    if (!sources.length)
      throw new DjangoDumpError(
        `${explicit} holds no enrolments this importer can read: it needs a user and a course field, a list of courses and a user, or (on the course model) a list of users.`,
      );
    if (sources.length > 1)
      throw new DjangoDumpError(`${explicit} has several lists that could be the enrolments (${sources.map((source) => source.label).join(', ')}): name one.`);
    return { sources, ignored: [] };
  }

  const all = labelsOf(objects).flatMap((label) => candidates(label));
  // Two lists on one model, or two through-models, cannot both be the enrolments: ask, unless one alone has an enrolment's name.
  const perModel = new Map<string, EnrolmentSource[]>();
  for (const source of all.filter((item) => item.kind !== 'through')) perModel.set(source.model, [...(perModel.get(source.model) ?? []), source]);
  const lists = [...perModel.values()].flatMap((group) => {
    if (group.length === 1) return group;
    const named = group.filter((source) => /enrol|inscri|purchas|bought|achat|paid|owned/.test(source.label));
    if (named.length === 1) return named;
    throw new DjangoDumpError(`Several lists could be the enrolments (${group.map((source) => source.label).join(', ')}): name one with --enrolment-model.`);
  });
  const through = all.filter((source) => source.kind === 'through');
  if (through.length <= 1) return { sources: [...through, ...lists], ignored };
  const named = through.filter((source) => /enrol|inscri|purchase|order|membership|access|achat/.test(source.model));
  if (named.length === 1) return { sources: [...named, ...lists], ignored };
  throw new DjangoDumpError(`Several models could be the enrolments (${through.map((source) => source.label).join(', ')}): name one with --enrolment-model.`);
}

/** A Django user in messages: the username, else the pk. */
export function nameOf(user: Pick<PlannedUser, 'username' | 'djangoPk'>): string {
  return user.username ?? `pk ${user.djangoPk ?? '?'}`;
}

/** Reads a dump and decides what importing it would do, without writing anything. */
export async function planDjangoImport(db: Db, dump: unknown, options: DjangoImportOptions = {}): Promise<DjangoPlan> {
  const { objects, userModel, courseModel } = findDjangoModels(dump, options);
  if (!userModel) throw new DjangoDumpError('The dump has no user model (auth.user, or a custom one: name it with --user-model).');
  const users = djangoIndex(objects, userModel, USER_NATURAL);
  const coursesIndex = djangoIndex(objects, courseModel, COURSE_NATURAL);
  const { sources, ignored } = findEnrolmentSources(objects, options.enrolmentModel, userModel, courseModel, users, coursesIndex);
  const state = await readMigrationState(db, 'django ');

  // Users: one account per email; the first Django user (by pk) of an email is the one kept.
  const planUsers: PlannedUser[] = [];
  const plannedOf = new Map<DjangoObject, PlannedUser>();
  const planned = new Map<string, PlannedUser>();
  const userObjects = objects
    .filter((object) => object.model === userModel)
    .map((object, order) => ({ object, order }))
    .sort((a, b) => Number(a.object.pk) - Number(b.object.pk) || a.order - b.order)
    .map(({ object }) => object);
  for (const object of userObjects) {
    const fields = object.fields;
    const username = text(fields.username);
    const parsedEmail = emailSchema.safeParse(text(fields.email) ?? '');
    const password = passwordOf(fields.password);
    const user: PlannedUser = {
      djangoPk: pkKey(object.pk),
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
      user.note = `same email as Django user ${nameOf(planned.get(user.email)!)}; merged into it`;
    } else if (state.accounts.has(user.email)) {
      user.action = 'exists';
      user.note = 'an account with this email exists here; kept as it is';
    }
    if (user.email && user.action !== 'skip') planned.set(user.email, user);
    planUsers.push(user);
    plannedOf.set(object, user);
  }
  /** The account an enrolment goes to: the user's, or the one a duplicate email merged into. */
  const accountOf = (user: PlannedUser | undefined): PlannedUser | null => {
    if (!user?.email) return null;
    const target = planned.get(user.email);
    return target && (user.action !== 'skip' || user.note?.startsWith('same email')) ? target : null;
  };
  const rewrap = planUsers
    .filter((user) => user.action === 'exists' && isBareDjangoHash(state.accounts.get(user.email!)))
    .map((user) => ({ email: user.email!, passwordHash: state.accounts.get(user.email!)! }));

  // Courses: an explicit mapping (by title or slug, any case), then the slug, then the title.
  const matcher = courseMatcher(state.courses, options.courseMap);
  const courses: PlannedCourse[] = [];
  const courseOf = new Map<DjangoObject, PlannedCourse>();
  for (const object of courseModel ? objects.filter((item) => item.model === courseModel) : []) {
    const slug = text(object.fields.slug);
    const title = djangoCourseTitle(object.fields);
    const course: PlannedCourse = { djangoPk: pkKey(object.pk), slug, title, ...matcher.match(slug, title), enrolments: 0, toGrant: 0 };
    courses.push(course);
    courseOf.set(object, course);
  }

  // Enrolments, from every source, as (user reference, course reference, the object's fields).
  type Raw = {
    djangoPk: string;
    key: string;
    user: DjangoObject | undefined;
    userRef: unknown;
    course: DjangoObject | undefined;
    courseRef: unknown;
    fields: Record<string, unknown>;
  };
  const raws: Raw[] = [];
  for (const source of sources) {
    for (const object of objects.filter((item) => item.model === source.model)) {
      const fields = object.fields;
      if (source.kind === 'through') {
        const pk = pkKey(object.pk) ?? `${JSON.stringify(fields[source.userField])}/${JSON.stringify(fields[source.courseField])}`;
        const [userRef, courseRef] = [fields[source.userField], fields[source.courseField]];
        raws.push({
          djangoPk: pk,
          key: `django ${source.model}#${pk}`,
          user: lookUp(users, userRef),
          userRef,
          course: lookUp(coursesIndex, courseRef),
          courseRef,
          fields,
        });
        continue;
      }
      const list = Array.isArray(fields[source.field]) ? (fields[source.field] as unknown[]) : [];
      if (source.kind === 'users') {
        const id = idOf(object, COURSE_NATURAL);
        for (const userRef of list) {
          const userKey = Array.isArray(userRef) ? String(userRef[0]) : String(userRef);
          raws.push({
            djangoPk: `${id}/${userKey}`,
            key: `django ${source.label}#${id}/${userKey}`,
            user: lookUp(users, userRef),
            userRef,
            course: object,
            courseRef: object.pk,
            fields: {},
          });
        }
        continue;
      }
      const id = idOf(object, USER_NATURAL);
      const userRef = 'self' in Object(source.owner) ? object.pk : 'pk' in Object(source.owner) ? object.pk : fields[source.owner as string];
      const user = 'self' in Object(source.owner) ? object : lookUp(users, userRef);
      for (const courseRef of list) {
        const courseKey = Array.isArray(courseRef) ? String(courseRef[0]) : String(courseRef);
        raws.push({
          djangoPk: `${id}/${courseKey}`,
          key: `django ${source.label}#${id}/${courseKey}`,
          user,
          userRef,
          course: lookUp(coursesIndex, courseRef),
          courseRef,
          fields: {},
        });
      }
    }
  }

  const enrolments: PlannedEnrolment[] = [];
  const granted = new Set<string>();
  for (const raw of raws) {
    const djangoUser = raw.user ? plannedOf.get(raw.user) : undefined;
    const djangoCourse = raw.course ? courseOf.get(raw.course) : undefined;
    if (djangoCourse) djangoCourse.enrolments++;
    if (djangoUser) djangoUser.enrolments++;
    const account = accountOf(djangoUser);
    const fields = raw.fields;
    const status = text(fields.status)?.toLowerCase();
    const inactive =
      fields.is_active === false ||
      fields.active === false ||
      fields.paid === false ||
      fields.is_paid === false ||
      fields.refunded === true ||
      fields.is_refunded === true ||
      fields.cancelled === true ||
      fields.canceled === true ||
      (status !== undefined && INACTIVE_STATUSES.has(status));
    const enrolment: PlannedEnrolment = {
      djangoPk: raw.djangoPk,
      key: raw.key,
      email: account?.email ?? djangoUser?.email ?? null,
      course: djangoCourse?.match ?? null,
      action: 'grant',
      note: null,
      enrolledAt: timeOf(fields.created ?? fields.created_at ?? fields.enrolled_at ?? fields.date_enrolled ?? fields.date),
    };
    if (!djangoUser) [enrolment.action, enrolment.note] = ['skip', `unknown Django user ${JSON.stringify(raw.userRef)}`];
    else if (!account) [enrolment.action, enrolment.note] = ['skip', `user ${djangoUser.email ?? nameOf(djangoUser)} is skipped (${djangoUser.note})`];
    else if (!djangoCourse) [enrolment.action, enrolment.note] = ['skip', `unknown Django course ${JSON.stringify(raw.courseRef)}`];
    else if (!djangoCourse.match) [enrolment.action, enrolment.note] = ['skip', `course "${djangoCourse.title ?? djangoCourse.slug}" has no match here`];
    else if (inactive) {
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
    models: { users: userModel, courses: courseModel, enrolments: sources.map((source) => source.label), ignored },
    users: planUsers,
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
    return `The dump has ${plan.courses.length} course(s) but no enrolments this importer can read (${plan.models.enrolments.length ? `${plan.models.enrolments.join(', ')} hold none` : 'no model with a user and a course, no list of courses on a profile and no list of students on a course'}): name the model with --enrolment-model, or pass --allow-empty if nobody was enrolled.`;
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
