// The private bundle: what `astro build` writes beside the public site (dist/private/) and the
// content sync loads into the store. It holds the page of every paid lesson, the media only paid
// lessons use, and a manifest of every course and lesson:
//
//   manifest.json                 the Manifest below
//   pages/<course>/<lesson>.html  the full page of a paid lesson, as Astro built it
//   media/<course>/<name>         a file only paid lessons use, served at /courses/<course>/media/<name>
//   text/<course>/<lesson>.txt    the plain text of every lesson, free or paid, for the search index
//
// Reading files is left to the caller (a Node script reads a folder; another runtime may fetch),
// so this module runs anywhere.
import { z } from 'zod';
import { checkoutTaxSchema } from '../payments/checkout-tax.ts';

export const BUNDLE_FORMAT = 1;
export const MANIFEST_FILE = 'manifest.json';

const slug = z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'must be a slug (lowercase letters, digits, single hyphens)');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256');
/** A path inside the bundle: no absolute paths, no `..`, no hidden files. */
const bundlePath = z.string().regex(/^(?:[A-Za-z0-9_][A-Za-z0-9._-]*\/)*[A-Za-z0-9_][A-Za-z0-9._-]*$/, 'must be a relative path inside the bundle');

export const manifestSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  /** Every course in git, published or not, in catalogue order. */
  courses: z.array(
    z.strictObject({
      slug,
      title: z.string().min(1),
      /** In the currency's minor unit. */
      priceMinor: z.number().int().nonnegative(),
      currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code'),
      published: z.boolean(),
      /** 1-based position in the catalogue. */
      position: z.number().int().positive(),
      firstLessonSlug: slug.nullable(),
      /** Sales settings; a bundle built before they existed reads as "on sale, no end, no codes". */
      comingSoon: z.boolean().default(false),
      /** End of the sale window in ms since the epoch (exclusive), or null. */
      saleEndsAt: z.number().int().nonnegative().nullable().default(null),
      promotionCodes: z.boolean().default(false),
      /** Tax, invoice and consent settings (site.yaml `tax:`); null: none. */
      tax: checkoutTaxSchema.nullable().default(null),
    }),
  ),
  /** Every lesson of the published courses (drafts excluded), in course order. */
  lessons: z.array(
    z.strictObject({
      course: slug,
      slug,
      title: z.string().min(1),
      /** 1-based position in the course. */
      position: z.number().int().positive(),
      preview: z.boolean(),
      /** The built page of a paid lesson; null for a free preview, which is a public static page. */
      page: z.strictObject({ file: bundlePath, sha256 }).nullable(),
      /** The lesson as plain text for search; a bundle built before search existed has none. */
      text: z.strictObject({ file: bundlePath, sha256 }).nullable().default(null),
    }),
  ),
  /** Files that only paid lessons use, per course. */
  media: z.array(
    z.strictObject({
      course: slug,
      /** The content-hashed file name, as the pages reference it. */
      name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a file name'),
      contentType: z.string().min(1),
      file: bundlePath,
      sha256,
    }),
  ),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestCourse = Manifest['courses'][number];
export type ManifestLesson = Manifest['lessons'][number];
export type ManifestMedia = Manifest['media'][number];

/** A bundle as read by the caller: the manifest's JSON value, and the files it names. */
export type Bundle = {
  manifest: unknown;
  /** Page HTML by bundle path. */
  pages: Map<string, string>;
  /** Media bytes by bundle path. */
  media: Map<string, Uint8Array>;
  /** Lesson text for the search index by bundle path (absent from bundles built before search). */
  texts?: Map<string, string>;
};

/** A bundle that cannot be loaded as it is; nothing was changed. */
export class BundleError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`The content bundle is inconsistent; nothing was changed:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'BundleError';
    this.problems = problems;
  }
}

/** The path of a paid lesson's page inside the bundle. */
export function pageFile(course: string, lesson: string): string {
  return `pages/${course}/${lesson}.html`;
}

/** The path of a private media file inside the bundle. */
export function mediaFile(course: string, name: string): string {
  return `media/${course}/${name}`;
}

export function textFile(course: string, lesson: string): string {
  return `text/${course}/${lesson}.txt`;
}

export function parseManifest(value: unknown): Manifest {
  const result = manifestSchema.safeParse(value);
  if (result.success) return result.data;
  throw new BundleError(result.error.issues.slice(0, 20).map((issue) => `${MANIFEST_FILE}: ${issue.path.join('.') || '(root)'}: ${issue.message}`));
}

/**
 * Reads a bundle through `read` (bundle path to bytes, or null when the file does not exist).
 * Files the manifest names but `read` cannot find are left out, for the sync to report.
 */
export async function readBundle(read: (path: string) => Promise<Uint8Array | null>): Promise<Bundle> {
  const bytes = await read(MANIFEST_FILE);
  if (!bytes) throw new BundleError([`${MANIFEST_FILE} is missing: is this the private bundle of a build (dist/private)?`]);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new BundleError([`${MANIFEST_FILE} is not valid JSON: ${(error as Error).message}`]);
  }
  const manifest = parseManifest(value);
  const decoder = new TextDecoder();
  const pages = new Map<string, string>();
  const media = new Map<string, Uint8Array>();
  const texts = new Map<string, string>();
  await Promise.all([
    ...manifest.lessons.map(async (lesson) => {
      if (!lesson.text) return;
      const text = await read(lesson.text.file);
      if (text) texts.set(lesson.text.file, decoder.decode(text));
    }),
    ...manifest.lessons.map(async (lesson) => {
      if (!lesson.page) return;
      const page = await read(lesson.page.file);
      if (page) pages.set(lesson.page.file, decoder.decode(page));
    }),
    ...manifest.media.map(async (item) => {
      const body = await read(item.file);
      if (body) media.set(item.file, body);
    }),
  ]);
  return { manifest: value, pages, media, texts };
}
