// The site in Chromium: readers' journeys end to end, axe-core on every kind of page, and
// screenshots of the main pages. One browser for the file, a fresh context per journey, against
// the built server with the Stripe stand-in (its hosted page and overview page) and the SMTP sink.
// SITE_URL is the server's own address, so Stripe's redirect and the emails' links lead back to it.
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { join } from 'node:path';
import { BLOG_URL, describeViolations, focusState, memberStateShown, newJourney, runAxe, screenshotsDir } from '../support/browser.ts';
import type { PaymentsSite } from '../support/payments.ts';
import { signUpInBrowser } from '../support/sign-up.ts';
import { accessibilityTests } from './accessibility.ts';
import { screenshotTests } from './screenshots.ts';
import { COURSE, COURSE_PATH, createSuite, PAID_PATH, PAID_TEXT, PAID_TITLE, PASSWORD, PREVIEW_PATH, type Journey } from './suite.ts';

const suite = createSuite();
let site: PaymentsSite;
let browser: Browser;

beforeAll(async () => {
  await suite.start(inject('dist'));
  ({ site, browser } = suite);
});
afterAll(() => suite.stop());

/** Runs a journey's steps in its context; a failure says where the page was and keeps a screenshot of it. */
async function journey(opening: Promise<Journey>, steps: (page: Page) => Promise<void>) {
  const { context, page } = await opening;
  try {
    await steps(page);
  } catch (error) {
    const file = join(screenshotsDir(), `failed-${(expect.getState().currentTestName ?? 'journey').replace(/[^a-z0-9]+/gi, '-').slice(0, 80)}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    if (error instanceof Error) error.message += `\n(the page was at ${page.url()}; screenshot: ${file})`;
    throw error;
  } finally {
    await context.close();
  }
}

async function heading(page: Page): Promise<string> {
  return (await page.getByRole('heading', { level: 1 }).textContent())!.trim();
}

/** The link in an email's text to this site, whole. */
function linkTo(site: PaymentsSite, text: string): string {
  const match = new RegExp(`${site.siteUrl.replace(/[.:/]/g, '\\$&')}/\\S+`).exec(text);
  if (!match) throw new Error(`no link to ${site.siteUrl} in:\n${text}`);
  return match[0];
}

async function signInWithPassword(page: Page, email: string, password: string) {
  await page.getByLabel('Email', { exact: true }).first().fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function signOut(page: Page) {
  await page.goto(suite.url('/account'));
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL((url) => url.searchParams.get('notice') === 'signed-out');
}

describe('journeys', () => {
  test('a reader comes from the blog, reads the free lesson, signs up, buys, reads and finds their progress on /account', async () => {
    const email = 'reader@example.com';
    const blogPage = `<!doctype html><html lang="en"><title>The blog</title><p>I wrote a course: <a href="${suite.url(COURSE_PATH)}">Python Fundamentals</a>.</p></html>`;
    await journey(newJourney(browser, { blogPage }), async (page) => {
      await page.goto(`${BLOG_URL}2026/11/a-python-course/`);
      const [arrival] = await Promise.all([page.waitForRequest(suite.url(COURSE_PATH)), page.getByRole('link', { name: 'Python Fundamentals' }).click()]);
      expect(arrival.headers().referer).toBe(BLOG_URL);
      expect(await heading(page)).toBe('Python Fundamentals');
      expect(await page.getByRole('link', { name: '← Back to the blog' }).getAttribute('href')).toBe('https://example.com/');

      // The free lesson, public.
      await page.getByRole('link', { name: 'Read a free lesson' }).click();
      await page.waitForURL(suite.url(PREVIEW_PATH));
      expect(await heading(page)).toBe('Why Python, and your first script');
      expect(await page.getByRole('complementary', { name: 'About this course' }).textContent()).toContain('This is a free lesson');

      // Sign up from the header (the site script turned "Account" into "Sign in", back to here).
      await page.getByRole('navigation', { name: 'Site' }).getByRole('link', { name: 'Sign in' }).click();
      await page.waitForURL((url) => url.pathname === '/login' && url.searchParams.get('next') === PREVIEW_PATH);
      await page.getByRole('link', { name: 'Create an account' }).click();
      await page.waitForURL((url) => url.pathname === '/signup' && url.searchParams.get('next') === PREVIEW_PATH);
      // The mailed link confirms the address, signs in and leads back to the lesson.
      await signUpInBrowser(page, site.sink, { email, password: PASSWORD });
      await page.waitForURL(suite.url(PREVIEW_PATH));
      await page.getByRole('navigation', { name: 'Site' }).getByRole('link', { name: email }).waitFor();

      // Buy from the lesson, on the stand-in's hosted checkout page.
      await page.getByRole('button', { name: 'Buy the course for $49' }).click();
      await page.waitForURL(`${site.standin.url}/c/pay/**`);
      const emailField = page.getByLabel('Email');
      expect(await emailField.inputValue()).toBe(email);
      expect(await emailField.getAttribute('readonly')).not.toBeNull();
      await page.getByRole('button', { name: 'Pay $49.00', exact: true }).click();

      // The success page confirms, and its button starts the course at the first lesson, which now knows they own it.
      // "Complete and continue" marks it and opens the next one.
      await page.waitForURL((url) => url.pathname === '/checkout/success');
      expect(await heading(page)).toBe('Thank you for your purchase');
      await page.getByText(`Your receipt is on its way to ${email}.`).waitFor();
      await page.getByRole('link', { name: 'Start the course' }).click();
      await page.waitForURL(suite.url(PREVIEW_PATH));
      await page.getByRole('button', { name: 'Complete and continue' }).click();
      await page.waitForURL(suite.url(`/courses/${COURSE}/variables-and-types/`));
      await page.getByRole('button', { name: 'Complete and continue' }).waitFor();
      expect(await page.getByRole('complementary', { name: 'About this course' }).isVisible()).toBe(false);

      // On to the first paid lesson, by the pager, and through it with "Complete and continue".
      await page.getByRole('link', { name: /^Next/ }).click();
      await page.waitForURL(suite.url(PAID_PATH));
      expect(await heading(page)).toBe(PAID_TITLE);
      await page.getByText(PAID_TEXT).waitFor();
      await page.getByRole('button', { name: 'Complete and continue' }).click();
      await page.waitForURL(suite.url(`/courses/${COURSE}/lists-and-tuples/`));
      const sidebar = page.getByRole('navigation', { name: 'Lessons of this course' });
      expect(await sidebar.locator('a[data-done]').count()).toBe(2);

      // The account page: the course with its progress.
      await page.getByRole('navigation', { name: 'Site' }).getByRole('link', { name: email }).click();
      await page.waitForURL((url) => url.pathname.startsWith('/account'));
      const course = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Python Fundamentals' }) });
      expect(await course.textContent()).toMatch(/2 of 10 lessons/);
      expect(await course.getByRole('progressbar', { name: 'Progress in Python Fundamentals' }).getAttribute('value')).toBe('2');
      // "Continue" goes to the lesson last opened, not to the first incomplete one.
      await course.getByRole('link', { name: 'Continue where you left off' }).click();
      await page.waitForURL((url) => url.pathname === `/courses/${COURSE}/lists-and-tuples/`);

      // And the course page says it is theirs: progress, "Continue" to the same lesson, and every
      // lesson of the syllabus a link, the completed ones ticked.
      await page.goto(suite.url(COURSE_PATH));
      await page.getByText('You own this course.').waitFor();
      expect(await page.getByRole('button', { name: 'Buy for $49' }).isVisible()).toBe(false);
      expect(await page.locator('[data-owned]').getByText('2 of 10 lessons').isVisible()).toBe(true);
      expect(await page.getByRole('link', { name: 'Continue', exact: true }).getAttribute('href')).toBe(`/courses/${COURSE}/lists-and-tuples/`);
      const syllabus = page.getByRole('region', { name: 'Syllabus' });
      expect(await syllabus.getByRole('link').count()).toBe(10);
      expect(await syllabus.locator('a[data-done]').evaluateAll((links) => links.map((link) => link.getAttribute('href')))).toEqual([PREVIEW_PATH, PAID_PATH]);
      // A tick says what it means to a screen reader.
      expect(
        await syllabus
          .locator('a[data-done]')
          .first()
          .evaluate((link) => getComputedStyle(link, '::after').content),
      ).toBe('"✓" / "completed"');
      await syllabus.getByRole('link', { name: 'Comprehensions' }).click();
      await page.waitForURL(suite.url(`/courses/${COURSE}/comprehensions/`));
      expect(await heading(page)).toBe('Comprehensions');
    });
  });

  test('a guest opens a paid lesson, cancels a first checkout, buys, is confirmed and signed in, chooses a password from the email, signs out and in', async () => {
    const email = 'guest@example.com';
    await journey(newJourney(browser), async (page) => {
      // Signed out, a paid lesson names itself and its course and offers both ways in.
      const response = await page.goto(suite.url('/courses/python-for-finance/cleaning-price-data/'));
      expect(response!.status()).toBe(403);
      expect(await heading(page)).toBe('Cleaning real-world price data');
      expect(await page.getByRole('link', { name: 'Python for Finance and Data' }).getAttribute('href')).toBe('/courses/python-for-finance/');
      expect(await page.getByRole('main').getByRole('link', { name: 'Sign in' }).getAttribute('href')).toBe(
        `/login?next=${encodeURIComponent('/courses/python-for-finance/cleaning-price-data/')}`,
      );
      await page.getByRole('button', { name: 'Buy for €79' }).click();
      await page.waitForURL(`${site.standin.url}/c/pay/**`);
      // Changed their mind: Stripe's way back lands on the course page, which says nothing was charged.
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.waitForURL((url) => url.pathname === '/courses/python-for-finance/' && url.hash === '#checkout-cancelled');
      expect(await page.getByText('Checkout cancelled: nothing was charged.').isVisible()).toBe(true);

      await page.getByRole('button', { name: /^Buy for/ }).click();
      await page.waitForURL(`${site.standin.url}/c/pay/**`);
      await page.getByLabel('Email').fill(email);
      await page.getByRole('button', { name: /^Pay €/ }).click();
      await page.waitForURL((url) => url.pathname === '/checkout/success');
      expect(await heading(page)).toBe('Thank you for your purchase');
      await page.getByText(`Your receipt is on its way to ${email}, with a link to choose your password`).waitFor();
      await page.getByRole('link', { name: 'Start the course' }).click();
      await page.waitForURL((url) => url.pathname === '/courses/python-for-finance/setup-and-first-dataframe/');
      await page.getByRole('navigation', { name: 'Site' }).getByRole('link', { name: email }).waitFor();
      // Until there is a password, every page offers to choose one.
      await page.locator('[data-set-password]').waitFor();

      const mail = await site.sink.waitFor(email);
      const link = linkTo(site, mail.text);
      expect(new URL(link).pathname).toBe('/reset');
      await page.goto(link);
      // A first password is chosen, not reset; the page does not repeat the banner.
      expect(await heading(page)).toBe('Choose your password');
      expect(await page.getByText(`Choose a password for ${email}`).count()).toBe(1);
      await page.getByRole('navigation', { name: 'Site' }).getByRole('link', { name: email }).waitFor();
      expect(await page.locator('[data-set-password]').isVisible()).toBe(false);
      await page.getByLabel('New password').fill('a guest who now has a password');
      await page.getByRole('button', { name: 'Set password' }).click();
      await page.getByText('Your new password is set and you are signed in.').waitFor();

      await signOut(page);
      await page.goto(suite.url('/login'));
      await signInWithPassword(page, email, 'a guest who now has a password');
      await page.waitForURL((url) => url.pathname === '/account');
      expect(await page.getByRole('heading', { name: 'Python for Finance and Data' }).count()).toBe(1);
    });
  });

  test('a member who forgot the password resets it from the email', async () => {
    const email = 'forgetful@example.com';
    await suite.member(email);
    await journey(newJourney(browser), async (page) => {
      await page.goto(suite.url('/login'));
      await page.getByRole('link', { name: 'Forgot your password?' }).click();
      await page.waitForURL((url) => url.pathname === '/reset');
      await page.getByLabel('Email').fill(email);
      await page.getByRole('button', { name: 'Send reset link' }).click();
      await page.getByText('If there is an account for that address, we have sent it a link').waitFor();

      const mail = await site.sink.waitFor(email, { subject: /^Reset your password/ });
      await page.goto(linkTo(site, mail.text));
      await page.getByLabel('New password').fill('a new and better passphrase');
      await page.getByRole('button', { name: 'Set new password' }).click();
      await page.getByText('Your new password is set and you are signed in.').waitFor();

      await signOut(page);
      await page.goto(suite.url('/login'));
      await signInWithPassword(page, email, PASSWORD);
      await page.getByText('That email and password do not match an account.').waitFor();
      // The address typed comes back in the form (not in the URL); the password does not.
      expect(page.url()).not.toContain('forgetful');
      expect(await page.getByLabel('Email', { exact: true }).first().inputValue()).toBe(email);
      expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe('');
      await signInWithPassword(page, email, 'a new and better passphrase');
      await page.waitForURL((url) => url.pathname === '/account');
    });
  });

  test('a refund on the stand-in takes the course away: a paid lesson shows the offer again', async () => {
    const visitor = await suite.member('refunded@example.com', { owns: true });
    await journey(suite.memberJourney(visitor), async (page) => {
      await page.goto(suite.url(PAID_PATH));
      expect(await heading(page)).toBe(PAID_TITLE);

      // Refund from the stand-in's overview page, as the author would in Stripe's dashboard.
      const sessions = await site.stripe.checkout.sessions.list({ limit: 100 });
      const session = sessions.data.find((s) => s.customer_details?.email === 'refunded@example.com')!;
      await page.goto(`${site.standin.url}/`);
      await page.getByRole('button', { name: `Refund for ${session.id}` }).click();
      await page.getByRole('row').filter({ hasText: session.id }).getByText('Refunded $49.00').waitFor();

      await page.goto(suite.url(PAID_PATH));
      await page.waitForURL(suite.url(`${COURSE_PATH}#not-owned`));
      expect(await page.getByText('Your account does not own this course yet.').isVisible()).toBe(true);
      expect(await page.getByRole('button', { name: 'Buy for $49' }).isVisible()).toBe(true);
      expect(await page.getByText(PAID_TEXT).count()).toBe(0);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Python Fundamentals');
      await page.goto(suite.url('/account'));
      await page.getByText('You do not own any courses yet.').waitFor();
    });
  });

  test('without JavaScript, a reader signs up, buys and reads', async () => {
    const email = 'nojs@example.com';
    await journey(newJourney(browser, { javaScriptEnabled: false }), async (page) => {
      await page.goto(suite.url(COURSE_PATH));
      // No script: the header keeps its plain "Account" link, which asks to sign in.
      await page.getByRole('navigation', { name: 'Site' }).getByRole('link', { name: 'Account' }).click();
      await page.waitForURL((url) => url.pathname === '/login');
      await page.getByRole('link', { name: 'Create an account' }).click();
      await signUpInBrowser(page, site.sink, { email, password: PASSWORD });
      await page.waitForURL((url) => url.pathname === '/account');
      await page.getByText(`Signed in as ${email}`).waitFor();

      await page.goto(suite.url(COURSE_PATH));
      await page.getByRole('button', { name: 'Buy for $49' }).click();
      await page.waitForURL(`${site.standin.url}/c/pay/**`);
      await page.getByRole('button', { name: 'Pay $49.00', exact: true }).click();
      await page.waitForURL((url) => url.pathname === '/checkout/success');
      await page.getByRole('link', { name: 'Start the course' }).click();
      // The first lesson is a free one, a static page: without the script it still offers the
      // course and hides its progress form. The paid lessons, served by the gate, know the member.
      await page.waitForURL(suite.url(PREVIEW_PATH));
      await page.getByRole('link', { name: /^Next/ }).click();
      await page.waitForURL(suite.url(`/courses/${COURSE}/variables-and-types/`));
      await page.getByRole('link', { name: /^Next/ }).click();
      await page.waitForURL(suite.url(PAID_PATH));
      expect(await heading(page)).toBe(PAID_TITLE);
      await page.getByText(PAID_TEXT).waitFor();
      // No script, no copy button: the code is there to select.
      expect(await page.locator('.prose pre').count()).toBeGreaterThan(0);
      expect(await page.getByRole('button', { name: 'Copy code' }).count()).toBe(0);
      // "Complete and continue" is a plain form: it marks the lesson and opens the next one.
      await page.getByRole('button', { name: 'Complete and continue' }).click();
      await page.waitForURL(suite.url(`/courses/${COURSE}/lists-and-tuples/`));
      await page.getByRole('navigation', { name: 'Lessons of this course' }).locator(`a[data-done][href="${PAID_PATH}"]`).waitFor({ state: 'attached' });
      await page.goto(suite.url(PAID_PATH));
      await page.getByRole('button', { name: 'Completed ✓ (undo)' }).waitFor();
      await page.goto(suite.url('/account'));
      expect(await page.getByText('1 of 10 lessons').count()).toBe(1);
      // "Continue" leads back to the lesson last opened.
      expect(await page.getByRole('link', { name: 'Continue where you left off' }).getAttribute('href')).toBe(PAID_PATH);
    });
  });

  test('a code block is copied with its button, from the keyboard', async () => {
    await journey(newJourney(browser), async (page) => {
      await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.url('') });
      await page.goto(suite.url(PREVIEW_PATH));
      const blocks = page.locator('.prose pre');
      const buttons = page.getByRole('button', { name: 'Copy code' });
      // One button a block, right after it, so that Tab reaches it just after the code.
      expect(await buttons.count()).toBe(await blocks.count());
      const code = (await blocks.nth(1).textContent())!;
      expect(code.length).toBeGreaterThan(0);
      await buttons.nth(1).focus();
      await page.keyboard.press('Enter');
      await page.getByRole('button', { name: 'Copied' }).waitFor();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(code);
      const state = await focusState(page);
      expect(state.visible, `focus is visible on the copy button (outline contrast ${state.contrast?.toFixed(2)})`).toBe(true);
      // Leaving it puts its label back.
      await page.keyboard.press('Tab');
      expect(await buttons.count()).toBe(await blocks.count());
    });
  });

  test('with the keyboard only: skip link, catalogue, course page, sign-in, each focus visible', async () => {
    const email = 'keyboard@example.com';
    await suite.member(email);
    await journey(newJourney(browser), async (page) => {
      /** Presses Tab until the focused element matches, checking that every stop shows its focus. */
      const tabTo = async (matches: () => Promise<boolean>, what: string) => {
        for (let stops = 0; stops < 25; stops++) {
          await page.keyboard.press('Tab');
          const state = await focusState(page);
          expect(state.visible, `focus is visible on ${state.element} (outline contrast ${state.contrast?.toFixed(2)})`).toBe(true);
          expect(state.inViewport, `${state.element} is scrolled into view`).toBe(true);
          if (await matches()) return;
        }
        throw new Error(`Tab never reached ${what}`);
      };
      const focusedIs = (selector: string) => () => page.evaluate((selector) => document.activeElement?.matches(selector) ?? false, selector);
      const focusedText = (text: string) => () => page.evaluate((text) => document.activeElement?.textContent?.trim() === text, text);

      await page.goto(suite.url('/'));
      await memberStateShown(page);
      await tabTo(focusedIs('a.skip'), 'the skip link');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
      await page.keyboard.press('Enter');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
      await tabTo(focusedText('Python Fundamentals'), 'the first course');
      await page.keyboard.press('Enter');
      await page.waitForURL(suite.url(COURSE_PATH));
      await memberStateShown(page);

      await tabTo(focusedText('Sign in'), 'the sign-in link');
      await page.keyboard.press('Enter');
      await page.waitForURL((url) => url.pathname === '/login');
      await tabTo(focusedIs('#email'), 'the email field');
      await page.keyboard.type(email);
      await tabTo(focusedIs('#password'), 'the password field');
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Enter');
      await page.waitForURL(suite.url(COURSE_PATH));
      await page.getByRole('navigation', { name: 'Site' }).getByRole('link', { name: email }).waitFor();
      await tabTo(focusedText('Buy for $49'), 'the buy button');
    });
  });
});

describe('the sales page', () => {
  const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
  /** Where an element is on the screen, in CSS pixels. */
  const box = async (page: Page, selector: string) => (await page.locator(selector).first().boundingBox())!;

  test('on a phone without JavaScript: the buy bar stays at the bottom while reading, lands above the last buy box, and the FAQ opens', async () => {
    await journey(newJourney(browser, { ...PHONE, javaScriptEnabled: false }), async (page) => {
      await page.goto(suite.url(COURSE_PATH));
      const bar = page.locator('.buy-bar');
      expect(await bar.getByRole('button', { name: 'Buy now for $49' }).isVisible()).toBe(true);
      expect(Math.round((await box(page, '.buy-bar')).y + (await box(page, '.buy-bar')).height)).toBe(844);

      // Halfway down, at the FAQ: still at the bottom of the screen, over the text.
      const faq = page.getByRole('region', { name: 'Questions and answers' });
      await faq.scrollIntoViewIfNeeded();
      const middle = await box(page, '.buy-bar');
      expect(Math.round(middle.y + middle.height)).toBe(844);
      const question = faq.getByText('Do I need to know how to program?');
      const answer = faq.getByText('The course starts from zero.');
      expect(await answer.isVisible()).toBe(false);
      await question.click();
      expect(await answer.isVisible()).toBe(true);
      expect(await faq.getByRole('link', { name: 'free lesson' }).getAttribute('href')).toBe(PREVIEW_PATH);

      // At the end of the page the bar sits in its own place, above the last buy box, covering nothing.
      await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
      const end = await box(page, '#buy-end');
      const landed = await box(page, '.buy-bar');
      expect(landed.y + landed.height).toBeLessThanOrEqual(end.y + 1);
      const footer = await box(page, '.site-footer');
      expect(
        await page.evaluate(([x, y]) => document.elementFromPoint(x!, y!)?.closest('.site-footer') !== null, [footer.x + 10, footer.y + footer.height / 2]),
      ).toBe(true);
      const guarantee = page.locator('#buy-end .guarantee');
      expect(await guarantee.textContent()).toContain('full refund');
    });
  });

  test('on a phone, axe finds nothing serious with the FAQ open; on a wide screen there is no bar; the owner sees no offer', async () => {
    await journey(newJourney(browser, PHONE), async (page) => {
      await page.goto(suite.url(COURSE_PATH));
      await memberStateShown(page);
      await page.getByText('How long do I keep access?').click();
      const serious = (await runAxe(page)).filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
      expect(serious, describeViolations(serious)).toEqual([]);
      // The author's block, from site.yaml.
      const author = page.getByRole('region', { name: 'About the author' });
      expect(await author.textContent()).toContain('Ada Example');
      expect(await author.locator('img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    });
    await journey(newJourney(browser), async (page) => {
      await page.goto(suite.url(COURSE_PATH));
      expect(await page.locator('.buy-bar').isVisible()).toBe(false);
      expect(await page.getByRole('region', { name: 'Ready to start?' }).getByRole('button', { name: 'Buy now for $49' }).isVisible()).toBe(true);
      expect(await page.getByRole('region', { name: 'What readers say' }).textContent()).toContain('Grace H.');
    });
    const owner = await suite.member('sales-owner@example.com', { owns: true });
    await journey(suite.memberJourney(owner, PHONE), async (page) => {
      await page.goto(suite.url(COURSE_PATH));
      await page.getByText('You own this course.').waitFor();
      expect(await page.locator('.buy-bar').isVisible()).toBe(false);
      expect(await page.locator('#buy-end').isVisible()).toBe(false);
    });
  });

  test('a catalogue card says what to do, and the whole card leads to the course', async () => {
    await journey(newJourney(browser), async (page) => {
      await page.goto(suite.url('/'));
      const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Python Fundamentals' }) });
      const call = card.getByText('See the course');
      expect(await call.isVisible()).toBe(true);
      // A click where the call to action is drawn lands on the card's link, which covers the card.
      await call.scrollIntoViewIfNeeded();
      const spot = (await call.boundingBox())!;
      await page.mouse.click(spot.x + spot.width / 2, spot.y + spot.height / 2);
      await page.waitForURL(suite.url(COURSE_PATH));
    });
  });
});

describe('accessibility (axe-core)', () => accessibilityTests(suite));
describe('screenshots', () => screenshotTests(suite));
