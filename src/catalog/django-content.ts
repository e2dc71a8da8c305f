// Moving the content of a Django members site into course folders (`npm run admin --
// import-django-content`): each course of the dump becomes `courses/<slug>/course.md` (title,
// description, price), and each of its Documents a lesson: a Markdown file a lesson as it is, an
// HTML file a lesson holding its body, any other file (PDF, zip, ...) a lesson that links it as a
// download, copied beside it so that the build publishes it to the course's members only (a file
// that only paid lessons link goes to the private bundle). Every lesson is paid, as on the Django
// site; the author marks free previews afterwards. What cannot be carried over is listed, and the
// catalogue's own check (`npm run check`) judges the result.
import { existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { stringify } from 'yaml';
import {
  COURSE_NATURAL,
  courseFieldNames,
  djangoCourseTitle,
  djangoIndex,
  findDjangoModels,
  idOf,
  lookUp,
  type DjangoObject,
} from '../server/transfer/django-import.ts';
import { asciiWords } from '../server/transfer/migration-import.ts';
import { MAX_SLUG_LENGTH, AUTHORED_SLUG } from './schema.ts';

/** A file to write in a course folder: its text, or a file of the media root to copy. */
export type ContentFile = { path: string; text: string } | { path: string; copyFrom: string };

export type PlannedLesson = {
  /** The lesson file, e.g. `02-cheat-sheet.md`. */
  file: string;
  title: string;
  kind: 'markdown' | 'html' | 'download';
  /** The Document's file, as the dump names it. */
  source: string;
};

export type PlannedContentCourse = {
  djangoPk: string;
  slug: string;
  title: string;
  lessons: PlannedLesson[];
  files: ContentFile[];
};

export type ContentPlan = {
  models: { courses: string | null; documents: string | null };
  courses: PlannedContentCourse[];
  /** What the author must look at: documents not found, references not carried over, ... */
  problems: string[];
};

export class DjangoContentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DjangoContentError';
  }
}

const FILE_FIELDS = ['file', 'document', 'attachment', 'upload', 'path'];
const TITLE_FIELDS = ['title', 'name', 'document_title'];
const ORDER_FIELDS = ['order', 'position', 'sort_order', 'number'];
/** The course description's limit in course.md (see schema.ts). */
const DESCRIPTION_MAX = 300;

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/** A URL name: ASCII letters and digits between single hyphens, at most the catalogue's length. */
export function slugFrom(name: string): string {
  const slug = asciiWords(name, '-');
  if (slug.length <= MAX_SLUG_LENGTH) return slug;
  const cut = slug.slice(0, MAX_SLUG_LENGTH + 1);
  return (cut.lastIndexOf('-') > 20 ? cut.slice(0, cut.lastIndexOf('-')) : cut.slice(0, MAX_SLUG_LENGTH)).replace(/-+$/, '');
}

function unique(slug: string, taken: Set<string>): string {
  let candidate = slug;
  for (let n = 2; taken.has(candidate); n++) candidate = `${slug.slice(0, MAX_SLUG_LENGTH - String(n).length - 1)}-${n}`;
  taken.add(candidate);
  return candidate;
}

/** "deploying_with_systemd.md" → "Deploying with systemd". */
function titleFromFileName(name: string): string {
  const words = basename(name, extname(name)).replace(/[_-]+/g, ' ').replace(/\s+/g, ' ').trim();
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : 'Untitled';
}

/** The model whose objects are a course's files: a `course` field and a file field. */
function findDocumentModel(objects: DjangoObject[], courseModel: string, explicit?: string): { label: string; field: string; courseField: string } | null {
  const labels = [...new Set(objects.map((object) => object.model))].filter((label) => label !== courseModel);
  const candidates = explicit ? [explicit.toLowerCase()] : labels;
  for (const label of candidates) {
    const sample = objects.filter((object) => object.model === label);
    if (!sample.length) throw new DjangoContentError(`The dump has no document model ${explicit} (it has ${labels.join(', ')}).`);
    const field = FILE_FIELDS.find((name) => sample.some((object) => typeof object.fields[name] === 'string'));
    const courseField = courseFieldNames(courseModel).find((name) => sample.some((object) => name in object.fields));
    if (field && courseField) return { label, field, courseField };
    if (explicit) throw new DjangoContentError(`${explicit} has no course field and file field (${FILE_FIELDS.join(', ')}): it cannot hold a course's files.`);
  }
  return null;
}

/** The front matter block of a Markdown file, written by the YAML library so any title is safe. */
function frontMatter(data: Record<string, unknown>): string {
  return `---\n${stringify(data, { lineWidth: 0 }).trimEnd()}\n---\n`;
}

/** A link target for Markdown: each path segment encoded, brackets included. */
function linkPath(path: string): string {
  return `./${path
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/\(/g, '%28').replace(/\)/g, '%29'))
    .join('/')}`;
}

function isFence(line: string): boolean {
  return /^\s{0,3}(```|~~~)/.test(line);
}

/**
 * A Markdown document as a lesson: its first line's `# Heading` becomes the title (the lesson
 * page prints the title as its heading, so the body starts at `##`), and any other `#` heading
 * outside code is moved down a level.
 */
function markdownLesson(source: string): { title: string | null; body: string } {
  const lines = source
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .split('\n');
  let title: string | null = null;
  const first = lines.findIndex((line) => line.trim() !== '');
  if (first !== -1) {
    const atx = /^#\s+(.+?)\s*#*\s*$/.exec(lines[first]!);
    const setext = lines[first + 1] !== undefined && /^=+\s*$/.test(lines[first + 1]!) ? lines[first]!.trim() : null;
    if (atx) {
      title = atx[1]!;
      lines.splice(first, 1);
    } else if (setext) {
      title = setext;
      lines.splice(first, 2);
    }
  }
  let inFence = false;
  const body = lines.map((line) => {
    if (isFence(line)) inFence = !inFence;
    return !inFence && /^#\s/.test(line) ? `#${line}` : line;
  });
  return { title, body: body.join('\n').replace(/^\n+/, '').trimEnd() };
}

function decodeEntities(value: string): string {
  return value
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/**
 * An HTML document as a lesson: the title from its first <h1> (removed, as the page prints the
 * title) or its <title>; the body's HTML kept as it is, inside one <div> with no blank line, so
 * that Markdown passes it through whole (a blank line would end the HTML block there, and what
 * follows would be read as Markdown: indented lines as code).
 */
function htmlLesson(source: string): { title: string | null; body: string } {
  const html = source.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const inner = /<body[^>]*>([\s\S]*?)(<\/body>|$)/i.exec(html)?.[1] ?? html.replace(/<!DOCTYPE[^>]*>|<head[\s\S]*?<\/head>|<\/?html[^>]*>/gi, '');
  const h1 = /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(inner);
  const strip = (value: string) =>
    decodeEntities(value.replace(/<[^>]+>/g, ''))
      .replace(/\s+/g, ' ')
      .trim();
  const headTitle = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1];
  const title = (h1 && strip(h1[1]!)) || (headTitle && strip(headTitle)) || null;
  const body = (h1 && strip(h1[1]!) ? inner.replace(h1[0], '') : inner)
    .split('\n')
    .map((line) => (line.trim() === '' ? '<!-- -->' : line))
    .join('\n')
    .replace(/^(<!-- -->\n)+|(\n<!-- -->)+$/g, '')
    .trim();
  return { title, body: body ? `<div class="imported-html">\n${body}\n</div>` : '' };
}

/** The relative targets of a Markdown document's links and images (not URLs, anchors or site paths). */
function relativeReferences(body: string): string[] {
  const targets: string[] = [];
  for (const match of body.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = match[1]!;
    if (/^([a-z][a-z0-9+.-]*:|#|\/)/i.test(target)) continue;
    targets.push(target);
  }
  return targets;
}

function courseField(fields: Record<string, unknown>, names: string[]): unknown {
  for (const name of names) if (fields[name] !== undefined && fields[name] !== null && fields[name] !== '') return fields[name];
  return undefined;
}

/** One paragraph of at most DESCRIPTION_MAX characters, cut at a word. */
function shortDescription(description: string): string {
  const paragraph = description
    .split(/\n\s*\n/)[0]!
    .replace(/\s+/g, ' ')
    .trim();
  if (paragraph.length <= DESCRIPTION_MAX) return paragraph;
  const cut = paragraph.slice(0, DESCRIPTION_MAX - 1);
  return `${cut.slice(0, cut.lastIndexOf(' ') > 200 ? cut.lastIndexOf(' ') : cut.length).replace(/[\s,.;:]+$/, '')}…`;
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Reads the dump and the media files, and decides every file to write; writes nothing. */
export async function planDjangoContent(
  dump: unknown,
  options: { mediaRoot: string; currency?: string; courseModel?: string; documentModel?: string },
): Promise<ContentPlan> {
  const { objects, courseModel } = findDjangoModels(dump, { courseModel: options.courseModel });
  if (!courseModel) throw new DjangoContentError('The dump has no course model (<app>.course, or name it with --course-model).');
  const mediaRoot = resolve(options.mediaRoot);
  if (!existsSync(mediaRoot) || !statSync(mediaRoot).isDirectory())
    throw new DjangoContentError(`The media root ${mediaRoot} is not a folder (it is MEDIA_ROOT in the Django settings).`);
  const documentModel = findDocumentModel(objects, courseModel, options.documentModel);
  const courseIndex = djangoIndex(objects, courseModel, COURSE_NATURAL);
  const problems: string[] = [];
  const courseSlugs = new Set<string>();
  const courses: PlannedContentCourse[] = [];
  const byObject = new Map<DjangoObject, PlannedContentCourse>();

  for (const object of objects.filter((item) => item.model === courseModel)) {
    const fields = object.fields;
    const djangoPk = idOf(object, COURSE_NATURAL);
    const title = djangoCourseTitle(fields) ?? `Course ${djangoPk}`;
    const own = text(fields.slug);
    const slug = unique(own && AUTHORED_SLUG.test(own) && own.length <= MAX_SLUG_LENGTH ? own : slugFrom(title) || `course-${djangoPk}`, courseSlugs);
    const description = text(courseField(fields, ['course_description', 'description', 'summary', 'overview']));
    const price = courseField(fields, ['course_price', 'price', 'amount']);
    const data: Record<string, unknown> = { title, description: description ? shortDescription(description) : title };
    if (!description) problems.push(`${slug}/course.md: the Django course has no description; the title stands in for it: write one`);
    if (price !== undefined) data.price = String(price);
    else problems.push(`${slug}/course.md: the Django course has no price: add price: "49.00"`);
    if (options.currency) data.currency = options.currency.toUpperCase();
    const sales = description ?? '';
    const course: PlannedContentCourse = {
      djangoPk,
      slug,
      title,
      lessons: [],
      files: [{ path: 'course.md', text: `${frontMatter(data)}${sales ? `${sales}\n` : ''}` }],
    };
    courses.push(course);
    byObject.set(object, course);
  }

  const documents = documentModel
    ? objects
        .filter((object) => object.model === documentModel.label)
        .map((object) => ({ object, order: Number(courseField(object.fields, ORDER_FIELDS) ?? Number.NaN) }))
        .sort((a, b) => (a.order || 0) - (b.order || 0) || Number(a.object.pk) - Number(b.object.pk))
        .map(({ object }) => object)
    : [];
  const perCourse = new Map<PlannedContentCourse, { object: DjangoObject; name: string }[]>();
  for (const object of documents) {
    const name = text(object.fields[documentModel!.field]);
    const courseObject = lookUp(courseIndex, object.fields[documentModel!.courseField]);
    const course = courseObject && byObject.get(courseObject);
    if (!name) continue;
    if (!course) {
      problems.push(`document ${object.pk} (${name}) belongs to no course of the dump: skipped`);
      continue;
    }
    perCourse.set(course, [...(perCourse.get(course) ?? []), { object, name }]);
  }

  for (const course of courses) {
    const items = perCourse.get(course) ?? [];
    const width = Math.max(2, String(items.length).length);
    const lessonSlugs = new Set<string>();
    const copied = new Set<string>();
    let number = 0;
    for (const { object, name } of items) {
      const source = resolve(mediaRoot, name);
      if (source !== mediaRoot && !source.startsWith(mediaRoot + sep)) {
        problems.push(`${course.slug}: document ${object.pk} names ${name}, outside the media root: skipped`);
        continue;
      }
      if (!existsSync(source) || !statSync(source).isFile()) {
        problems.push(
          `${course.slug}: document ${object.pk}: ${name} is not in the media root (looked for ${source}): skipped; copy it there and run again with --force`,
        );
        continue;
      }
      const ext = extname(source).toLowerCase();
      const kind: PlannedLesson['kind'] = ext === '.md' || ext === '.markdown' ? 'markdown' : ext === '.html' || ext === '.htm' ? 'html' : 'download';
      const ownTitle = text(courseField(object.fields, TITLE_FIELDS));
      let title: string;
      let body: string;
      if (kind === 'download') {
        title = ownTitle ?? titleFromFileName(name);
        let fileName = basename(source).replace(/[\\/]/g, '_');
        for (let n = 2; copied.has(fileName); n++) fileName = `${basename(source, extname(source))}-${n}${extname(source)}`;
        copied.add(fileName);
        course.files.push({ path: `files/${fileName}`, copyFrom: source });
        const kindName = ext ? ext.slice(1).toUpperCase() : 'file';
        body = `[Download ${fileName}](${linkPath(`files/${fileName}`)}) (${kindName}, ${formatSize(statSync(source).size)})`;
      } else {
        const content = await readFile(source, 'utf8');
        const lesson = kind === 'markdown' ? markdownLesson(content) : htmlLesson(content);
        title = ownTitle ?? lesson.title ?? titleFromFileName(name);
        body = lesson.body;
        if (kind === 'markdown') {
          for (const target of relativeReferences(body)) {
            const path = decodeURIComponent(target.split(/[?#]/)[0]!);
            const from = resolve(dirname(source), path);
            const inside = relative(dirname(source), from);
            if (extname(path).toLowerCase() === '.md' || inside.startsWith('..') || !existsSync(from) || !statSync(from).isFile()) {
              problems.push(`${course.slug}: ${name} refers to ${target}, which is not carried over: copy it beside the lesson or change the reference`);
              continue;
            }
            const to = inside.split(sep).join('/');
            if (!copied.has(to)) course.files.push({ path: to, copyFrom: from });
            copied.add(to);
          }
        } else if (/\s(src|href)\s*=\s*["']?(?![a-z][a-z0-9+.-]*:|#|\/)[^"'\s>]+/i.test(body)) {
          problems.push(`${course.slug}: ${name} is HTML with relative links or images, which are not carried over: link the files from Markdown instead`);
        }
      }
      const slug = unique(slugFrom(title) || `lesson-${number + 1}`, lessonSlugs);
      const file = `${String(++number).padStart(width, '0')}-${slug}.md`;
      course.lessons.push({ file, title, kind, source: name });
      course.files.push({ path: file, text: `${frontMatter({ title })}${body ? `${body}\n` : ''}` });
    }
    if (!course.lessons.length)
      problems.push(`${course.slug}: the Django course has no documents, so no lessons: write one (e.g. ${course.slug}/01-introduction.md)`);
  }
  return { models: { courses: courseModel, documents: documentModel?.label ?? null }, courses, problems };
}

/**
 * Writes the planned course folders under `outDir`. Refuses, writing nothing, when a course's
 * folder exists already, unless `force` (which replaces those folders whole). Writes a starter
 * `site.yaml` when the folder has none, since the catalogue needs one.
 */
export async function writeDjangoContent(
  plan: ContentPlan,
  outDir: string,
  options: { force?: boolean; currency?: string } = {},
): Promise<{ siteWritten: boolean }> {
  const root = resolve(outDir);
  const existing = plan.courses.filter((course) => existsSync(join(root, course.slug)));
  if (existing.length && !options.force) {
    throw new DjangoContentError(
      `Nothing written: ${existing.map((course) => join(root, course.slug)).join(', ')} exist${existing.length === 1 ? 's' : ''} already. Move ${existing.length === 1 ? 'it' : 'them'} away, or pass --force to replace ${existing.length === 1 ? 'it' : 'them'}.`,
    );
  }
  await mkdir(root, { recursive: true });
  const siteFile = join(root, 'site.yaml');
  const siteWritten = !existsSync(siteFile);
  if (siteWritten) {
    const site = {
      name: 'Courses',
      description: 'Courses moved from a Django site.',
      author: 'The author',
      currency: options.currency?.toUpperCase() ?? 'USD',
    };
    await writeFile(siteFile, `# Written by import-django-content: set the site's name, description and author (docs/authoring.md).\n${stringify(site)}`, {
      flag: 'wx',
    });
  }
  for (const course of plan.courses) {
    const dir = join(root, course.slug);
    if (options.force) await rm(dir, { recursive: true, force: true });
    for (const file of course.files) {
      const target = join(dir, file.path);
      await mkdir(dirname(target), { recursive: true });
      if ('text' in file) await writeFile(target, file.text, { flag: 'wx' });
      else await copyFile(file.copyFrom, target);
    }
  }
  return { siteWritten };
}
