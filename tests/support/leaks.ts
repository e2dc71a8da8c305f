// Whether a build's public output gives away anything of its paid lessons: their text, their
// pages, or the media only they use. Used on the suite's own courses (private-build.test.ts) and
// on whatever the author's courses/ holds (author-courses.test.ts).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Catalog } from '../../src/catalog/load.ts';
import { parseManifest, type Manifest } from '../../src/server/content/bundle.ts';

export function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

export function readManifest(dist: string): Manifest {
  return parseManifest(JSON.parse(readFileSync(join(dist, 'private', 'manifest.json'), 'utf8')));
}

/** The bytes a paid-only file must not share with any public file: all of it, or 512 bytes from its middle. */
export function fingerprint(bytes: Buffer): Buffer {
  if (bytes.length <= 512) return bytes;
  const start = Math.floor(bytes.length / 2) - 256;
  return bytes.subarray(start, start + 512);
}

/** Every public file that contains one of the needles, as "file: needle". */
export function findInPublic(client: string, needles: { text: string[]; bytes: { name: string; bytes: Buffer }[] }): string[] {
  const found: string[] = [];
  for (const file of files(client)) {
    const bytes = readFileSync(file);
    const lower = bytes.toString('latin1').toLowerCase();
    for (const text of needles.text) if (lower.includes(text.toLowerCase())) found.push(`${relative(client, file)}: ${text}`);
    for (const { name, bytes: needle } of needles.bytes) if (bytes.includes(needle)) found.push(`${relative(client, file)}: bytes of ${name}`);
  }
  return found;
}

/**
 * Text that only paid lessons hold: runs of text between tags, long enough to be specific, that no
 * public page (course page, free lesson, descriptions, titles) also says.
 */
export function paidOnlyText(catalog: Catalog): Set<string> {
  const publicText = catalog.published
    .flatMap((c) => [c.html, c.title, c.description, ...c.lessons.flatMap((l) => [l.title, ...(l.preview ? [l.html, l.description ?? ''] : [])])])
    .join('\n');
  const text = new Set<string>();
  for (const course of catalog.published) {
    for (const lesson of course.lessons.filter((l) => !l.preview)) {
      for (const run of lesson.html.split(/<[^>]*>/)) {
        const t = run.trim();
        if (t.length >= 40 && !publicText.includes(t)) text.add(t);
      }
      if (lesson.description && !publicText.includes(lesson.description)) text.add(lesson.description);
    }
  }
  return text;
}

/** What of the paid lessons the public output of `dist` shows: nothing, when all is well. */
export function paidLeaks(dist: string, catalog: Catalog): string[] {
  const client = join(dist, 'client');
  const manifest = readManifest(dist);
  const bytes = manifest.media.map((item) => ({ name: item.file, bytes: fingerprint(readFileSync(join(dist, 'private', item.file))) }));
  const leaks = findInPublic(client, { text: [...paidOnlyText(catalog)], bytes });
  for (const course of catalog.published) {
    for (const lesson of course.lessons)
      if (existsSync(join(client, lesson.url)) !== lesson.preview) leaks.push(`${lesson.url}: ${lesson.preview ? 'missing' : 'a paid page in public'}`);
    for (const file of catalog.privateMedia.get(course.slug) ?? [])
      if (existsSync(join(client, 'media', file))) leaks.push(`media/${file}: paid-only media in public`);
  }
  return leaks;
}
