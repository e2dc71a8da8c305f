// What the browser tests share: one Chromium and one payments site (server, Stripe stand-in, SMTP
// sink, store) for the whole file, and quick ways to a member who owns a course.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, newJourney, screenshotsDir } from '../support/browser.ts';
import { signedUpVisitor, startPaymentsSite, type PaymentsSite } from '../support/payments.ts';
import type { Visitor } from '../support/visitor.ts';

export const PASSWORD = 'correct horse battery staple';
export const COURSE = 'python-fundamentals';
export const COURSE_PATH = `/courses/${COURSE}/`;
export const PREVIEW_PATH = `/courses/${COURSE}/why-python/`;
export const PAID_PATH = `/courses/${COURSE}/control-flow/`;
export const PAID_TITLE = 'Making decisions and repeating work';
/** A sentence of that paid lesson (courses/python-fundamentals/01-getting-started/03-control-flow.md). */
export const PAID_TEXT = 'So far our programs ran straight from top to bottom.';

export type Journey = { context: BrowserContext; page: Page };

export type BrowserSuite = {
  readonly browser: Browser;
  readonly site: PaymentsSite;
  start(dist: string): Promise<void>;
  stop(): Promise<void>;
  url(path: string): string;
  /** A member signed up over HTTP, optionally owning the course (paid on the stand-in). */
  member(email: string, options?: { owns?: boolean }): Promise<Visitor>;
  /** A new browser context signed in as that member. */
  memberJourney(visitor: Visitor, options?: Parameters<typeof newJourney>[1]): Promise<Journey>;
};

export function createSuite(): BrowserSuite {
  let browser: Browser | undefined;
  let site: PaymentsSite | undefined;
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the browser suite has not started');
    return value;
  };
  return {
    get browser() {
      return started(browser);
    },
    get site() {
      return started(site);
    },
    async start(dist) {
      // Screenshots of failed journeys are from the last run only.
      for (const name of readdirSync(screenshotsDir())) if (name.startsWith('failed-')) rmSync(join(screenshotsDir(), name));
      [browser, site] = await Promise.all([launchBrowser(), startPaymentsSite(dist, { siteUrl: 'server' })]);
    },
    async stop() {
      await browser?.close();
      await site?.stop();
    },
    url(path) {
      return `${started(site).server.url}${path}`;
    },
    async member(email, options = {}) {
      const visitor = await signedUpVisitor(started(site), email);
      if (options.owns) {
        const checkout = await visitor.post('/api/checkout', { course: COURSE });
        const sessionId = checkout.headers.get('location')!.split('/').pop()!;
        await started(site).control(`/_standin/checkout/${sessionId}/pay`, {});
        const lesson = await visitor.get(PAID_PATH);
        await lesson.arrayBuffer();
        if (lesson.status !== 200) throw new Error(`${email} cannot read a paid lesson after paying: ${lesson.status}`);
      }
      return visitor;
    },
    async memberJourney(visitor, options) {
      const journey = await newJourney(started(browser), options);
      const value = visitor.cookie('session');
      if (!value) throw new Error('the visitor is not signed in');
      await journey.context.addCookies([{ name: 'session', value, url: started(site).server.url, httpOnly: true, sameSite: 'Lax' }]);
      return journey;
    },
  };
}
