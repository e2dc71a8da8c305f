// The static build: what reaches dist/client, and what must not.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadCatalog, type Catalog } from '../src/catalog/load.ts';
import { buildSite, FIXTURE_COURSES, ROOT } from './support/build.ts';

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

function page(client: string, path: string): string {
  return readFileSync(join(client, path, 'index.html'), 'utf8');
}

describe('the demo build', () => {
  const client = join(inject('dist'), 'client');
  let catalog: Catalog;
  beforeAll(async () => {
    catalog = await loadCatalog(FIXTURE_COURSES);
  });

  it('has a page for every published course and free preview, and none for paid lessons or drafts', () => {
    expect(catalog.published.length).toBeGreaterThanOrEqual(3);
    for (const course of catalog.courses) {
      expect(existsSync(join(client, course.url, 'index.html')), course.url).toBe(course.published);
      for (const lesson of course.lessons) {
        expect(existsSync(join(client, lesson.url)), lesson.url).toBe(course.published && lesson.preview);
      }
    }
    const html = files(client)
      .filter((f) => f.endsWith('.html'))
      .map((f) => relative(client, f))
      .sort();
    const expected = [
      '404.html',
      'index.html',
      ...catalog.published.flatMap((c) => [`${c.url.slice(1)}index.html`, ...c.lessons.filter((l) => l.preview).map((l) => `${l.url.slice(1)}index.html`)]),
    ].sort();
    expect(html).toEqual(expected);
  });

  it('lists every published course in the catalogue with price, lesson count and duration', () => {
    const index = page(client, '/');
    for (const course of catalog.published) {
      expect(index).toContain(`href="${course.url}"`);
      expect(index).toContain(course.title.replace(/&/g, '&amp;'));
    }
    expect(index).toMatch(/\$49/);
    expect(index).toMatch(/€79/);
    expect(index).toMatch(/¥4,900/);
    expect(index).toMatch(/\d+ lessons/);
  });

  it('gives each course page a syllabus, a buy form that needs no script, and structured data', () => {
    for (const course of catalog.published) {
      const html = page(client, course.url);
      expect(html).toContain(`<form method="post" action="/api/checkout"><input type="hidden" name="course" value="${course.slug}">`);
      for (const lesson of course.lessons) expect(html).toContain(lesson.title.replace(/&/g, '&amp;').replace(/'/g, '&#39;'));
      const ld = JSON.parse(/<script type="application\/ld\+json">(.*?)<\/script>/s.exec(html)![1]!);
      expect(ld).toMatchObject({ '@type': 'Course', name: course.title, offers: { price: course.price, priceCurrency: course.currency } });
      expect(html).toContain(`<link rel="canonical" href="http://localhost:4321${course.url}">`);
      expect(html).toMatch(/<meta property="og:image" content="http:\/\/localhost:4321\/media\/[0-9a-f]{16}-og\.jpg">/);
    }
  });

  it('ships no JavaScript on the catalogue and course pages but the member-state module', () => {
    // The one script shows the visitor's state from /api/me; its byte budget, and every page's, are in tests/quality.test.ts.
    const pages = ['/', ...catalog.published.map((c) => c.url)];
    const scripts = files(client).filter((f) => /\.m?js$/.test(f));
    expect(scripts).toHaveLength(1);
    for (const path of pages) {
      const html = page(client, path);
      const tags = [...html.replace(/<script type="application\/ld\+json">.*?<\/script>/gs, '').matchAll(/<script\b[^>]*>/gi)].map((m) => m[0]);
      expect(tags, path).toEqual([`<script type="module" src="/${relative(client, scripts[0]!).split(sep).join('/')}">`]);
    }
  });

  it('gives every image dimensions and alt text, and every media file exists', () => {
    for (const file of files(client).filter((f) => f.endsWith('.html'))) {
      const html = readFileSync(file, 'utf8');
      for (const [img] of html.matchAll(/<img\b[^>]*>/g)) {
        expect(img, relative(client, file)).toMatch(/\swidth="\d+"/);
        expect(img).toMatch(/\sheight="\d+"/);
        expect(img).toMatch(/\salt="[^"]*"/);
      }
      for (const [, src] of html.matchAll(/(?:src|srcset)="(\/media\/[^" ,]+)/g)) expect(existsSync(join(client, src!)), src).toBe(true);
    }
  });

  it('publishes a sitemap, robots.txt and a feed of public pages only', () => {
    const sitemap = readFileSync(join(client, 'sitemap.xml'), 'utf8');
    const locs = [...sitemap.matchAll(/<loc>([^<]+)<\/loc>/g)].map((m) => new URL(m[1]!).pathname);
    expect(locs.sort()).toEqual(['/', ...catalog.published.flatMap((c) => [c.url, ...c.lessons.filter((l) => l.preview).map((l) => l.url)])].sort());
    expect(readFileSync(join(client, 'robots.txt'), 'utf8')).toContain('Sitemap: http://localhost:4321/sitemap.xml');
    const rss = readFileSync(join(client, 'rss.xml'), 'utf8');
    for (const course of catalog.published) expect(rss).toContain(`<link>http://localhost:4321${course.url}</link>`);
    expect(existsSync(join(client, 'favicon.svg'))).toBe(true);
  });
});

describe('fixture builds', () => {
  const outDirs: string[] = [];
  afterAll(() => {
    for (const dir of outDirs) rmSync(dir, { recursive: true, force: true });
  });
  it('a course with mistakes fails the build, naming the files, lines and fixes', async () => {
    const build = await buildSite({ coursesDir: 'tests/fixtures/courses-broken' });
    outDirs.push(build.outDir);
    expect(build.code).not.toBe(0);
    expect(build.output).toContain('23 problems and 4 warnings in the courses');
    expect(build.output).toContain('tests/fixtures/courses-broken/bad-course/course.md:6: unknown key "prive"');
    expect(build.output).toContain('tests/fixtures/courses-broken/bad-course/02-links.md:6: link ./02-nothing.md points to no lesson or course');
  });

  it('builds an imported book: warnings listed, anchors that resolve in the built pages, contents that show where the reader is', async () => {
    const build = await buildSite({ coursesDir: 'tests/fixtures/courses-book' });
    outDirs.push(build.outDir);
    expect(build.code, build.output).toBe(0);
    expect(build.output).toContain('3 warnings in the courses');
    expect(build.output).toContain(
      'tests/fixtures/courses-book/rust-book/01-getting-started/01-installation.md:13: warning: image img-missing-alt.svg has no alt text',
    );
    const client = join(build.outDir, 'client');
    const pages = new Map<string, string>([
      ['/courses/rust-book/', page(client, '/courses/rust-book/')],
      ['/courses/rust-book/installation/', page(client, '/courses/rust-book/installation/')],
      ['/courses/rust-book/hello-world/', readFileSync(join(build.outDir, 'private/pages/rust-book/hello-world.html'), 'utf8')],
      ['/courses/rust-book/what-is-ownership/', readFileSync(join(build.outDir, 'private/pages/rust-book/what-is-ownership.html'), 'utf8')],
    ]);
    // Every link to an anchor of these pages, as the browser will follow it, lands on an id.
    let anchors = 0;
    for (const [url, html] of pages) {
      for (const [, href] of html.matchAll(/href="([^"]*#[^"]+)"/g)) {
        const [path, id] = href!.split('#') as [string, string];
        const target = pages.get(path || url);
        if (!target) continue;
        anchors++;
        expect(target, `${url} links to ${href}`).toContain(`id="${decodeURIComponent(id)}"`);
      }
    }
    expect(anchors).toBeGreaterThan(10);
    // The course's stylesheet is published and linked from its pages.
    expect(readFileSync(join(client, 'courses/rust-book/course.css'), 'utf8')).toContain('.ferris-note');
    expect(pages.get('/courses/rust-book/')).toContain('<link rel="stylesheet" href="/courses/rust-book/course.css">');
    expect(pages.get('/courses/rust-book/')).toContain('<h3>1. Getting started</h3>');
    // Contents: numbered sections, the current one open; a breadcrumb and a "Contents" link that need no script.
    const ownership = pages.get('/courses/rust-book/what-is-ownership/')!;
    expect(ownership).toContain('<link rel="stylesheet" href="/courses/rust-book/course.css">');
    expect(ownership).toMatch(
      /<nav class="breadcrumb" aria-label="Breadcrumb"><ol><li><a href="\/courses\/rust-book\/">The Rust Book, imported<\/a><\/li><li>2\. Ownership<\/li><li aria-current="page">What Is Ownership\?<\/li><\/ol><a class="contents-link" href="#contents">Contents<\/a><\/nav>/,
    );
    expect(ownership).toMatch(/<details class="nav-section"><summary>1\. Getting started<\/summary>/);
    expect(ownership).toMatch(
      /<details class="nav-section" open><summary>2\. Ownership<\/summary><ol><li><a href="\/courses\/rust-book\/what-is-ownership\/" aria-current="page"/,
    );
    // A long lesson lists its headings; a short one does not.
    expect(ownership).toMatch(
      /<summary id="on-this-page">On this page<\/summary><ol><li><a href="#the-stack-and-the-heap">The Stack and the Heap<\/a><\/li><li><a href="#ownership-rules">Ownership Rules<\/a><\/li><li class="toc-sub"><a href="#the-rules-in-short">/,
    );
    expect(pages.get('/courses/rust-book/hello-world/')).not.toContain('on-this-page');
  });

  it('keeps paid lessons, their images, drafts and unpublished courses out of the public output, and builds deterministically', async () => {
    const [first, second] = await Promise.all([
      buildSite({ coursesDir: 'tests/fixtures/courses-good' }),
      buildSite({ coursesDir: 'tests/fixtures/courses-good' }),
    ]);
    outDirs.push(first.outDir, second.outDir);
    expect(first.code, first.output).toBe(0);
    const client = join(first.outDir, 'client');
    const output = files(client);
    for (const file of output) {
      const bytes = readFileSync(file, 'latin1');
      for (const marker of ['PAID-MARKER', 'DRAFT-MARKER', 'HIDDEN-MARKER']) expect(bytes, relative(client, file)).not.toContain(marker);
    }
    const catalog = await loadCatalog(join(ROOT, 'tests/fixtures/courses-good'));
    const paidMedia = [...catalog.courses[0]!.lessons[1]!.media];
    expect(paidMedia.length).toBeGreaterThan(0);
    for (const file of paidMedia) expect(existsSync(join(client, 'media', file))).toBe(false);

    const html = (dir: string) => files(join(dir, 'client')).filter((f) => f.endsWith('.html') || f.endsWith('.xml'));
    const again = html(second.outDir);
    expect(again.map((f) => relative(second.outDir, f))).toEqual(html(first.outDir).map((f) => relative(first.outDir, f)));
    for (const file of html(first.outDir)) {
      expect(readFileSync(file, 'utf8')).toBe(readFileSync(join(second.outDir, relative(first.outDir, file)), 'utf8'));
    }
  });
});
