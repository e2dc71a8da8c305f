// Page quality of the built site, read from the build itself (no server): the JavaScript a page
// carries, the bytes of HTML and CSS per page, images that reserve their space and say what they
// show, and no broken internal link anywhere: the public pages, the paid lesson pages of the
// private bundle, the sitemap and the feed.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, inject, test } from 'vitest';
import { ROUTES } from '../src/server/routes.ts';

/** Bytes, raw and gzipped (what a reader downloads through a compressing server). */
const BUDGETS = {
  /** The one script of the static pages: the member state (account link, owned course) from /api/me, and code blocks' copy button. */
  script: { raw: 1_536, gzip: 800 },
  /** HTML and CSS of one page, by kind. */
  catalogue: { raw: 25_000, gzip: 8_000 },
  /** With the sales blocks (testimonials, FAQ, the author, a second buy box) and the owner's ticks: 30.8 KB raw for the demo's fullest course. */
  course: { raw: 32_000, gzip: 9_000 },
  lesson: { raw: 80_000, gzip: 14_000 },
  other: { raw: 20_000, gzip: 6_000 },
} as const;
type Kind = 'catalogue' | 'course' | 'lesson' | 'other';

type Page = { path: string; file: string; html: string; private: boolean };
type Tag = { name: string; attributes: Map<string, string> };

let client: string;
let pages: Page[];
let manifest: { lessons: { course: string; slug: string; page: { file: string } | null }[]; media: { course: string; name: string }[] };

beforeAll(() => {
  const dist = inject('dist');
  client = join(dist, 'client');
  manifest = JSON.parse(readFileSync(join(dist, 'private', 'manifest.json'), 'utf8'));
  const publicPages = files(client)
    .filter((file) => file.endsWith('.html'))
    .map((file) => ({ path: urlPath(relative(client, file)), file, html: readFileSync(file, 'utf8'), private: false }));
  const paidPages = manifest.lessons
    .filter((lesson) => lesson.page)
    .map((lesson) => {
      const file = join(dist, 'private', lesson.page!.file);
      return { path: `/courses/${lesson.course}/${lesson.slug}/`, file, html: readFileSync(file, 'utf8'), private: true };
    });
  pages = [...publicPages, ...paidPages];
});

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)]));
}

/** `courses/x/index.html` → `/courses/x/`. */
function urlPath(file: string): string {
  const path = `/${file.split(sep).join('/')}`;
  return path.endsWith('/index.html') ? path.slice(0, -'index.html'.length) : path;
}

function kindOf(page: Page): Kind {
  if (page.path === '/') return 'catalogue';
  if (/^\/courses\/[^/]+\/$/.test(page.path)) return 'course';
  if (/^\/courses\/[^/]+\/[^/]+\/$/.test(page.path)) return 'lesson';
  return 'other';
}

function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|amp|quot|apos|lt|gt);/gi, (_, entity: string) => {
    if (entity[0] === '#') return String.fromCodePoint(entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : Number(entity.slice(1)));
    return ({ amp: '&', quot: '"', apos: "'", lt: '<', gt: '>' } as Record<string, string>)[entity.toLowerCase()]!;
  });
}

/** The start tags with these names, attribute values decoded (quoted values may contain `>`). */
function tags(html: string, names: string[]): Tag[] {
  const pattern = new RegExp(`<(${names.join('|')})\\b((?:[^>"']|"[^"]*"|'[^']*')*)>`, 'gi');
  return [...html.matchAll(pattern)].map((match) => {
    const attributes = new Map<string, string>();
    for (const attribute of match[2]!.matchAll(/([^\s"'=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
      attributes.set(attribute[1]!.toLowerCase(), decodeEntities(attribute[2] ?? attribute[3] ?? attribute[4] ?? ''));
    }
    return { name: match[1]!.toLowerCase(), attributes };
  });
}

function size(bytes: Buffer | string) {
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  return { raw: buffer.length, gzip: gzipSync(buffer, { level: 9 }).length };
}

function assetBytes(path: string): Buffer {
  return readFileSync(join(client, decodeURIComponent(path)));
}

describe('what a page costs', () => {
  test('the static pages run one small script, the member state, and no other JavaScript', () => {
    const scripts = new Set<string>();
    const problems: string[] = [];
    for (const page of pages) {
      for (const script of tags(page.html, ['script'])) {
        const src = script.attributes.get('src');
        const type = script.attributes.get('type');
        if (src) {
          scripts.add(src);
          if (type !== 'module') problems.push(`${page.path}: ${src} is not a module script (it would block rendering)`);
        } else if (type !== 'application/ld+json') problems.push(`${page.path}: an inline script (${type ?? 'classic'})`);
      }
      for (const tag of tags(page.html, ['[a-z][a-z0-9-]*'])) {
        const handlers = [...tag.attributes.keys()].filter((name) => name.startsWith('on'));
        if (handlers.length) problems.push(`${page.path}: <${tag.name} ${handlers.join(' ')}>`);
      }
    }
    expect(problems).toEqual([]);
    expect([...scripts]).toHaveLength(1);
    const [script] = [...scripts];
    const measured = size(assetBytes(script!));
    console.log(`member-state script ${script}: ${measured.raw} B, ${measured.gzip} B gzipped (budget ${BUDGETS.script.raw} / ${BUDGETS.script.gzip})`);
    expect(measured.raw).toBeLessThanOrEqual(BUDGETS.script.raw);
    expect(measured.gzip).toBeLessThanOrEqual(BUDGETS.script.gzip);
    // The catalogue and the course pages carry exactly that one script.
    for (const page of pages.filter((page) => ['catalogue', 'course'].includes(kindOf(page)))) {
      expect(
        tags(page.html, ['script'])
          .filter((tag) => tag.attributes.has('src'))
          .map((tag) => tag.attributes.get('src')),
        page.path,
      ).toEqual([script]);
    }
  });

  test('HTML and CSS per page stay within the budget of its kind', () => {
    const rows: string[] = [];
    const over: string[] = [];
    for (const page of pages) {
      const css = tags(page.html, ['link'])
        .filter((tag) => tag.attributes.get('rel') === 'stylesheet')
        .map((tag) => assetBytes(tag.attributes.get('href')!));
      expect(css.length, `${page.path}: one stylesheet`).toBeLessThanOrEqual(1);
      const html = size(page.html);
      const styles = css.map(size).reduce((sum, item) => ({ raw: sum.raw + item.raw, gzip: sum.gzip + item.gzip }), { raw: 0, gzip: 0 });
      const total = { raw: html.raw + styles.raw, gzip: html.gzip + styles.gzip };
      const kind = kindOf(page);
      const budget = BUDGETS[kind];
      rows.push(
        `${page.path.padEnd(60)} ${kind.padEnd(9)} html ${String(html.raw).padStart(6)} / ${String(html.gzip).padStart(5)}  +css ${String(total.raw).padStart(6)} / ${String(total.gzip).padStart(5)}  (budget ${budget.raw} / ${budget.gzip})`,
      );
      if (total.raw > budget.raw || total.gzip > budget.gzip) over.push(rows.at(-1)!);
    }
    console.log(`bytes per page, raw / gzipped:\n${rows.join('\n')}`);
    expect(over).toEqual([]);
  });

  test('every image has a width, a height and an alt text (empty only for decoration)', () => {
    const problems: string[] = [];
    let images = 0;
    for (const page of pages) {
      for (const image of tags(page.html, ['img'])) {
        images++;
        const missing = ['width', 'height', 'alt'].filter((name) => !image.attributes.has(name));
        const bad = ['width', 'height'].filter((name) => image.attributes.has(name) && !/^\d+$/.test(image.attributes.get(name)!));
        if (missing.length || bad.length)
          problems.push(`${page.path}: ${image.attributes.get('src')} missing ${missing.join(', ')} ${bad.length ? `not a number: ${bad.join(', ')}` : ''}`);
      }
    }
    expect(problems).toEqual([]);
    expect(images).toBeGreaterThan(0);
  });
});

describe('links', () => {
  /** The routes served on demand: the route table's (src/server/routes.ts). */
  function onDemandRoutes(): RegExp[] {
    return ROUTES.map((route) => {
      const prefix = route.path.endsWith('/*');
      const path = (prefix ? route.path.slice(0, -2) : route.path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return new RegExp(prefix ? `^${path}(/.*)?$` : `^${path}/?$`);
    });
  }

  test('every internal link, image, script, stylesheet and form leads somewhere', () => {
    const site = new URL(
      tags(pages.find((page) => page.path === '/')!.html, ['link'])
        .find((tag) => tag.attributes.get('rel') === 'canonical')!
        .attributes.get('href')!,
    ).origin;
    const routes = onDemandRoutes();
    expect(routes.length, 'on-demand routes in the route table').toBeGreaterThan(5);
    const paid = new Set(manifest.lessons.filter((lesson) => lesson.page).map((lesson) => `/courses/${lesson.course}/${lesson.slug}/`));
    const privateMedia = new Set(manifest.media.map((media) => `/courses/${media.course}/media/${media.name}`));
    const byPath = new Map(pages.map((page) => [page.path, page]));
    const ids = (page: Page) => new Set([...page.html.matchAll(/\s(?:id|name)="([^"]+)"/g)].map((match) => decodeEntities(match[1]!)));

    /** Where a path leads: a page we have the HTML of, a file, an on-demand route, or nowhere. */
    const resolve = (path: string): 'page' | 'file' | 'route' | null => {
      const candidates = path.endsWith('/') ? [path] : [path, `${path}/`];
      if (candidates.some((candidate) => byPath.has(candidate))) return 'page';
      try {
        if (statSync(join(client, path)).isFile()) return 'file';
      } catch {}
      if (candidates.some((candidate) => paid.has(candidate)) || privateMedia.has(path)) return 'file';
      if (routes.some((route) => route.test(path))) return 'route';
      return null;
    };

    const broken: string[] = [];
    let checked = 0;
    const check = (from: Page | string, reference: string) => {
      const source = typeof from === 'string' ? from : from.path;
      let url: URL;
      try {
        url = new URL(reference, `${site}${source}`);
      } catch {
        broken.push(`${source}: ${reference} is not a URL`);
        return;
      }
      if (url.origin !== site) return;
      checked++;
      let path: string;
      try {
        path = decodeURIComponent(url.pathname);
      } catch {
        broken.push(`${source}: ${reference} is badly encoded`);
        return;
      }
      const target = resolve(path);
      if (!target) broken.push(`${source}: ${reference}`);
      else if (url.hash && target === 'page') {
        const page = byPath.get(path) ?? byPath.get(`${path}/`)!;
        if (!ids(page).has(decodeURIComponent(url.hash.slice(1)))) broken.push(`${source}: ${reference} (no such anchor)`);
      }
    };

    for (const page of pages) {
      for (const tag of tags(page.html, ['a', 'link', 'img', 'script', 'source', 'iframe', 'video', 'audio', 'form', 'meta'])) {
        const references = [
          tag.attributes.get('href'),
          tag.attributes.get('src'),
          tag.name === 'form' ? tag.attributes.get('action') : undefined,
          tag.name === 'meta' && /^(og|twitter):(image|url)$/.test(tag.attributes.get('property') ?? tag.attributes.get('name') ?? '')
            ? tag.attributes.get('content')
            : undefined,
          ...(tag.attributes.get('srcset') ?? '').split(',').map((candidate) => candidate.trim().split(/\s+/)[0]),
        ];
        for (const reference of references) if (reference) check(page, reference);
      }
    }
    for (const feed of ['sitemap.xml', 'rss.xml']) {
      for (const match of readFileSync(join(client, feed), 'utf8').matchAll(/<(?:loc|link|guid[^>]*)>([^<]+)</g)) check(`/${feed}`, decodeEntities(match[1]!));
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(pages.length * 5);
  });
});
