// The catalogue as the pages see it: loaded once per build, reloaded by the development server when
// a file under the courses folder changes.
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadCatalog, type Catalog, type Course } from './load.ts';
import { coursesDirOf } from '../server/config.ts';
import type { Texts } from '../server/i18n/index.ts';

export * from './load.ts';
export { renderVariant, type Picture } from './media.ts';
export { pictureHtml } from './markdown.ts';

/** The author's content; tests point it elsewhere. */
export function coursesDir(): string {
  return resolve(coursesDirOf(process.env));
}

// Kept on globalThis: during a build, the pages (bundled by Vite) and the integration's
// `astro:build:done` hook (loaded with the config) have separate copies of this module but run in
// one process, and the private bundle must be written from the catalogue the pages rendered.
// The development server's plugin (dev-server.ts) and its pages share the catalogue the same way.
const CACHE = Symbol.for('course-store.catalog');
const TRACK = Symbol.for('course-store.catalog.track-changes');
type Cached = { signature: string; catalog: Promise<Catalog> };
type Shared = { [CACHE]?: Cached; [TRACK]?: boolean };

/** Called by the development server: from now on every file's change time is part of the cache key. */
export function trackCourseChanges(): void {
  (globalThis as Shared)[TRACK] = true;
}

export function getCatalog(): Promise<Catalog> {
  const dir = coursesDir();
  const shared = globalThis as Shared;
  const signature = shared[TRACK] ? `${dir}|${treeSignature(dir)}` : dir;
  let cached = shared[CACHE];
  if (cached?.signature !== signature) {
    cached = { signature, catalog: loadCatalog(dir) };
    shared[CACHE] = cached;
  }
  return cached.catalog;
}

/** Every file's path and change time; a missing folder or a file removed meanwhile counts as a change too. */
function treeSignature(dir: string): string {
  let signature = '';
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      signature += `${path}:${statSync(path, { throwIfNoEntry: false })?.mtimeMs};`;
    }
  } catch {
    return `unreadable ${Date.now()}`;
  }
  return signature;
}

/** The number each titled section shows ("3. Ownership"); untitled groups of lessons have none. */
export function sectionNumbers(course: Course): Map<Course['sections'][number], number> {
  const numbers = new Map<Course['sections'][number], number>();
  for (const section of course.sections) if (section.title) numbers.set(section, numbers.size + 1);
  return numbers;
}

/** "1 h 30 min", in the site's language. */
export function formatDuration(t: Texts, minutes: number): string {
  return t.site.duration(Math.floor(minutes / 60), minutes % 60);
}

export function lessonCount(t: Texts, count: number): string {
  return t.site.lessons(count);
}
