// Reads the author's course folders, checks every file against the schema, and renders the
// Markdown. Problems are collected, not thrown one at a time, so that one run of `npm run check`
// lists every mistake with its file and line.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isScalar, type Document } from 'yaml';
import type { z } from 'zod';
import { parsePrice } from '../server/money.ts';
import { DEFAULT_TAX_CODE, type CheckoutTax } from '../server/payments/checkout-tax.ts';
import { MarkdownRenderer, pictureFiles, relativeToCwd, type FragmentLink, type LinkTarget, type Problem, type Rendered } from './markdown.ts';
import { MediaRegistry, type Picture } from './media.ts';
import {
  courseFrontMatter,
  lessonFrontMatter,
  MAX_SLUG_LENGTH,
  sectionFrontMatter,
  saleEndsAt,
  siteSettings,
  AUTHORED_SLUG,
  type SiteSettings,
} from './schema.ts';

export type { Problem } from './markdown.ts';

export type Lesson = {
  slug: string;
  title: string;
  description?: string;
  preview: boolean;
  duration?: number;
  url: string;
  /** The lesson's file relative to the project, for messages. */
  file: string;
  section: string | null;
  /** 1-based position in the course. */
  position: number;
  html: string;
  media: Set<string>;
  readingMinutes: number;
  headings: Rendered['headings'];
  /** Plain text for the search index. */
  text: string;
};

export type Section = { slug: string | null; title: string | null; description?: string; lessons: Lesson[] };

export type Course = {
  slug: string;
  title: string;
  description: string;
  /** The price exactly as the author wrote it. */
  price: string;
  priceMinor: number;
  currency: string;
  cover?: Picture;
  published: boolean;
  order: number;
  level?: 'beginner' | 'intermediate' | 'advanced';
  tags: string[];
  /** Announced, not on sale: the page offers a waitlist instead of a buy form. */
  comingSoon: boolean;
  /** When the sale ends (ms since the epoch, exclusive), or null for no end. */
  saleEndsAt: number | null;
  /** Checkout accepts promotion codes: the course's own setting, else the site's. */
  promotionCodes: boolean;
  /** The tax, invoice and consent settings it sells with (site.yaml, its own tax_code), or null. */
  tax: CheckoutTax | null;
  url: string;
  file: string;
  html: string;
  media: Set<string>;
  sections: Section[];
  lessons: Lesson[];
  /** The course's own stylesheet (courses/<slug>/course.css), served at `<url>course.css`. */
  css: string | null;
  /** Sum of the lessons' durations in minutes (reading time where a lesson gives none). */
  duration: number;
  /** Sales page blocks from the front matter (docs/authoring.md, "The sales page"). */
  testimonials: { quote: string; name: string; role?: string }[];
  /** Questions with their answers rendered from Markdown. */
  faq: { question: string; html: string }[];
  /** The guarantee rendered from Markdown, or null. */
  guarantee: string | null;
};

/** "About the author" on every course page, from `bio` in site.yaml. */
export type Author = { name: string; text: string; photo?: Picture };

export type Catalog = {
  site: SiteSettings;
  /** Null when site.yaml has no `bio`. */
  author: Author | null;
  /** Every valid course, published or not, in catalogue order. */
  courses: Course[];
  published: Course[];
  media: MediaRegistry;
  /** Media file names that public pages use: covers, sales pages and free previews. */
  publicMedia: Set<string>;
  /**
   * Per published course, the media file names that only its paid lessons use. They never reach
   * the public output: the paid pages reference them at `/courses/<course>/media/<name>`, which
   * the lesson gate serves to members from the store (docs/decisions/0002-paid-lesson-media.md).
   */
  privateMedia: Map<string, Set<string>>;
  /** Problems that do not stop a build (an image without alt text, an unknown code attribute). */
  warnings: Problem[];
};

export class CatalogError extends Error {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(`${countProblems(problems)} in the courses:\n${formatProblems(problems)}`);
    this.name = 'CatalogError';
    this.problems = problems;
  }
}

/** "2 problems and 1 warning": warnings count apart, as `--strict` makes them fail too. */
export function countProblems(problems: Problem[]): string {
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const errors = problems.filter((p) => !p.warning).length;
  const warnings = problems.length - errors;
  return [errors && count(errors, 'problem'), warnings && count(warnings, 'warning')].filter(Boolean).join(' and ');
}

export function formatProblems(problems: Problem[]): string {
  return problems.map((p) => `  ${p.file}${p.line ? `:${p.line}` : ''}: ${p.warning ? 'warning: ' : ''}${p.message}`).join('\n');
}

/** A course's own stylesheet is for the figures of an imported book, not for a second site theme. */
export const MAX_COURSE_CSS_BYTES = 32 * 1024;

/**
 * The ids every page has besides its Markdown's, which links may name: the layout's (src/layouts,
 * src/components/LessonView.astro and the course page).
 */
const PAGE_IDS = [
  ...['main', 'buy', 'not-owned', 'waitlist', 'syllabus-title', 'progress', 'contents', 'on-this-page'],
  // The course page's sales blocks (src/components/CourseSales.astro).
  ...['course-testimonials', 'course-faq', 'course-author', 'buy-end'],
];

const NUMBERED = /^(\d{1,4})-(.+)$/;
const WORDS_PER_MINUTE = 220;

type Parsed<T> = { data: T; body: string; lineOffset: number };

type RawLesson = Parsed<z.infer<typeof lessonFrontMatter>> & {
  slug: string;
  source: string;
  file: string;
  section: string | null;
  /** Its front matter had no mistake. */
  valid: boolean;
};
type RawSection = { slug: string | null; title: string | null; description?: string; lessons: RawLesson[] };
type RawCourse = Parsed<z.infer<typeof courseFrontMatter>> & {
  lineOf: (path: (string | number)[]) => number | undefined;
  slug: string;
  source: string;
  file: string;
  currency: string;
  priceMinor: number;
  promotionCodes: boolean;
  tax: CheckoutTax | null;
  sections: RawSection[];
  /** Every lesson file parsed: only then can "no lessons" be told apart from "broken lessons". */
  complete: boolean;
};

let renderer: Promise<MarkdownRenderer> | undefined;

/**
 * Loads and renders every course under `dir`. Throws a CatalogError listing every problem;
 * warnings are returned with the catalogue, unless `strict` makes them errors too.
 * `dir` holds one folder per course and an optional `site.yaml`.
 */
export async function loadCatalog(dir: string, { strict = false } = {}): Promise<Catalog> {
  const root = resolve(dir);
  const problems: Problem[] = [];
  if (!existsSync(root)) throw new CatalogError([{ file: relativeToCwd(root), message: 'the courses folder does not exist' }]);

  const site = await loadSite(root, problems);
  const raws: RawCourse[] = [];
  for (const entry of await sortedEntries(root)) {
    if (!entry.isDirectory() || entry.name.startsWith('.') || entry.name.startsWith('_')) continue;
    const defaults = { currency: site?.currency ?? 'USD', promotionCodes: site?.promotion_codes ?? false, tax: siteCheckoutTax(site) };
    const course = await readCourse(join(root, entry.name), entry.name, defaults, problems);
    if (course) raws.push(course);
  }

  const targets = new Map<string, LinkTarget>();
  for (const raw of raws) {
    const url = `/courses/${raw.slug}/`;
    targets.set(raw.source, { url, course: raw.slug, draft: false, coursePublished: raw.data.published });
    for (const lesson of raw.sections.flatMap((s) => s.lessons)) {
      targets.set(lesson.source, {
        url: `${url}${lesson.slug}/`,
        course: raw.slug,
        draft: lesson.data.draft,
        coursePublished: raw.data.published,
      });
    }
  }

  renderer ??= MarkdownRenderer.create();
  const markdown = await renderer;
  const media = new MediaRegistry();
  const author = site?.bio ? await loadAuthor(root, site, media, problems) : null;
  const fragments: FragmentLink[] = [];
  const courses = await Promise.all(raws.map((raw) => renderCourse(raw, markdown, media, targets, fragments, problems, site?.locale ?? 'en-US')));
  checkFragments(fragments, targets, problems);

  if (problems.some((p) => !p.warning || strict) || !site) throw new CatalogError(sortProblems(problems));
  const warnings = sortProblems(problems);
  courses.sort((a, b) => a.order - b.order || a.title.localeCompare(b.title, 'en'));
  const published = courses.filter((c) => c.published);
  const publicMedia = new Set<string>();
  for (const course of published) {
    for (const file of course.media) publicMedia.add(file);
    for (const lesson of course.lessons) if (lesson.preview) for (const file of lesson.media) publicMedia.add(file);
  }
  if (author?.photo) for (const file of pictureFiles(author.photo)) publicMedia.add(file);
  const privateMedia = new Map<string, Set<string>>();
  for (const course of published) {
    const own = new Set<string>();
    for (const lesson of course.lessons) {
      if (lesson.preview) continue;
      const moved = new Set([...lesson.media].filter((file) => !publicMedia.has(file)));
      for (const file of moved) own.add(file);
      lesson.html = withPrivateMediaUrls(lesson.html, course.slug, moved);
    }
    privateMedia.set(course.slug, own);
  }
  return { site, author, courses, published, media, publicMedia, privateMedia, warnings };
}

/** Every `#fragment` of every internal link names an id of its page, once all pages are rendered. */
function checkFragments(fragments: FragmentLink[], targets: Map<string, LinkTarget>, problems: Problem[]): void {
  for (const link of fragments) {
    const ids = targets.get(link.source)?.ids;
    if (!ids || ids.has(link.id) || PAGE_IDS.includes(link.id)) continue;
    const near = [...ids].find((id) => id.replace(/-+/g, '-') === link.id.replace(/-+/g, '-'));
    problems.push({
      file: link.file,
      line: link.line,
      message: `link ${link.href} names no anchor of its page${near ? `: did you mean #${near}?` : ': heading ids are written as GitHub makes them (lower case, spaces to hyphens, punctuation dropped)'}`,
    });
  }
}

/** Where the lesson gate serves a course's private media file to its members. */
export function privateMediaUrl(course: string, file: string): string {
  return `/courses/${course}/media/${file}`;
}

/**
 * Points a paid lesson's references to media only paid lessons use (in src, srcset and href) at
 * the course's private media path. Media that a public page also uses keep their public URL.
 */
function withPrivateMediaUrls(html: string, course: string, files: Set<string>): string {
  if (!files.size) return html;
  return html.replace(/(["\s,])\/media\/([A-Za-z0-9._-]+)/g, (whole, before: string, file: string) =>
    files.has(file) ? `${before}${privateMediaUrl(course, file)}` : whole,
  );
}

/** The site settings alone, for pages that must not load the whole catalogue. */
export async function loadSiteSettings(dir: string): Promise<SiteSettings> {
  const problems: Problem[] = [];
  const site = await loadSite(resolve(dir), problems);
  if (!site) throw new CatalogError(problems);
  return site;
}

async function loadSite(root: string, problems: Problem[]): Promise<SiteSettings | null> {
  const path = join(root, 'site.yaml');
  const file = relativeToCwd(path);
  if (!existsSync(path)) {
    problems.push({ file, message: 'site settings are missing: create site.yaml with name, description and author' });
    return null;
  }
  const text = await readFile(path, 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length) {
    for (const error of doc.errors) problems.push({ file, line: error.linePos?.[0].line, message: `invalid YAML: ${error.message}` });
    return null;
  }
  return validate(siteSettings, doc.toJS() ?? {}, { file, doc, lines, lineOffset: 0 }, problems);
}

/** The author's name, lines and photo (an image beside site.yaml) for the course pages. */
async function loadAuthor(root: string, site: SiteSettings, media: MediaRegistry, problems: Problem[]): Promise<Author | null> {
  const bio = site.bio!;
  const author: Author = { name: bio.name ?? site.author, text: bio.text };
  if (!bio.photo) return author;
  const file = relativeToCwd(join(root, 'site.yaml'));
  const path = resolve(root, bio.photo);
  if (!existsSync(path)) {
    problems.push({ file, message: `bio.photo: ${bio.photo} not found beside site.yaml` });
    return author;
  }
  try {
    author.photo = await media.picture(path, { widths: AUTHOR_PHOTO_WIDTHS });
  } catch (error) {
    problems.push({ file, message: `bio.photo: ${bio.photo} cannot be read as an image: ${(error as Error).message}` });
  }
  return author;
}

/** The author's photo is shown 96 px wide: these cover screens of density 1 and 2. */
const AUTHOR_PHOTO_WIDTHS = [96, 192];

/** The site's tax and consent settings as every course sells with them; null when it has none. */
function siteCheckoutTax(site: SiteSettings | null): CheckoutTax | null {
  if (!site || (!site.tax && !site.withdrawal_consent)) return null;
  const tax = site.tax;
  return {
    automaticTax: tax?.automatic_tax ?? false,
    taxBehavior: (tax?.prices_include_tax ?? true) ? 'inclusive' : 'exclusive',
    taxCode: tax?.tax_code ?? DEFAULT_TAX_CODE,
    taxIdCollection: tax?.tax_id_collection ?? false,
    billingAddress: tax?.billing_address_collection ?? 'required',
    invoices: tax?.invoices ?? false,
    consent: site.withdrawal_consent && site.terms_url ? { termsUrl: site.terms_url, language: site.locale } : null,
  };
}

async function readCourse(
  dir: string,
  slug: string,
  defaults: { currency: string; promotionCodes: boolean; tax: CheckoutTax | null },
  problems: Problem[],
): Promise<RawCourse | null> {
  const courseFile = join(dir, 'course.md');
  const file = relativeToCwd(courseFile);
  if (!checkSlug(slug, relativeToCwd(dir), 'course folder', problems)) return null;
  if (!existsSync(courseFile)) {
    problems.push({ file: relativeToCwd(dir), message: 'a course folder needs a course.md with title, description and price' });
    return null;
  }
  const course = await readMarkdown(courseFile, courseFrontMatter, { title: slug, description: slug, price: '1' }, problems);
  const { sections, complete } = await readLessons(dir, slug, problems);
  const currency = course.data.currency ?? defaults.currency;
  const promotionCodes = course.data.promotion_codes ?? defaults.promotionCodes;
  const tax = defaults.tax && { ...defaults.tax, taxCode: course.data.tax_code ?? defaults.tax.taxCode };
  let priceMinor = 0;
  const price = parsePrice(course.data.price, currency);
  if ('message' in price) problems.push({ file, line: course.lines.get('price'), message: `price: ${price.message}` });
  else priceMinor = price.minor;
  if (course.data.cover && !existsSync(resolve(dir, course.data.cover))) {
    problems.push({ file, line: course.lines.get('cover'), message: `cover: ${course.data.cover} not found beside course.md` });
    course.data.cover = undefined;
  }
  return { ...course, slug, source: courseFile, file, currency, priceMinor, promotionCodes, tax, sections, complete };
}

/** Lessons at the top of a course folder and in numbered section folders, in NN order. */
async function readLessons(dir: string, course: string, problems: Problem[]): Promise<{ sections: RawSection[]; complete: boolean }> {
  const sections: RawSection[] = [];
  const slugs = new Map<string, string>();
  let ok = true;
  let loose: RawSection | null = null;

  for (const item of await numberedItems(dir, problems)) {
    if (item.kind === 'file') {
      const lesson = await readLesson(item.path, item.slug, null, slugs, problems);
      if (!lesson?.valid) ok = false;
      if (!lesson) continue;
      if (!loose) sections.push((loose = { slug: null, title: null, lessons: [] }));
      loose.lessons.push(lesson);
      continue;
    }
    loose = null;
    if (!checkSlug(item.slug, relativeToCwd(item.path), 'section folder', problems)) {
      ok = false;
      continue;
    }
    const section: RawSection = { slug: item.slug, title: null, lessons: [] };
    const sectionFile = join(item.path, 'section.md');
    if (existsSync(sectionFile)) {
      const parsed = await readMarkdown(sectionFile, sectionFrontMatter, { title: titleFromSlug(item.slug) }, problems);
      if (!parsed.valid) ok = false;
      Object.assign(section, { title: parsed.data.title, description: parsed.data.description });
    }
    for (const inner of await numberedItems(item.path, problems)) {
      if (inner.kind === 'dir') {
        problems.push({ file: relativeToCwd(inner.path), message: 'sections cannot be nested: move these lessons up into the section folder' });
        ok = false;
        continue;
      }
      const lesson = await readLesson(inner.path, inner.slug, item.slug, slugs, problems);
      if (!lesson?.valid) ok = false;
      if (lesson) section.lessons.push(lesson);
    }
    section.title ??= titleFromSlug(item.slug);
    sections.push(section);
  }
  if (ok && !sections.some((s) => s.lessons.length)) {
    problems.push({ file: relativeToCwd(dir), message: `course "${course}" has no lessons: add a file such as 01-introduction.md` });
  }
  return { sections, complete: ok };
}

async function readLesson(path: string, slug: string, section: string | null, slugs: Map<string, string>, problems: Problem[]): Promise<RawLesson | null> {
  const file = relativeToCwd(path);
  if (!checkSlug(slug, file, 'lesson file', problems)) return null;
  const earlier = slugs.get(slug);
  if (earlier) {
    problems.push({
      file,
      message: `duplicate lesson slug "${slug}" (also ${earlier}): lesson URLs drop the number and the section, so give one of them another name`,
    });
    return null;
  }
  slugs.set(slug, file);
  const parsed = await readMarkdown(path, lessonFrontMatter, { title: titleFromSlug(slug) }, problems);
  return { ...parsed, slug, source: path, file, section };
}

type Item = { kind: 'file' | 'dir'; number: number; slug: string; path: string };

/** The NN-prefixed lessons and section folders of a folder; other folders hold images. */
async function numberedItems(dir: string, problems: Problem[]): Promise<Item[]> {
  const items: Item[] = [];
  for (const entry of await sortedEntries(dir)) {
    const path = join(dir, entry.name);
    if (entry.name.startsWith('.')) continue;
    if (entry.isFile()) {
      if (!entry.name.endsWith('.md') || entry.name === 'course.md' || entry.name === 'section.md') continue;
      const match = NUMBERED.exec(entry.name.slice(0, -3));
      if (!match) {
        problems.push({ file: relativeToCwd(path), message: 'lesson files are named <NN>-<slug>.md, e.g. 01-introduction.md' });
        continue;
      }
      items.push({ kind: 'file', number: Number(match[1]), slug: match[2]!, path });
    } else if (entry.isDirectory()) {
      const match = NUMBERED.exec(entry.name);
      if (match) items.push({ kind: 'dir', number: Number(match[1]), slug: match[2]!, path });
    }
  }
  items.sort((a, b) => a.number - b.number);
  for (let i = 1; i < items.length; i++) {
    if (items[i]!.number === items[i - 1]!.number) {
      problems.push({
        file: relativeToCwd(items[i]!.path),
        message: `number ${items[i]!.number} is also used by ${relativeToCwd(items[i - 1]!.path)}: the numbers set the order, so each must be different`,
      });
    }
  }
  return items;
}

async function renderCourse(
  raw: RawCourse,
  markdown: MarkdownRenderer,
  media: MediaRegistry,
  targets: Map<string, LinkTarget>,
  fragments: FragmentLink[],
  problems: Problem[],
  locale: string,
): Promise<Course> {
  const url = `/courses/${raw.slug}/`;
  const context = (source: string, file: string, lineOffset: number) => ({
    file: source,
    displayFile: file,
    lineOffset,
    targets,
    media,
    problems,
    fragments,
    course: raw.slug,
    locale,
  });
  const rendered = async (source: string, file: string, body: string, lineOffset: number) => {
    const result = await markdown.render(body, context(source, file, lineOffset));
    const target = targets.get(source);
    if (target) target.ids = result.ids;
    return result;
  };
  const coverPath = raw.data.cover ? resolve(raw.source, '..', raw.data.cover) : null;
  const [sales, cover] = await Promise.all([
    rendered(raw.source, raw.file, raw.body, raw.lineOffset),
    coverPath
      ? media.picture(coverPath, { og: true }).catch((error: Error) => {
          problems.push({ file: raw.file, message: `cover: ${raw.data.cover} cannot be read as an image: ${error.message}` });
          return undefined;
        })
      : undefined,
  ]);

  let position = 0;
  const sections: Section[] = [];
  for (const rawSection of raw.sections) {
    const published = rawSection.lessons.filter((l) => !l.data.draft);
    const lessons = await Promise.all(
      published.map(async (l): Promise<Lesson> => {
        const page = await rendered(l.source, l.file, l.body, l.lineOffset);
        return {
          slug: l.slug,
          title: l.data.title,
          description: l.data.description,
          preview: l.data.preview,
          duration: l.data.duration,
          url: `${url}${l.slug}/`,
          file: l.file,
          section: l.section,
          position: 0,
          html: page.html,
          media: page.media,
          readingMinutes: Math.max(1, Math.round(page.words / WORDS_PER_MINUTE)),
          headings: page.headings,
          text: page.text,
        };
      }),
    );
    for (const lesson of lessons) lesson.position = ++position;
    if (lessons.length) sections.push({ slug: rawSection.slug, title: rawSection.title, description: rawSection.description, lessons });
  }
  const lessons = sections.flatMap((s) => s.lessons);
  if (!lessons.length && raw.complete && raw.sections.some((s) => s.lessons.length)) {
    problems.push({ file: raw.file, message: 'every lesson of this course is a draft: publish at least one' });
  }
  // The course page's title is its one <h1>; the sales text starts below it.
  for (const heading of sales.headings.filter((h) => h.level === 1)) {
    problems.push({
      file: raw.file,
      line: heading.line,
      message: `"# ${heading.text}" makes a second <h1> on the course page, whose title is its heading: use ## for the sections of the sales text`,
      warning: true,
    });
  }
  const css = await readCourseCss(raw, problems);
  const courseMedia = new Set(sales.media);
  // FAQ answers and the guarantee are Markdown in the front matter: rendered as the sales text is,
  // their links checked, their problems reported at their own line.
  const snippet = async (text: string, path: (string | number)[]) => {
    const result = await markdown.render(text, context(raw.source, raw.file, (raw.lineOf(path) ?? 1) - 1));
    for (const file of result.media) courseMedia.add(file);
    return result.html;
  };
  const [faq, guarantee] = await Promise.all([
    Promise.all(raw.data.faq.map(async (item, index) => ({ question: item.question, html: await snippet(item.answer, ['faq', index, 'answer']) }))),
    raw.data.guarantee ? snippet(raw.data.guarantee, ['guarantee']) : null,
  ]);
  if (cover) for (const file of pictureFiles(cover)) courseMedia.add(file);

  return {
    slug: raw.slug,
    title: raw.data.title,
    description: raw.data.description,
    price: raw.data.price,
    priceMinor: raw.priceMinor,
    currency: raw.currency,
    cover,
    published: raw.data.published,
    order: raw.data.order ?? Number.MAX_SAFE_INTEGER,
    level: raw.data.level,
    tags: raw.data.tags,
    comingSoon: raw.data.coming_soon,
    saleEndsAt: raw.data.sale_ends ? saleEndsAt(raw.data.sale_ends) : null,
    promotionCodes: raw.promotionCodes,
    tax: raw.tax,
    url,
    file: raw.file,
    html: sales.html,
    media: courseMedia,
    sections,
    lessons,
    css,
    duration: lessons.reduce((sum, l) => sum + (l.duration ?? l.readingMinutes), 0),
    testimonials: raw.data.testimonials,
    faq,
    guarantee,
  };
}

/** An imported book's styles for its figures; only its size is checked, the author owns the site. */
async function readCourseCss(raw: RawCourse, problems: Problem[]): Promise<string | null> {
  const path = join(dirname(raw.source), 'course.css');
  if (!existsSync(path)) return null;
  const css = await readFile(path, 'utf8');
  const bytes = new TextEncoder().encode(css).length;
  if (bytes > MAX_COURSE_CSS_BYTES) {
    problems.push({
      file: relativeToCwd(path),
      message: `course.css is ${Math.ceil(bytes / 1024)} KB, over the ${MAX_COURSE_CSS_BYTES / 1024} KB allowed: keep the styles the course's figures need`,
    });
    return null;
  }
  if (/<\/style|@import/i.test(css)) {
    problems.push({ file: relativeToCwd(path), message: 'course.css may not use @import or contain </style>: put the rules in the file itself' });
    return null;
  }
  return css;
}

/** `valid`: the front matter had no mistake; otherwise `data` keeps only its right settings. */
type ParsedMarkdown<T> = Parsed<T> & {
  lines: Map<string, number>;
  /** The line in the file of a nested value, such as ['faq', 0, 'answer']. */
  lineOf: (path: (string | number)[]) => number | undefined;
  valid: boolean;
};

/**
 * A file whose front matter has mistakes is still read, with `fallback` for the settings that are
 * wrong, so that its body's mistakes (and those of the files linking to it) are reported in the
 * same run; the problems recorded keep the catalogue from loading.
 */
async function readMarkdown<S extends z.ZodType>(path: string, schema: S, fallback: z.input<S>, problems: Problem[]): Promise<ParsedMarkdown<z.output<S>>> {
  const file = relativeToCwd(path);
  const text = (await readFile(path, 'utf8')).replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const match = /^---\n([\s\S]*?)\n?---(?:\n|$)/.exec(text);
  const wrong = (body: string, lineOffset: number) => ({
    data: schema.parse(fallback),
    body,
    lineOffset,
    lines: new Map<string, number>(),
    lineOf: (_path: (string | number)[]): number | undefined => undefined,
    valid: false,
  });
  if (!match) {
    problems.push({ file, line: 1, message: 'the file must start with front matter between two --- lines (title and the other settings)' });
    return wrong(text, 0);
  }
  const yamlText = match[1] ?? '';
  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOffset = match[0].split('\n').length - (match[0].endsWith('\n') ? 1 : 0);
  const body = text.slice(match[0].length);
  if (doc.errors.length) {
    for (const error of doc.errors) {
      problems.push({ file, line: (error.linePos?.[0].line ?? 0) + 1, message: `invalid front matter: ${error.message.split('\n')[0]}` });
    }
    return wrong(body, lineOffset);
  }
  const where = { file, doc, lines: lineCounter, lineOffset: 1 };
  const input: unknown = doc.toJS() ?? {};
  const data = validate(schema, input, where, problems);
  const lines = keyLines(where);
  const lineOf = (path: (string | number)[]) => pathLine(where, path);
  if (data) return { data, body, lineOffset, lines, lineOf, valid: true };
  return { ...wrong(body, lineOffset), data: withoutWrongSettings(schema, input, fallback), lines, lineOf };
}

/** The settings that passed the schema, completed by `fallback`: enough to check the rest of a file. */
function withoutWrongSettings<S extends z.ZodType>(schema: S, input: unknown, fallback: z.input<S>): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success || input === null || typeof input !== 'object' || Array.isArray(input)) return schema.parse(fallback);
  const wrong = new Set(result.error.issues.flatMap((issue) => (issue.code === 'unrecognized_keys' ? issue.keys : [String(issue.path[0] ?? '')])));
  const kept = Object.fromEntries(Object.entries(input).filter(([key]) => !wrong.has(key)));
  const retry = schema.safeParse({ ...(fallback as object), ...kept });
  return retry.success ? retry.data : schema.parse(fallback);
}

type Where = { file: string; doc: Document; lines: LineCounter; lineOffset: number };

function keyLines({ doc, lines, lineOffset }: Where): Map<string, number> {
  const result = new Map<string, number>();
  if (!isMap(doc.contents)) return result;
  for (const pair of doc.contents.items) {
    if (isScalar(pair.key) && pair.key.range) result.set(String(pair.key.value), lines.linePos(pair.key.range[0]).line + lineOffset);
  }
  return result;
}

/**
 * The line of the value at `path` in the YAML (a list item's field), or of the nearest enclosing
 * value that exists: a missing field is reported at its item.
 */
function pathLine({ doc, lines, lineOffset }: Where, path: PropertyKey[]): number | undefined {
  for (let length = path.length; length > 0; length--) {
    const node = doc.getIn(path.slice(0, length) as (string | number)[], true) as { range?: [number, number, number]; type?: string } | undefined;
    if (!node || typeof node !== 'object' || !node.range) continue;
    // A block scalar (`answer: |`) starts at its indicator; its text, one line below.
    const block = node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED' ? 1 : 0;
    return lines.linePos(node.range[0]).line + lineOffset + block;
  }
  return undefined;
}

function validate<S extends z.ZodType>(schema: S, input: unknown, where: Where, problems: Problem[]): z.output<S> | null {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    problems.push({ file: where.file, line: where.lineOffset, message: 'front matter must be a list of key: value settings' });
    return null;
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const lines = keyLines(where);
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys' && issue.path.length === 0) {
      const allowed = schema instanceof Object && 'keyof' in schema ? (schema as unknown as z.ZodObject).keyof().options.join(', ') : '';
      for (const key of issue.keys) {
        problems.push({ file: where.file, line: lines.get(key), message: `unknown key "${key}": the keys are ${allowed}` });
      }
      continue;
    }
    const key = String(issue.path[0] ?? '');
    // Inside a list (faq, testimonials) the item is named by its number and the line is its own.
    if (issue.path.length > 1) {
      const label = typeof issue.path[1] === 'number' ? `${key}, item ${issue.path[1] + 1}` : key;
      const message = issue.message.startsWith(key) ? issue.message : `${label}: ${issue.message}`;
      problems.push({ file: where.file, line: pathLine(where, issue.path as PropertyKey[]) ?? lines.get(key), message });
      continue;
    }
    problems.push({ file: where.file, line: lines.get(key), message: issue.message.startsWith(key) ? issue.message : `${key}: ${issue.message}` });
  }
  return null;
}

function checkSlug(slug: string, file: string, what: string, problems: Problem[]): boolean {
  if (AUTHORED_SLUG.test(slug) && slug.length <= MAX_SLUG_LENGTH) return true;
  problems.push({
    file,
    message: `${what} name "${slug}" must be lowercase letters, digits and single hyphens (at most ${MAX_SLUG_LENGTH} characters): it becomes the URL`,
  });
  return false;
}

async function sortedEntries(dir: string) {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function titleFromSlug(slug: string): string {
  const words = slug.replace(/-/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0));
}
