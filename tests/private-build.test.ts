// The private build: every paid lesson is rendered with the site's layout into the private bundle
// (<outDir>/private), and nothing of it (text, page, folder, paid-only media bytes) reaches the
// public output (<outDir>/client), which is what a static host or CDN publishes.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadCatalog, type Catalog } from '../src/catalog/load.ts';
import { parseManifest, type Manifest } from '../src/server/content/bundle.ts';
import { buildSite, FIXTURE_COURSES, ROOT } from './support/build.ts';
import { files, findInPublic, fingerprint, paidLeaks, paidOnlyText, readManifest } from './support/leaks.ts';

/** The full layout of a lesson page: site header, the course's lesson list with this lesson current, the pager, the stylesheet. */
function expectFullLayout(html: string, client: string, course: Catalog['courses'][number], lesson: Catalog['courses'][number]['lessons'][number]) {
  expect(html).toMatch(/^<!DOCTYPE html>/i);
  expect(html).toContain('<header class="site-header">');
  expect(html).toMatch(/<nav class="lesson-nav" id="contents" aria-label="Lessons of this course" data-lesson-nav[ >]/);
  for (const other of course.lessons) expect(html).toContain(`href="${other.url}"`);
  expect(html).toContain(`<a href="${lesson.url}" aria-current="page" data-lesson="${lesson.slug}">`);
  expect(html).toContain('<nav class="pager" aria-label="Previous and next lesson">');
  expect(html).toContain('<footer class="site-footer">');
  expect(html).toContain('<meta name="robots" content="noindex">');
  const styles = [...html.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((m) => m[1]!);
  expect(styles.length).toBeGreaterThan(0);
  for (const href of styles) expect(existsSync(join(client, href)), href).toBe(true);
}

describe('the demo build', () => {
  const dist = inject('dist');
  const client = join(dist, 'client');
  let catalog: Catalog;
  let manifest: Manifest;
  beforeAll(async () => {
    catalog = await loadCatalog(FIXTURE_COURSES);
    manifest = readManifest(dist);
  });

  it("lists every course and every lesson of the published courses in the manifest, with the store's fields", () => {
    expect(manifest.courses).toEqual(
      catalog.courses.map((course, index) => ({
        slug: course.slug,
        title: course.title,
        priceMinor: course.priceMinor,
        currency: course.currency,
        published: course.published,
        position: index + 1,
        firstLessonSlug: course.lessons[0]!.slug,
        comingSoon: course.comingSoon,
        saleEndsAt: course.saleEndsAt,
        promotionCodes: course.promotionCodes,
        tax: course.tax,
      })),
    );
    expect(manifest.lessons.map((l) => [l.course, l.slug, l.title, l.position, l.preview, l.page?.file ?? null])).toEqual(
      catalog.published.flatMap((course) =>
        course.lessons.map((l) => [course.slug, l.slug, l.title, l.position, l.preview, l.preview ? null : `pages/${course.slug}/${l.slug}.html`]),
      ),
    );
  });

  it('renders every paid lesson into the private bundle with the full layout, and every hash matches', () => {
    const paid = catalog.published.flatMap((course) => course.lessons.filter((l) => !l.preview).map((lesson) => ({ course, lesson })));
    expect(paid.length).toBeGreaterThan(10);
    for (const { course, lesson } of paid) {
      const entry = manifest.lessons.find((l) => l.course === course.slug && l.slug === lesson.slug)!;
      const bytes = readFileSync(join(dist, 'private', entry.page!.file));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(entry.page!.sha256);
      const html = bytes.toString('utf8');
      expectFullLayout(html, client, course, lesson);
      expect(html).toContain(lesson.html);
    }
    for (const item of manifest.media) {
      const bytes = readFileSync(join(dist, 'private', item.file));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(item.sha256);
    }
    // Every lesson's text for the search index, free lessons too.
    for (const entry of manifest.lessons) {
      const bytes = readFileSync(join(dist, 'private', entry.text!.file));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(entry.text!.sha256);
    }
    // The manifest, the pages, the media, the texts, and the layout of the pages rendered at request time.
    expect(files(join(dist, 'private')).length).toBe(2 + paid.length + manifest.media.length + manifest.lessons.length);
  });

  it('keeps the layout of request-time pages in the private bundle, with its markers, and not in the public output', () => {
    const shell = readFileSync(join(dist, 'private', 'shell.html'), 'utf8');
    expect(shell).toContain('<title>%%PAGE_TITLE%% · ');
    expect(shell).toContain('<!--%%PAGE_MAIN%%-->');
    expect(shell).toMatch(/<link rel="stylesheet" href="\/_astro\/[^"]+\.css"/);
    expect(existsSync(join(dist, 'client', 'app-shell'))).toBe(false);
  });

  it('leaves no paid lesson text, page, folder or paid-only media in the public output', () => {
    expect(paidOnlyText(catalog).size).toBeGreaterThan(50);
    expect(paidLeaks(dist, catalog)).toEqual([]);
  });
});

describe('a course whose paid lessons carry markers', () => {
  const COURSES = 'tests/fixtures/courses-good';
  let dist: string;
  let client: string;
  let catalog: Catalog;
  let manifest: Manifest;
  beforeAll(async () => {
    const [build, loaded] = await Promise.all([buildSite({ coursesDir: COURSES }), loadCatalog(join(ROOT, COURSES))]);
    dist = build.outDir;
    if (build.code !== 0) throw new Error(`the fixture does not build:\n${build.output}`);
    client = join(dist, 'client');
    catalog = loaded;
    manifest = readManifest(dist);
  });
  afterAll(() => dist && rmSync(dist, { recursive: true, force: true }));

  it('has no marker, paid page, paid lesson folder or paid-only media bytes anywhere under dist/client', () => {
    const paidOnly = manifest.media.map((item) => ({ name: item.file, bytes: fingerprint(readFileSync(join(dist, 'private', item.file))) }));
    // The paid-only sources too, byte for byte (the SVG, the CSV and the text file are published as they are).
    for (const source of [
      '04-advanced/img/paid-only.png',
      '04-advanced/img/paid-diagram.svg',
      '04-advanced/files/paid-notes.txt',
      '01-basics/img/secret.png',
    ]) {
      paidOnly.push({ name: source, bytes: fingerprint(readFileSync(join(ROOT, COURSES, 'tiny-course', source))) });
    }
    expect(paidOnly.length).toBe(7 + 4);
    const found = findInPublic(client, { text: ['PAID-MARKER', 'DRAFT-MARKER', 'HIDDEN-MARKER', '/courses/tiny-course/media/'], bytes: paidOnly });
    expect(found).toEqual([]);
    const html = files(client)
      .filter((f) => f.endsWith('.html'))
      .map((f) => relative(client, f))
      .sort();
    expect(html).toEqual(['404.html', 'courses/tiny-course/index.html', 'courses/tiny-course/welcome/index.html', 'index.html']);
    for (const slug of ['setup', 'wrap-up', 'deep-dive']) expect(existsSync(join(client, 'courses/tiny-course', slug))).toBe(false);
  });

  it('puts each paid lesson in the private bundle with its markers, the layout, and private media URLs', () => {
    const tiny = catalog.courses.find((c) => c.slug === 'tiny-course')!;
    const page = (slug: string) => readFileSync(join(dist, 'private', 'pages', 'tiny-course', `${slug}.html`), 'utf8');
    const markers: Record<string, string[]> = {
      setup: ['PAID-MARKER-tiny-setup', 'alt="PAID-MARKER-alt secret diagram"'],
      'wrap-up': ['PAID-MARKER-wrap-up'],
      'deep-dive': [
        '<meta name="description" content="PAID-MARKER-description',
        'id="paid-marker-heading-in-depth"',
        'PAID-MARKER-body-deep-dive',
        'alt="PAID-MARKER-alt-only',
        'alt="PAID-MARKER-alt-svg',
        'PAID-MARKER-code',
        'PAID-MARKER-footnote',
      ],
    };
    expect(manifest.lessons.filter((l) => l.page).map((l) => l.slug)).toEqual(Object.keys(markers));
    for (const [slug, expected] of Object.entries(markers)) {
      const html = page(slug);
      expectFullLayout(html, client, tiny, tiny.lessons.find((l) => l.slug === slug)!);
      for (const marker of expected) expect(html, slug).toContain(marker);
    }
    // Paid-only media: in the bundle and referenced at the course's private path, never at /media/.
    const all = Object.keys(markers).map(page).join('\n');
    expect(manifest.media.map((m) => m.name).sort()).toEqual([...catalog.privateMedia.get('tiny-course')!].sort());
    for (const item of manifest.media) {
      expect(item.file).toBe(`media/tiny-course/${item.name}`);
      expect(all).toContain(`/courses/tiny-course/media/${item.name}`);
      expect(all).not.toMatch(new RegExp(`["\\s,]/media/${item.name}`));
    }
    expect(readFileSync(join(dist, 'private', manifest.media.find((m) => m.name.endsWith('.svg'))!.file), 'utf8')).toContain('PAID-MARKER-svg-text');
    // The flow diagram is also on the free welcome page: it stays public, and the paid page uses its public URL.
    const flow = /srcset="(\/media\/[0-9a-f]{16}-640\.webp) 640w/.exec(page('deep-dive'))![1]!;
    expect(existsSync(join(client, flow))).toBe(true);
    // Drafts and unpublished courses are built nowhere.
    const everything = files(join(dist, 'private'))
      .map((f) => readFileSync(f, 'latin1'))
      .join('\n');
    expect(everything).not.toContain('DRAFT-MARKER');
    expect(everything).not.toContain('HIDDEN-MARKER');
    expect(manifest.courses.map((c) => [c.slug, c.published])).toEqual([
      ['tiny-course', true],
      ['hidden-course', false],
    ]);
    expect(manifest.lessons.every((l) => l.course === 'tiny-course')).toBe(true);
  });
  // The development server, which renders paid lessons for their author: tests/dev-server.test.ts.
});
