// After `astro build`: moves every paid lesson page out of the public output into the private
// bundle (dist/private/), writes the media only paid lessons use beside them, and a manifest of
// every course and lesson for the content sync. The format is described in
// src/server/content/bundle.ts. The public output keeps nothing of a paid lesson.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BUNDLE_FORMAT, MANIFEST_FILE, mediaFile, pageFile, textFile, type Manifest } from '../server/content/bundle.ts';
import type { Catalog } from './load.ts';
import { renderVariant } from './media.ts';

/** Media encodings at once: sharp already spreads one image over the cores. */
const ENCODE_CONCURRENCY = 2;
/** Page moves at once: file system calls, which libuv runs on its thread pool. */
const MOVE_CONCURRENCY = 16;

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Runs `work` on every item, `concurrency` at a time; results keep the items' order. */
async function pool<T, R>(items: T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!);
      }
    }),
  );
  return results;
}

export type PrivateBundleResult = { pages: number; media: number };

export async function writePrivateBundle(catalog: Catalog, clientDir: string, privateDir: string): Promise<PrivateBundleResult> {
  await rm(privateDir, { recursive: true, force: true });
  const courses: Manifest['courses'] = catalog.courses.map((course, index) => ({
    slug: course.slug,
    title: course.title,
    priceMinor: course.priceMinor,
    currency: course.currency,
    published: course.published,
    position: index + 1,
    firstLessonSlug: course.lessons[0]?.slug ?? null,
    comingSoon: course.comingSoon,
    saleEndsAt: course.saleEndsAt,
    promotionCodes: course.promotionCodes,
    tax: course.tax,
  }));

  const all = catalog.published.flatMap((course) => course.lessons.map((lesson) => ({ course, lesson })));
  const paid = all.filter(({ lesson }) => !lesson.preview);
  const pages = await pool(paid, MOVE_CONCURRENCY, async ({ course, lesson }) => {
    // With `build.format: 'directory'`, Astro writes /courses/<course>/<lesson>/index.html.
    const lessonDir = join(clientDir, lesson.url);
    const source = join(lessonDir, 'index.html');
    if (!existsSync(source)) throw new Error(`the page of the paid lesson ${lesson.url} was not built (${source})`);
    const file = pageFile(course.slug, lesson.slug);
    const html = await readFile(source);
    await mkdir(dirname(join(privateDir, file)), { recursive: true });
    await rename(source, join(privateDir, file));
    // The folder the page leaves behind: /courses/<course>/<lesson>/ must not exist publicly.
    await removeIfEmpty(lessonDir);
    return { file, sha256: sha256(html) };
  });
  const pageOf = new Map(paid.map(({ lesson }, index) => [lesson, pages[index]!]));
  // Every lesson's text, free ones too: search finds previews for everyone.
  const texts = await pool(all, MOVE_CONCURRENCY, async ({ course, lesson }) => {
    const file = textFile(course.slug, lesson.slug);
    await mkdir(dirname(join(privateDir, file)), { recursive: true });
    await writeFile(join(privateDir, file), lesson.text);
    return { file, sha256: sha256(lesson.text) };
  });
  const lessons: Manifest['lessons'] = all.map(({ course, lesson }, index) => ({
    course: course.slug,
    slug: lesson.slug,
    title: lesson.title,
    position: lesson.position,
    preview: lesson.preview,
    page: pageOf.get(lesson) ?? null,
    text: texts[index]!,
  }));

  const jobs = catalog.published.flatMap((course) =>
    catalog.media.variants([...(catalog.privateMedia.get(course.slug) ?? [])].sort()).map((variant) => ({ course: course.slug, variant })),
  );
  const media = await pool(jobs, ENCODE_CONCURRENCY, async ({ course, variant }) => {
    const bytes = await renderVariant(variant);
    const file = mediaFile(course, variant.file);
    await mkdir(dirname(join(privateDir, file)), { recursive: true });
    await writeFile(join(privateDir, file), bytes);
    return { course, name: variant.file, contentType: variant.contentType, file, sha256: sha256(bytes) };
  });

  assertNothingPrivateIsPublic(catalog, clientDir);
  const manifest: Manifest = { format: BUNDLE_FORMAT, courses, lessons, media };
  await writeFile(join(privateDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return { pages: pages.length, media: media.length };
}

/** A last check of the public output, so that a future change of the pages cannot leak silently. */
function assertNothingPrivateIsPublic(catalog: Catalog, clientDir: string): void {
  const leaks: string[] = [];
  for (const course of catalog.published) {
    for (const lesson of course.lessons) if (!lesson.preview && existsSync(join(clientDir, lesson.url))) leaks.push(lesson.url);
    for (const file of catalog.privateMedia.get(course.slug) ?? []) if (existsSync(join(clientDir, 'media', file))) leaks.push(`/media/${file}`);
  }
  if (leaks.length) throw new Error(`paid lesson content is in the public output: ${leaks.join(', ')}`);
}

async function removeIfEmpty(dir: string): Promise<void> {
  const left = await readdir(dir);
  if (left.length) throw new Error(`${dir} holds more than the paid lesson's page: ${left.join(', ')}`);
  await rmdir(dir);
}
