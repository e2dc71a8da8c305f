// GET /checkout/success?session_id=cs_...: where Stripe sends the buyer after paying. It fulfils
// the session (the webhook may not have arrived yet), then tells the buyer in words what happened:
// a confirmation with the course and a start button to the purchase's owner, else what to do. The URL
// is no proof of anything (it sits in history, screenshots, shared links): a guest buyer is signed
// in only by the browser secret of checkout-browser.ts, once, shortly after paying, and only into
// the account that this very purchase created.
import { eq } from 'drizzle-orm';
import type { AppContext, Client } from '../context.ts';
import { courses, users } from '../db/schema.ts';
import { checkRateLimit } from '../auth/rate-limit.ts';
import { getMember, signInPath, startSession } from '../auth/session.ts';
import { html } from '../http/html.ts';
import { pageResponse, refusePageMethod } from '../http/page-shell.ts';
import { redirect, tooManyRequests } from '../http/responses.ts';
import { messagesOf } from '../i18n/index.ts';
import { courseUrl, firstLessonUrl } from './checkout.ts';
import { claimCheckoutBrowser } from './checkout-browser.ts';
import { fulfilCheckout } from './fulfil.ts';
import { checkoutRef, isStripeUnavailable } from './stripe.ts';

const SESSION_ID = /^cs_[A-Za-z0-9_]{8,200}$/;

/** How long after the purchase was recorded the success page may still sign its buyer in. */
export const SIGN_IN_WINDOW_MS = 30 * 60 * 1000;

export type CheckoutSuccess =
  | { kind: 'redirect'; location: string; setCookies: string[] }
  /** Paid and recorded, shown to the purchase's owner only: the receipt went to `email`. */
  | {
      kind: 'confirmed';
      courseTitle: string;
      startUrl: string;
      email: string;
      receiptUrl: string;
      /** The purchase made the account: the receipt mail also holds the link to choose a password. */
      newAccount: boolean;
      setCookies: string[];
    }
  /** Paid with a delayed method that has not settled: the page refreshes itself. */
  | { kind: 'processing'; courseTitle: string; courseUrl: string; setCookies: string[] }
  /** The purchase belongs to an account this browser is not signed in to. */
  | { kind: 'sign-in'; courseTitle: string; maskedEmail: string; next: string; signedInElsewhere: boolean; setCookies: string[] }
  | { kind: 'not-found'; setCookies: string[] }
  /** Paid, but the email address Stripe collected is not one the site accepts: nothing recorded. */
  | { kind: 'bad-email'; setCookies: string[] }
  | { kind: 'unavailable'; setCookies: string[] };

/** j•••@example.com: enough for the buyer to recognise, too little for anyone who sees the page. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '•••';
  return `${email[0]}•••${email.slice(at)}`;
}

export async function checkoutSuccess(request: Request, ctx: AppContext, client: Pick<Client, 'waitUntil'>): Promise<CheckoutSuccess> {
  const { member, setCookies } = await getMember(request, ctx);
  const sessionId = new URL(request.url).searchParams.get('session_id') ?? '';
  if (!SESSION_ID.test(sessionId) || !ctx.stripe) return { kind: 'not-found', setCookies };

  let result;
  try {
    result = await fulfilCheckout(ctx, client, sessionId, { via: 'success-page' });
  } catch (error) {
    ctx.log.error('checkout.success-failed', { session: checkoutRef(sessionId), error: String(error) });
    if (isStripeUnavailable(error)) return { kind: 'unavailable', setCookies };
    throw error;
  }
  if (result.kind === 'not-ours') return { kind: 'not-found', setCookies };
  if (result.kind === 'bad-email') return { kind: 'bad-email', setCookies };
  const course = await ctx.db
    .select()
    .from(courses)
    .where(eq(courses.slug, result.kind === 'fulfilled' ? result.purchase.courseSlug : result.courseSlug))
    .get();
  const title = course?.title ?? (await messagesOf(ctx)).checkout.yourCourse;
  const back = courseUrl(course?.slug ?? '');
  if (result.kind === 'processing') return { kind: 'processing', courseTitle: title, courseUrl: back, setCookies };
  if (result.kind === 'not-paid') return { kind: 'redirect', location: course ? back : '/', setCookies };

  const { purchase } = result;
  const start = course ? firstLessonUrl(course) : '/account';
  const owner = await ctx.db.select().from(users).where(eq(users.id, purchase.userId)).get();
  if (!owner) return { kind: 'not-found', setCookies };
  const confirmed = (cookies: string[]): CheckoutSuccess => ({
    kind: 'confirmed',
    courseTitle: title,
    startUrl: start,
    email: owner.email,
    receiptUrl: `/account/receipt?purchase=${purchase.id}`,
    newAccount: purchase.createdUser && owner.passwordHash === null,
    setCookies: cookies,
  });
  if (member?.id === purchase.userId) return confirmed(setCookies);

  // Signing in without a password is only safe for an account that nobody could have used before:
  // created by this purchase's own write, still without a password, shortly after paying, in the
  // browser that started this very checkout (claimed once, last, so that a refusal for another
  // reason leaves the claim to the buyer).
  const now = ctx.clock.now();
  if (
    !member &&
    owner.createdByCheckout === sessionId &&
    owner.passwordHash === null &&
    now - purchase.createdAt <= SIGN_IN_WINDOW_MS &&
    (await claimCheckoutBrowser(request, sessionId, ctx))
  ) {
    const signIn = await startSession(owner, request, ctx);
    ctx.log.info('checkout.signed-in-buyer', { userId: owner.id, purchaseId: purchase.id });
    return confirmed([...setCookies, signIn]);
  }
  return {
    kind: 'sign-in',
    courseTitle: title,
    maskedEmail: maskEmail(owner.email),
    next: start,
    signedInElsewhere: member !== null,
    setCookies,
  };
}

/** The success page: confirms the purchase to its owner, or says in words what the outcome needs. */
export async function handleCheckoutSuccessPage(request: Request, ctx: AppContext, client: Client): Promise<Response> {
  const t = await messagesOf(ctx);
  const refused = refusePageMethod(request, t);
  if (refused) return refused;
  // Each visit reads Stripe: a client trying session ids runs into this long before Stripe's own limits.
  const wait = await checkRateLimit(ctx.db, 'checkout-success', { ip: client.address }, ctx.clock.now());
  if (wait) return tooManyRequests(t, wait);
  const outcome = await checkoutSuccess(request, ctx, client);
  if (outcome.kind === 'redirect') return redirect(outcome.location, outcome.setCookies);
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  // Browsers honour a Refresh header like the meta tag: the page checks again until the bank answers.
  if (outcome.kind === 'processing') headers.Refresh = '15';
  if (outcome.kind === 'unavailable') headers['Retry-After'] = '30';
  const title = t.checkout.titles[outcome.kind];
  const body =
    outcome.kind === 'confirmed'
      ? html`<p role="status">${t.checkout.confirmed(outcome.courseTitle)}</p>
        <p>${outcome.newAccount ? t.checkout.receiptAndPasswordSentTo(outcome.email) : t.checkout.receiptSentTo(outcome.email)}</p>
        <p><a class="button" href="${outcome.startUrl}">${t.checkout.startCourse}</a></p>
        <p><a href="${outcome.receiptUrl}">${t.checkout.seeReceipt}</a></p>`
      : outcome.kind === 'processing'
        ? html`<p role="status">${t.checkout.processing(outcome.courseTitle)}</p>
        <p><a href="${outcome.courseUrl}">${t.checkout.backToCourse}</a></p>`
        : outcome.kind === 'sign-in'
          ? html`<p>${t.checkout.inAccountOf(outcome.courseTitle, outcome.maskedEmail)}</p>
        ${outcome.signedInElsewhere ? html`<p>${t.checkout.signedInElsewhere}</p>` : html`<p>${t.checkout.signInToRead}</p>`}
        <p><a class="button" href="${signInPath(outcome.next)}">${t.checkout.signIn}</a></p>
        <p class="hint">${t.checkout.noPassword}</p>`
          : outcome.kind === 'not-found'
            ? html`<p>${t.checkout.notFound}</p>`
            : outcome.kind === 'bad-email'
              ? html`<p>${t.checkout.badEmail}</p>`
              : html`<p role="status">${t.checkout.unavailable}</p>
        <p><a class="button" href="${url.pathname + url.search}">${t.checkout.tryAgain}</a></p>`;
  return pageResponse(ctx, {
    title,
    description: t.checkout.description,
    status: outcome.kind === 'not-found' ? 404 : outcome.kind === 'unavailable' ? 503 : 200,
    setCookies: outcome.setCookies,
    headers,
    main: html`<section class="wrap auth checkout-result">
    <h1>${title}</h1>
    ${body}
  </section>`,
  });
}
