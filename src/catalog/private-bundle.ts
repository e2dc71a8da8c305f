// After `astro build`: moves every paid lesson page out of the public output into the private
// bundle (dist/private/), writes the media only paid lessons use beside them, and a manifest of
// every course and lesson for the content sync. The format is described in
// src/server/content/bundle.ts. The public output keeps nothing of a paid lesson.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BUNDLE_FORMAT, MANIFEST_FILE, mediaFile, pageFile, type Manifest } from '../server/content/bundle.ts';
import type { Catalog } from './load.ts';
import { renderVariant } from './media.ts';

/** Media encodings at once: sharp already uses every core for one image. */
const ENCODE_CONCURRENCY = 2;

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The page Astro wrote for a URL path, with `build.format: 'directory'`. */
function builtPage(clientDir: string, url: string): string {
  return join(clientDir, url, 'index.html');
}

export type PrivateBundleResult = { pages: number; media: number };

export async function writePrivateBundle(catalog: Catalog, clientDir: string, privateDir: string): Promise<PrivateBundleResult> {
  await rm(privateDir, { recursive: true, force: true });
  const manifest: Manifest = { format: BUNDLE_FORMAT, courses: [], lessons: [], media: [] };
  const moved: string[] = [];

  catalog.courses.forEach((course, index) => {
    manifest.courses.push({
      slug: course.slug,
      title: course.title,
      priceMinor: course.priceMinor,
      currency: course.currency,
      published: course.published,
      position: index + 1,
      firstLessonSlug: course.lessons[0]?.slug ?? null,
    });
  });

  for (const course of catalog.published) {
    for (const lesson of course.lessons) {
      if (lesson.preview) {
        manifest.lessons.push({ course: course.slug, slug: lesson.slug, title: lesson.title, position: lesson.position, preview: true, page: null });
        continue;
      }
      const source = builtPage(clientDir, lesson.url);
      if (!existsSync(source)) throw new Error(`the page of the paid lesson ${lesson.url} was not built (${source})`);
      const file = pageFile(course.slug, lesson.slug);
      const target = join(privateDir, file);
      const html = await readFile(source);
      await mkdir(dirname(target), { recursive: true });
      await rename(source, target);
      moved.push(lesson.url);
      manifest.lessons.push({
        course: course.slug,
        slug: lesson.slug,
        title: lesson.title,
        position: lesson.position,
        preview: false,
        page: { file, sha256: sha256(html) },
      });
    }
  }
  // The folders the moved pages leave behind: /courses/<course>/<lesson>/ must not exist publicly.
  for (const url of moved) await removeIfEmpty(join(clientDir, url));

  const jobs = catalog.published.flatMap((course) =>
    catalog.media.variants([...(catalog.privateMedia.get(course.slug) ?? [])].sort()).map((variant) => ({ course: course.slug, variant })),
  );
  const media: Manifest['media'] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: ENCODE_CONCURRENCY }, async () => {
      while (next < jobs.length) {
        const index = next++;
        const { course, variant } = jobs[index]!;
        const bytes = await renderVariant(variant);
        const file = mediaFile(course, variant.file);
        await mkdir(dirname(join(privateDir, file)), { recursive: true });
        await writeFile(join(privateDir, file), bytes);
        media[index] = { course, name: variant.file, contentType: variant.contentType, file, sha256: sha256(bytes) };
      }
    }),
  );
  manifest.media = media;

  await assertNothingPrivateIsPublic(catalog, clientDir);
  await writeFile(join(privateDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return { pages: moved.length, media: media.length };
}

/** A last check of the public output, so that a future change of the pages cannot leak silently. */
async function assertNothingPrivateIsPublic(catalog: Catalog, clientDir: string): Promise<void> {
  const leaks: string[] = [];
  for (const course of catalog.published) {
    for (const lesson of course.lessons) if (!lesson.preview && existsSync(join(clientDir, lesson.url))) leaks.push(lesson.url);
    for (const file of catalog.privateMedia.get(course.slug) ?? []) if (existsSync(join(clientDir, 'media', file))) leaks.push(`/media/${file}`);
  }
  if (leaks.length) throw new Error(`paid lesson content is in the public output: ${leaks.join(', ')}`);
}

async function removeIfEmpty(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  if ((await readdir(dir)).length) throw new Error(`${dir} holds more than the paid lesson's page`);
  await rmdir(dir);
}
