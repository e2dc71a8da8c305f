// Screenshots of the main pages, desktop (1280×800) and mobile (390×844), light and dark, into
// .test-dist/screenshots/ as artifacts. Each page is also checked for the commonest layout bug a
// screenshot shows: content wider than the screen.
//
// UPDATE_DOC_SCREENSHOTS=1 npm test -- tests/browser  also writes the few shown in README.md to
// docs/screenshots/, as the first screen only, compressed to palette PNGs.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { makeAdmin } from '../../src/server/admin/commands.ts';

const ADMIN_PASSWORD = 'the operator chose this passphrase';
import { ROOT } from '../support/build.ts';
import { memberStateShown, newJourney, screenshotsDir } from '../support/browser.ts';
import { COURSE, COURSE_PATH, PAID_PATH, type BrowserSuite, type Journey } from './suite.ts';

const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  mobile: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
} as const;
type Viewport = keyof typeof VIEWPORTS;
type Scheme = 'light' | 'dark';

const PAGES = [
  { name: 'catalogue', who: 'anonymous', path: '/' },
  { name: 'course', who: 'anonymous', path: COURSE_PATH },
  { name: 'lesson', who: 'owner', path: PAID_PATH },
  { name: 'sign-in', who: 'anonymous', path: '/login' },
  { name: 'account', who: 'owner', path: '/account' },
  { name: 'admin-dashboard', who: 'admin', path: '/admin/' },
  { name: 'admin-purchases', who: 'admin', path: '/admin/purchases' },
] as const;

/** The ones README.md shows: `<page>-<viewport>-<scheme>`. */
const IN_DOCS = ['catalogue-desktop-light', 'course-desktop-dark', 'lesson-desktop-light', 'lesson-mobile-dark', 'account-mobile-light'];

export function screenshotTests(suite: BrowserSuite) {
  const journeys = new Map<string, Journey>();
  const docs = process.env.UPDATE_DOC_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'screenshots') : null;

  beforeAll(async () => {
    const owner = await suite.member('ada.reader@example.com', { owns: true });
    for (const lesson of ['why-python', 'variables-and-types']) {
      const done = await owner.post('/api/progress', { course: COURSE, lesson, done: '1' });
      if (done.status !== 303) throw new Error(`progress: ${done.status}`);
    }
    const admin = await suite.member('shots-admin@example.com');
    // Made an admin the way `npm run admin -- create-admin` promotes an existing account.
    const made = await makeAdmin(
      { db: suite.site.store.db, clock: { now: () => Date.now() } },
      { email: 'shots-admin@example.com', password: ADMIN_PASSWORD, iterations: 2000, actor: { userId: null, via: 'cli' } },
    );
    if (made.kind === 'invalid' || made.kind === 'password-required') throw new Error(`create-admin: ${made.kind}`);
    // Making an admin ends the account's sessions: the admin signs in again with the operator's password.
    const signedIn = await admin.post('/api/auth/login', { email: 'shots-admin@example.com', password: ADMIN_PASSWORD });
    if (signedIn.headers.get('location') !== '/account') throw new Error(`admin sign-in: ${signedIn.status} ${signedIn.headers.get('location')}`);
    for (const viewport of Object.keys(VIEWPORTS) as Viewport[]) {
      journeys.set(`anonymous-${viewport}`, await newJourney(suite.browser, VIEWPORTS[viewport]));
      journeys.set(`owner-${viewport}`, await suite.memberJourney(owner, VIEWPORTS[viewport]));
      journeys.set(`admin-${viewport}`, await suite.memberJourney(admin, VIEWPORTS[viewport]));
    }
    if (docs) mkdirSync(docs, { recursive: true });
  });
  afterAll(async () => {
    for (const journey of journeys.values()) await journey.context.close();
  });

  test.each(PAGES)('$name, desktop and mobile, light and dark', async ({ name, who, path }) => {
    for (const viewport of Object.keys(VIEWPORTS) as Viewport[]) {
      const { page } = journeys.get(`${who}-${viewport}`)!;
      for (const scheme of ['light', 'dark'] as Scheme[]) {
        await page.emulateMedia({ colorScheme: scheme });
        await page.goto(suite.url(path));
        await memberStateShown(page);
        const shot = `${name}-${viewport}-${scheme}`;
        expect(await overflow(page), `${shot}: nothing wider than the screen`).toEqual([]);
        await page.screenshot({ path: join(screenshotsDir(), `${shot}.png`), fullPage: true, animations: 'disabled' });
        if (docs && IN_DOCS.includes(shot)) {
          const png = await page.screenshot({ animations: 'disabled' });
          await sharp(png)
            .png({ palette: true, quality: 80, effort: 10, compressionLevel: 9 })
            .toFile(join(docs, `${shot}.png`));
        }
      }
    }
  });
}

/** Elements that stick out of the viewport to the right (a horizontal scrollbar), as selectors. */
function overflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return [];
    const culprits: string[] = [];
    for (const element of document.body.querySelectorAll<HTMLElement>('*')) {
      const box = element.getBoundingClientRect();
      // Content inside a scrolling box (code blocks, wide tables) is meant to scroll there.
      if (box.right > width + 1 && !element.closest('pre, .table-scroll'))
        culprits.push(`${element.tagName.toLowerCase()}.${element.className} right=${Math.round(box.right)}`);
    }
    return culprits.length ? culprits.slice(0, 10) : [`the page is ${document.documentElement.scrollWidth}px wide`];
  });
}
