// The author's edit loop on `npm run dev` (Astro's development server over a copy of a fixture
// courses folder, edited while it runs): every edit shows on the next reload, a mistake shows in
// the browser as `npm run check` prints it, and the author reads the paid lessons, marked as such.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ROOT } from './support/build.ts';
import { freePort, startService, type Service } from './support/server.ts';
import { createTestStore, type TestStore } from './support/store.ts';

const FIXTURE = join(ROOT, 'tests/fixtures/courses-good');
const run = promisify(execFile);

let courses: string;
let base: string;
let dev: Service;
let store: TestStore;

beforeAll(async () => {
  mkdirSync(join(ROOT, '.test-dist'), { recursive: true });
  courses = mkdtempSync(join(ROOT, '.test-dist', 'dev-courses-'));
  cpSync(FIXTURE, courses, { recursive: true });
  store = await createTestStore();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  dev = await startService(
    'the development server',
    process.execPath,
    [join(ROOT, 'node_modules/astro/bin/astro.mjs'), 'dev', '--ignore-lock', '--host', '127.0.0.1', '--port', String(port)],
    {
      // Not the test runner's environment: with VITEST set, Astro's dev server leaves out its own routes.
      env: { ASTRO_TELEMETRY_DISABLED: '1', ASTRO_DEV_BACKGROUND: '0', COURSES_DIR: courses, DATABASE_URL: store.url },
      // It may answer 404 to everything while it optimises its dependencies.
      isReady: async () => (await fetch(`${base}/courses/tiny-course/welcome/`)).status === 200,
      timeoutMs: 150_000,
    },
  );
});

afterAll(async () => {
  await dev?.stop();
  store?.remove();
  if (courses) rmSync(courses, { recursive: true, force: true });
});

async function page(path: string): Promise<{ status: number; html: string }> {
  try {
    const response = await fetch(`${base}${path}`, { headers: { accept: 'text/html' } });
    return { status: response.status, html: await response.text() };
  } catch (error) {
    throw new Error(`GET ${path} failed: ${(error as Error).message}\n${dev.logs().slice(-3000)}`, { cause: error });
  }
}

/** Reloads `path` until `check` passes: the server hears of a file change a moment after it is written. */
async function reloadUntil(path: string, check: (page: { status: number; html: string }) => void): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const current = await page(path);
    try {
      check(current);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${path} after 30 s: ${(error as Error).message}\n${dev.logs().slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

function edit(file: string, from: string | RegExp, to: string): void {
  const path = join(courses, file);
  const text = readFileSync(path, 'utf8');
  const changed = text.replace(from, to);
  expect(changed, `${file} holds ${from}`).not.toBe(text);
  writeFileSync(path, changed);
}

function heading(html: string): string | undefined {
  return /<h1[^>]*>([^<]*)<\/h1>/.exec(html)?.[1];
}

function unescapeHtml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

describe('npm run dev', () => {
  it('shows an edit to a lesson, a course page, an image and site.yaml on the next reload, and a new lesson', async () => {
    // Loaded once before the edits: what Astro kept from this visit must not outlive them.
    expect(heading((await page('/courses/tiny-course/welcome/')).html)).toBe('Welcome');
    expect(heading((await page('/courses/tiny-course/')).html)).toBe('Tiny Course');
    const coverBefore = /\/media\/([0-9a-f]{16})-og\.jpg/.exec((await page('/courses/tiny-course/')).html)![1];

    edit('tiny-course/01-basics/01-welcome.md', 'title: Welcome', 'title: Welcome, edited');
    edit('tiny-course/01-basics/01-welcome.md', '## Start here', '## Start here, edited body');
    await reloadUntil('/courses/tiny-course/welcome/', ({ html }) => {
      expect(heading(html)).toBe('Welcome, edited');
      expect(html).toContain('<title>Welcome, edited · Tiny Course · ');
      expect(html).toContain('Start here, edited body');
    });

    edit('tiny-course/course.md', 'title: Tiny Course', 'title: Tiny Course, edited');
    await reloadUntil('/courses/tiny-course/', ({ html }) => expect(heading(html)).toBe('Tiny Course, edited'));
    // The lesson pages name their course: they follow too.
    await reloadUntil('/courses/tiny-course/welcome/', ({ html }) => expect(html).toContain('Tiny Course, edited'));

    await sharp({ create: { width: 300, height: 200, channels: 3, background: '#0a7' } })
      .png()
      .toFile(join(courses, 'tiny-course/cover.png'));
    let cover = '';
    await reloadUntil('/courses/tiny-course/', ({ html }) => {
      cover = /\/media\/[0-9a-f]{16}-og\.jpg/.exec(html)![0];
      expect(cover).not.toContain(coverBefore);
    });
    const image = await fetch(`${base}${cover}`);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/jpeg');

    edit('site.yaml', 'name: Practical Python Courses', 'name: Renamed School');
    await reloadUntil('/courses/tiny-course/welcome/', ({ html }) =>
      expect(html).toContain('<title>Welcome, edited · Tiny Course, edited · Renamed School</title>'),
    );
    await reloadUntil('/', ({ html }) => expect(html).toContain('<title>Renamed School</title>'));
    // A page the core renders at request time, in the same layout.
    await reloadUntil('/signup', ({ status, html }) => {
      expect(status).toBe(200);
      expect(html).toContain('<title>Create an account · Renamed School</title>');
      expect(html).toContain('action="/api/auth/signup"');
      expect(html).not.toContain('%%PAGE_');
    });

    writeFileSync(join(courses, 'tiny-course/05-bonus.md'), '---\ntitle: Bonus\npreview: true\n---\nA lesson written while the server runs.\n');
    await reloadUntil('/courses/tiny-course/bonus/', ({ status, html }) => {
      expect(status).toBe(200);
      expect(html).toContain('A lesson written while the server runs.');
    });
  });

  it('shows a mistake in the courses in the browser, word for word as npm run check prints it, until it is fixed', async () => {
    const lesson = 'tiny-course/01-basics/01-welcome.md';
    const original = readFileSync(join(courses, lesson), 'utf8');
    onTestFinished(() => writeFileSync(join(courses, lesson), original));
    edit(lesson, 'preview: true', 'preview: maybe');
    // Not spawnSync: a blocked event loop misses the server closing an idle connection, and the
    // next request would go out on it.
    const check = await run(process.execPath, [join(ROOT, 'scripts/check-courses.ts')], { cwd: ROOT, env: { ...process.env, COURSES_DIR: courses } }).then(
      () => expect.fail('npm run check passed on a broken lesson'),
      (failed: { code: number; stderr: string }) => failed,
    );
    expect(check.code).toBe(1);
    const printed = check.stderr.trim();
    expect(printed).toMatch(/01-welcome\.md:3: preview must be true or false/);
    for (const path of ['/', '/courses/tiny-course/', '/courses/tiny-course/welcome/', '/courses/tiny-course/deep-dive/', '/signup']) {
      await reloadUntil(path, ({ status, html }) => {
        expect(status).toBe(500);
        expect(html).toContain('<h1>The courses have problems</h1>');
        expect(unescapeHtml(/<pre>([\s\S]*?)<\/pre>/.exec(html)?.[1] ?? '')).toBe(printed);
        expect(html).not.toContain('mention this reference');
      });
    }

    writeFileSync(join(courses, lesson), original);
    await reloadUntil('/courses/tiny-course/welcome/', ({ status, html }) => {
      expect(status).toBe(200);
      expect(html).not.toContain('The courses have problems');
    });
  });

  it('renders every paid lesson for its author, marked as paid, with the media only paid lessons use', async () => {
    const paid = await page('/courses/tiny-course/deep-dive/');
    expect(paid.status).toBe(200);
    expect(paid.html).toContain('PAID-MARKER');
    expect(paid.html).toContain('Paid lesson: only buyers see this.');
    const media = [...new Set(paid.html.match(/\/courses\/tiny-course\/media\/[A-Za-z0-9._-]+/g))];
    expect(media.length).toBeGreaterThan(0);
    for (const path of media) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(200);
    }
    const svg = media.find((path) => path.endsWith('.svg'))!;
    expect(await (await fetch(`${base}${svg}`)).text()).toContain('PAID-MARKER-svg-text');
    // Only files that paid lessons of that course use.
    expect((await fetch(`${base}/courses/tiny-course/media/nothing.svg`)).status).toBe(404);
    expect((await fetch(`${base}${svg.replace('tiny-course', 'hidden-course')}`)).status).toBe(404);

    const free = await page('/courses/tiny-course/welcome/');
    expect(free.status).toBe(200);
    expect(free.html).not.toContain('Paid lesson: only buyers see this.');
  });
});
