// Chromium for the browser journeys: Debian's own binary driven by playwright-core (no browser is
// ever downloaded), one browser per test file and a fresh context per journey. Also axe-core run
// inside the page, and the folder the screenshots go to.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import axe from 'axe-core';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { ROOT } from './build.ts';
import { requireTool } from './tools.ts';

export const SCREENSHOTS_DIR = join(ROOT, '.test-dist', 'screenshots');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: requireTool('chromium'),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The blog the author links from (site.yaml's blog_url is https://example.com/). */
export const BLOG_URL = 'http://example.com/';

/**
 * A new browser context that only reaches the machine: the site, the Stripe stand-in and a stub of
 * the author's blog (http://example.com/...). Every other request is refused, so a page that
 * needs the internet fails here instead of waiting for it.
 */
export async function newJourney(
  browser: Browser,
  options: BrowserContextOptions & { blogPage?: string } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const { blogPage, ...contextOptions } = options;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...contextOptions });
  await context.route(
    (url) => !['127.0.0.1', 'localhost'].includes(url.hostname),
    (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === 'example.com' && blogPage) return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: blogPage });
      return route.abort('blockedbyclient');
    },
  );
  context.setDefaultTimeout(10_000);
  return { context, page: await context.newPage() };
}

export type AxeViolation = { id: string; impact: string | null; help: string; nodes: { target: string[]; html: string; failureSummary?: string }[] };

/** Runs axe-core (WCAG 2.x A and AA, and best practices) on the page as it is now. */
export async function runAxe(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axe.source });
  return page.evaluate(async () => {
    const result = await (window as any).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return result.violations.map((violation: any) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      nodes: violation.nodes.map((node: any) => ({ target: node.target, html: node.html, failureSummary: node.failureSummary })),
    }));
  });
}

export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .map(
      (violation) =>
        `${violation.impact} ${violation.id}: ${violation.help}\n${violation.nodes.map((node) => `  ${node.target.join(' ')}  ${node.html.slice(0, 160)}`).join('\n')}`,
    )
    .join('\n');
}

export function screenshotsDir(): string {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  return SCREENSHOTS_DIR;
}

/**
 * Whether the focused element shows where focus is: an outline of at least 2px whose colour has a
 * contrast of at least 3:1 against the page's background (WCAG 1.4.11), or a box-shadow.
 */
export async function focusState(page: Page): Promise<{ visible: boolean; element: string; inViewport: boolean; contrast: number | null }> {
  return page.evaluate(() => {
    const element = document.activeElement as HTMLElement | null;
    if (!element || element === document.body) return { visible: false, element: 'body', inViewport: false, contrast: null };
    const rgb = (color: string) => (color.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
    const luminance = (color: string) => {
      const [r = 0, g = 0, b = 0] = rgb(color)
        .map((v) => v / 255)
        .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const style = getComputedStyle(element);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
    const shadow = style.boxShadow !== 'none';
    const [lighter, darker] = [luminance(style.outlineColor), luminance(getComputedStyle(document.body).backgroundColor)].sort((a, b) => b - a);
    const contrast = outline ? (lighter! + 0.05) / (darker! + 0.05) : null;
    const box = element.getBoundingClientRect();
    const inViewport = box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0 && box.top < innerHeight && box.left < innerWidth;
    const name = `${element.tagName.toLowerCase()}${element.id ? `#${element.id}` : ''} "${(element.textContent ?? '').trim().slice(0, 40)}"`;
    return { visible: (outline && contrast! >= 3) || shadow, element: name, inViewport, contrast };
  });
}

/**
 * Waits until the site script has put the visitor's state into the page: it asks /api/me once and
 * then names the account link (pages served with the state already in them need no answer).
 */
export async function memberStateShown(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const link = document.querySelector('[data-account-link]');
    return !link || link.hasAttribute('data-signed-in') || link.textContent !== 'Account';
  });
}
