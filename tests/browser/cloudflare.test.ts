// A reader's journey in Chromium against the serverless target: `wrangler dev` of the Worker with
// static assets (tests/support/wrangler.ts), the Stripe stand-in and an email API stand-in. Sign up
// through the mailed link, buy on the stand-in's hosted page, read the paid lesson; the author
// refunds on Stripe, the webhook reaches the Worker, and the lesson is gone. SITE_URL is wrangler's own address, so Stripe's redirect leads back to it.
import Stripe from 'stripe';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { startStripeStandin, type StripeStandin } from '../../scripts/stripe-standin.ts';
import { launchBrowser, newJourney } from '../support/browser.ts';
import { STRIPE_KEY, WEBHOOK_SECRET } from '../support/payments.ts';
import { freePort } from '../support/server.ts';
import { startEmailApiSink, type EmailApiSink } from '../support/email-api-sink.ts';
import { signUpInBrowser } from '../support/sign-up.ts';
import { startWorkerSite, type WorkerSite } from '../support/wrangler.ts';
import { COURSE_PATH, PAID_PATH, PAID_TEXT, PASSWORD } from './suite.ts';

let site: WorkerSite;
let standin: StripeStandin;
let browser: Browser;
let emailApi: EmailApiSink;

beforeAll(async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  [standin, browser, emailApi] = await Promise.all([
    startStripeStandin({ port: 0, webhookUrls: [`${url}/api/stripe/webhook`], webhookSecret: WEBHOOK_SECRET, log: () => {} }),
    launchBrowser(),
    startEmailApiSink(),
  ]);
  site = await startWorkerSite(
    inject('dist'),
    {
      NODE_ENV: 'test',
      SITE_URL: url,
      SESSION_SECRET: 'browser-journey-on-workers-7d1f3b9a2c5e8d4f6a0b',
      STRIPE_SECRET_KEY: STRIPE_KEY,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_BASE: standin.url,
      PASSWORD_ITERATIONS: '100000',
      // The confirmation mail of the sign-up, which the browser opens.
      MAIL_FROM: 'Courses <courses@courses.test>',
      EMAIL_PROVIDER: 'resend',
      EMAIL_API_KEY: 're_test_browser',
      EMAIL_API_URL: emailApi.url,
    },
    { port },
  );
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await site?.stop();
  await standin?.close();
  await emailApi?.stop();
});

test('sign up, buy on the stand-in, read the paid lesson; after a refund on Stripe the lesson is gone', { timeout: 120_000 }, async () => {
  const { context, page } = await newJourney(browser);
  const email = 'workers-reader@example.com';
  try {
    await page.goto(`${site.url}/signup`);
    await signUpInBrowser(page, emailApi, { email, password: PASSWORD });
    await page.getByRole('navigation', { name: 'Site' }).getByRole('link', { name: email }).waitFor();

    // Not owned yet: the paid lesson sends the member to the course's offer.
    await page.goto(`${site.url}${PAID_PATH}`);
    await page.waitForURL((url) => url.pathname === COURSE_PATH && url.hash === '#not-owned');

    await page
      .getByRole('button', { name: /^Buy for/ })
      .first()
      .click();
    await page.waitForURL(`${standin.url}/c/pay/**`);
    const sessionId = new URL(page.url()).pathname.split('/').pop()!;
    await page.getByRole('button', { name: 'Pay $49.00', exact: true }).click();
    // The confirmation after paying; its button starts the course.
    await page.waitForURL((url) => url.origin === site.url && url.pathname === '/checkout/success');
    await page.getByRole('link', { name: 'Start the course' }).click();
    await page.waitForURL((url) => url.origin === site.url && url.pathname.startsWith(`${COURSE_PATH}`) && url.pathname !== COURSE_PATH);

    await page.goto(`${site.url}${PAID_PATH}`);
    await page.getByText(PAID_TEXT).waitFor();

    // The author refunds on Stripe; the stand-in sends charge.refunded to the Worker.
    const stripe = new Stripe(STRIPE_KEY, { host: '127.0.0.1', port: standin.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });
    const session = await stripe.checkout.sessions.retrieve(sessionId);
    await stripe.refunds.create({ payment_intent: session.payment_intent as string });
    const deadline = Date.now() + 20_000;
    for (;;) {
      await page.goto(`${site.url}${PAID_PATH}`);
      if (new URL(page.url()).hash === '#not-owned') break;
      if (Date.now() > deadline) throw new Error(`the lesson is still readable after the refund:\n${site.logs().slice(-3000)}`);
      await page.waitForTimeout(250);
    }
    expect(new URL(page.url()).pathname).toBe(COURSE_PATH);
    expect(await page.getByText(PAID_TEXT).count()).toBe(0);
  } finally {
    await context.close();
  }
});
