// axe-core in Chromium on every kind of page the site has, each in the light and the dark colour
// scheme: no serious or critical violation is allowed; moderate and minor ones are listed in
// .test-dist/screenshots/axe.json and printed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { BLOG_URL, describeViolations, memberStateShown, newJourney, runAxe, screenshotsDir, type AxeViolation } from '../support/browser.ts';
import { makeAdmin } from '../../src/server/admin/commands.ts';

const ADMIN_PASSWORD = 'the operator chose this passphrase';
import { createVisitor } from '../support/visitor.ts';
import { COURSE_PATH, PAID_PATH, PREVIEW_PATH, type BrowserSuite, type Journey } from './suite.ts';

type Who = 'anonymous' | 'owner' | 'member' | 'admin';
type PageCase = { name: string; who: Who; h1: string; open(page: Page): Promise<unknown> };

export function accessibilityTests(suite: BrowserSuite) {
  const journeys = new Map<Who, Journey>();
  const found: { page: string; scheme: string; violations: AxeViolation[] }[] = [];
  let resetLink = '';
  let signInSessionId = '';
  let confirmedPath = '';
  let processingPath = '';
  let choosePasswordLink = '';
  const goto = (path: string) => (page: Page) => page.goto(suite.url(path));

  beforeAll(async () => {
    const { site } = suite;
    const [owner, member, admin] = await Promise.all([
      suite.member('axe-owner@example.com', { owns: true }),
      suite.member('axe-member@example.com'),
      suite.member('axe-admin@example.com'),
    ]);
    // Made an admin the way `npm run admin -- create-admin` promotes an existing account.
    const made = await makeAdmin(
      { db: site.store.db, clock: { now: () => Date.now() } },
      { email: 'axe-admin@example.com', password: ADMIN_PASSWORD, iterations: 2000, actor: { userId: null, via: 'cli' } },
    );
    if (made.kind === 'invalid' || made.kind === 'password-required') throw new Error(`create-admin: ${made.kind}`);
    // Making an admin ends the account's sessions: the admin signs in again with the operator's password.
    const signedIn = await admin.post('/api/auth/login', { email: 'axe-admin@example.com', password: ADMIN_PASSWORD });
    if (signedIn.headers.get('location') !== '/account') throw new Error(`admin sign-in: ${signedIn.status} ${signedIn.headers.get('location')}`);
    const blogPage = `<!doctype html><html lang="en"><title>Blog</title><form method="post" action="${suite.url('/api/auth/login')}"><button>Send a form from another site</button></form></html>`;
    journeys.set('anonymous', await newJourney(suite.browser, { blogPage }));
    journeys.set('owner', await suite.memberJourney(owner));
    journeys.set('member', await suite.memberJourney(member));
    journeys.set('admin', await suite.memberJourney(admin));

    // A reset link from the email, and a purchase made by a signed-out browser for an existing
    // account (its success page asks to sign in).
    const asker = createVisitor(site.server.url);
    await asker.post('/api/auth/reset-request', { email: 'axe-member@example.com' });
    resetLink = /http:\/\/127\.0\.0\.1:\d+\/reset\?\S+/.exec((await site.sink.waitFor('axe-member@example.com', { subject: /^Reset your password/ })).text)![0];
    const guest = createVisitor(site.server.url);
    const checkout = await guest.post('/api/checkout', { course: 'python-for-finance' });
    signInSessionId = checkout.headers.get('location')!.split('/').pop()!;
    await site.control(`/_standin/checkout/${signInSessionId}/pay`, { email: 'axe-member@example.com' });
    // The owner buys two more courses: one paid (its confirmation), one by a delayed method still processing.
    const buy = async (course: string, options: { delayed?: boolean; email?: string } = {}, buyer = owner) => {
      const started = await buyer.post('/api/checkout', { course });
      const sessionId = started.headers.get('location')!.split('/').pop()!;
      const { redirect } = await site.control(`/_standin/checkout/${sessionId}/pay`, options);
      return new URL(redirect).pathname + new URL(redirect).search;
    };
    confirmedPath = await buy('running-python-scripts');
    processingPath = await buy('python-for-finance', { delayed: true });
    // A new guest buyer's email: the link to choose a first password.
    await buy('running-python-scripts', { email: 'axe-guest@example.com' }, createVisitor(site.server.url));
    choosePasswordLink = /http:\/\/127\.0\.0\.1:\d+\/reset\?\S+/.exec((await site.sink.waitFor('axe-guest@example.com')).text)![0];
  });
  afterAll(async () => {
    for (const journey of journeys.values()) await journey.context.close();
    writeFileSync(join(screenshotsDir(), 'axe.json'), `${JSON.stringify(found, null, 2)}\n`);
    const left = found.flatMap(({ page, scheme, violations }) =>
      violations.map((violation) => `${page} (${scheme}): ${violation.impact} ${violation.id} (${violation.nodes.length})`),
    );
    if (left.length) console.log(`axe: moderate and minor violations left:\n${left.join('\n')}`);
  });

  // Each page is told apart by its heading, so that a case can not pass on the wrong page.
  const cases: PageCase[] = [
    { name: 'catalogue', who: 'anonymous', h1: 'Courses for people who write Python for a living', open: goto('/') },
    { name: 'course page', who: 'anonymous', h1: 'Python Fundamentals', open: goto(COURSE_PATH) },
    { name: 'free preview lesson', who: 'anonymous', h1: 'Why Python, and your first script', open: goto(PREVIEW_PATH) },
    { name: 'sign-up', who: 'anonymous', h1: 'Create an account', open: goto('/signup') },
    { name: 'sign-up with an error', who: 'anonymous', h1: 'Create an account', open: goto('/signup?error=password-too-short') },
    { name: 'sign-up sent: check your email', who: 'anonymous', h1: 'Check your email', open: goto('/signup?notice=check-email') },
    { name: 'sign-in', who: 'anonymous', h1: 'Sign in', open: goto('/login') },
    { name: 'sign-in with an error and the link form open', who: 'anonymous', h1: 'Sign in', open: goto('/login?error=invalid-credentials&mode=link') },
    { name: 'reset request', who: 'anonymous', h1: 'Reset your password', open: goto('/reset?notice=reset-sent') },
    { name: 'reset with a link from the email', who: 'anonymous', h1: 'Reset your password', open: (page) => page.goto(resetLink) },
    {
      name: 'checkout success: sign in to read',
      who: 'anonymous',
      h1: 'Thank you for your purchase',
      open: (page) => page.goto(suite.url(`/checkout/success?session_id=${signInSessionId}`)),
    },
    {
      name: 'checkout success: purchase not found',
      who: 'anonymous',
      h1: 'Purchase not found',
      open: goto('/checkout/success?session_id=cs_test_not_a_real_session'),
    },
    { name: 'checkout success: confirmation', who: 'owner', h1: 'Thank you for your purchase', open: (page) => page.goto(suite.url(confirmedPath)) },
    { name: 'checkout success: payment processing', who: 'owner', h1: 'Payment processing', open: (page) => page.goto(suite.url(processingPath)) },
    { name: 'course page after a cancelled checkout', who: 'anonymous', h1: 'Python Fundamentals', open: goto(`${COURSE_PATH}#checkout-cancelled`) },
    { name: 'paid lesson signed out: its offer', who: 'anonymous', h1: 'Making decisions and repeating work', open: goto(PAID_PATH) },
    { name: 'choose a first password from the purchase email', who: 'anonymous', h1: 'Choose your password', open: (page) => page.goto(choosePasswordLink) },
    { name: '404', who: 'anonymous', h1: 'Page not found', open: goto('/courses/no-such-course/') },
    { name: 'error page: the server failed (500)', who: 'anonymous', h1: 'Something went wrong', open: goto('/500') },
    {
      name: 'error page: a form sent from another site',
      who: 'anonymous',
      h1: 'Form refused',
      open: async (page) => {
        await page.goto(`${BLOG_URL}form`);
        await Promise.all([page.waitForURL(suite.url('/api/auth/login')), page.getByRole('button').click()]);
      },
    },
    { name: 'course page: the offer to a member who does not own it', who: 'member', h1: 'Python Fundamentals', open: goto(`${COURSE_PATH}#not-owned`) },
    { name: 'paid lesson as its owner', who: 'owner', h1: 'Making decisions and repeating work', open: goto(PAID_PATH) },
    { name: 'free lesson as its owner', who: 'owner', h1: 'Why Python, and your first script', open: goto(PREVIEW_PATH) },
    { name: 'course page as its owner', who: 'owner', h1: 'Python Fundamentals', open: goto(COURSE_PATH) },
    { name: 'account with a course', who: 'owner', h1: 'Your account', open: goto('/account') },
    { name: 'account without courses', who: 'member', h1: 'Your account', open: goto('/account?notice=email-verified') },
    { name: 'account password', who: 'owner', h1: 'Change your password', open: goto('/account/password') },
    { name: 'admin dashboard', who: 'admin', h1: 'Dashboard', open: goto('/admin/') },
    { name: 'admin members search', who: 'admin', h1: 'Members', open: goto('/admin/members?q=axe') },
    {
      name: 'admin member page with a notice',
      who: 'admin',
      h1: 'axe-owner@example.com',
      open: async (page) => {
        await page.goto(suite.url('/admin/members?q=axe-owner'));
        await Promise.all([page.waitForURL(/\/admin\/members\/\d+$/), page.getByRole('link', { name: 'axe-owner@example.com' }).click()]);
        await page.goto(`${page.url()}?notice=granted`);
      },
    },
    { name: 'admin purchases', who: 'admin', h1: 'Purchases', open: goto('/admin/purchases') },
    { name: 'admin courses', who: 'admin', h1: 'Courses', open: goto('/admin/courses') },
    { name: 'admin course page', who: 'admin', h1: 'Python Fundamentals', open: goto('/admin/courses/python-fundamentals') },
    { name: 'admin audit log', who: 'admin', h1: 'Audit log', open: goto('/admin/audit') },
    { name: 'admin bad request', who: 'admin', h1: 'Not done', open: goto('/admin/purchases?status=lost') },
  ];

  test.each(cases)('$name ($who)', async ({ name, who, h1, open }) => {
    const { page } = journeys.get(who)!;
    const failures: string[] = [];
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await open(page);
      // The site script's /api/me answer changes the header; check the page as the reader sees it.
      await memberStateShown(page);
      expect((await page.locator('h1').textContent())?.trim()).toBe(h1);
      const violations = await runAxe(page);
      found.push({ page: name, scheme, violations: violations.filter((violation) => !isBlocking(violation)) });
      const blocking = violations.filter(isBlocking);
      if (blocking.length) failures.push(`${scheme}:\n${describeViolations(blocking)}`);
    }
    expect(failures.join('\n'), `${name}: serious or critical axe violations`).toBe('');
  });
}

function isBlocking(violation: AxeViolation): boolean {
  return violation.impact === 'serious' || violation.impact === 'critical';
}
