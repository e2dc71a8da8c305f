// GET /checkout/success?session_id=cs_...: where Stripe sends the buyer after paying. It fulfils
// the session (the webhook may not have arrived yet), then decides where the buyer goes.
import { eq } from 'drizzle-orm';
import type { AppContext, Client } from '../context.ts';
import { courses, users } from '../db/schema.ts';
import { checkRateLimit } from '../auth/rate-limit.ts';
import { getMember, startSession } from '../auth/session.ts';
import { readCookie, serializeCookie } from '../http/cookies.ts';
import { html } from '../http/html.ts';
import { pageResponse, refusePageMethod } from '../http/page-shell.ts';
import { redirect, tooManyRequests } from '../http/responses.ts';
import { CHECKOUT_COOKIE, courseUrl, firstLessonUrl } from './checkout.ts';
import { fulfillCheckout } from './fulfil.ts';
import { isStripeUnavailable } from './stripe.ts';

const SESSION_ID = /^cs_[A-Za-z0-9_]{8,200}$/;

export type CheckoutSuccess =
  | { kind: 'redirect'; location: string; setCookies: string[] }
  /** Paid with a delayed method that has not settled: the page refreshes itself. */
  | { kind: 'processing'; courseTitle: string; courseUrl: string; setCookies: string[] }
  /** The purchase belongs to an account this browser is not signed in to. */
  | { kind: 'sign-in'; courseTitle: string; maskedEmail: string; next: string; signedInElsewhere: boolean; setCookies: string[] }
  | { kind: 'not-found'; setCookies: string[] }
  | { kind: 'unavailable'; setCookies: string[] };

/** j•••@example.com: enough for the buyer to recognise, too little for anyone who sees the page. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '•••';
  return `${email[0]}•••${email.slice(at)}`;
}

export async function checkoutSuccess(request: Request, ctx: AppContext, client: Pick<Client, 'waitUntil'>): Promise<CheckoutSuccess> {
  const { member, setCookie } = await getMember(request, ctx);
  const setCookies = setCookie ? [setCookie] : [];
  const sessionId = new URL(request.url).searchParams.get('session_id') ?? '';
  if (!SESSION_ID.test(sessionId) || !ctx.stripe) return { kind: 'not-found', setCookies };

  let result;
  try {
    result = await fulfillCheckout(ctx, client, sessionId, { via: 'success-page' });
  } catch (error) {
    ctx.log.error('checkout.success-failed', { session: sessionId, error: String(error) });
    if (isStripeUnavailable(error)) return { kind: 'unavailable', setCookies };
    throw error;
  }
  if (result.kind === 'not-ours') return { kind: 'not-found', setCookies };
  const course = await ctx.db.select().from(courses).where(eq(courses.slug, result.kind === 'fulfilled' ? result.purchase.courseSlug : result.courseSlug)).get();
  const title = course?.title ?? 'your course';
  const back = courseUrl(course?.slug ?? '');
  if (result.kind === 'processing') return { kind: 'processing', courseTitle: title, courseUrl: back, setCookies };
  if (result.kind === 'not-paid') return { kind: 'redirect', location: course ? back : '/', setCookies };

  const { purchase } = result;
  const start = course ? firstLessonUrl(course) : '/account';
  if (member?.id === purchase.userId) return { kind: 'redirect', location: start, setCookies };

  const owner = await ctx.db.select().from(users).where(eq(users.id, purchase.userId)).get();
  if (!owner) return { kind: 'not-found', setCookies };
  // Signing in from a URL is only safe for an account that nobody could have used before: made by
  // this purchase, still without a password, in the browser that started this very checkout.
  const startedHere = readCookie(request, CHECKOUT_COOKIE) === sessionId;
  if (!member && purchase.createdUser && owner.passwordHash === null && startedHere) {
    const secure = ctx.config.siteUrl.protocol === 'https:';
    const signIn = await startSession(owner, request, ctx);
    const clear = serializeCookie(CHECKOUT_COOKIE, '', { maxAge: 0, secure, path: '/checkout' });
    ctx.log.info('checkout.signed-in-buyer', { userId: owner.id, purchaseId: purchase.id });
    return { kind: 'redirect', location: `${start}?welcome=1`, setCookies: [signIn, clear] };
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

const TITLES: Record<Exclude<CheckoutSuccess['kind'], 'redirect'>, string> = {
  processing: 'Payment processing',
  'sign-in': 'Thank you for your purchase',
  'not-found': 'Purchase not found',
  unavailable: 'Confirming your payment',
};

/** The success page: sends the buyer on, or says in words what the outcome needs. */
export async function handleCheckoutSuccessPage(request: Request, ctx: AppContext, client: Client): Promise<Response> {
  const refused = refusePageMethod(request);
  if (refused) return refused;
  // Each visit reads Stripe: a client trying session ids runs into this long before Stripe's own limits.
  const wait = await checkRateLimit(ctx.db, 'checkout-success', { ip: client.address }, ctx.clock.now());
  if (wait) return tooManyRequests(wait);
  const outcome = await checkoutSuccess(request, ctx, client);
  if (outcome.kind === 'redirect') return redirect(outcome.location, outcome.setCookies);
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  // Browsers honour a Refresh header like the meta tag: the page checks again until the bank answers.
  if (outcome.kind === 'processing') headers.Refresh = '15';
  if (outcome.kind === 'unavailable') headers['Retry-After'] = '30';
  const title = TITLES[outcome.kind];
  const body =
    outcome.kind === 'processing'
      ? html`<p role="status">Your payment for <strong>${outcome.courseTitle}</strong> is being processed by your bank. This page checks again every few seconds; you can also close it: we will email you, and the course will be in your account as soon as the payment is confirmed.</p>
        <p><a href="${outcome.courseUrl}">Back to the course</a></p>`
      : outcome.kind === 'sign-in'
        ? html`<p><strong>${outcome.courseTitle}</strong> is now in the account of <strong>${outcome.maskedEmail}</strong>.</p>
        ${outcome.signedInElsewhere
          ? html`<p>You are signed in with another account. Sign out, then sign in with that email address to read it.</p>`
          : html`<p>Sign in with that email address to start reading.</p>`}
        <p><a class="button" href="${`/login?next=${encodeURIComponent(outcome.next)}`}">Sign in</a></p>
        <p class="hint">No password yet, or forgot it? <a href="/reset">Get a link by email</a>.</p>`
        : outcome.kind === 'not-found'
          ? html`<p>We could not find this purchase. If you paid, the course is in your account within a few minutes; check your email, or <a href="/login">sign in</a>.</p>`
          : html`<p role="status">Your payment went through, but we could not confirm it with the payment service just now. Nothing is lost: the course will be in your account within a few minutes.</p>
        <p><a class="button" href="${url.pathname + url.search}">Try again</a></p>`;
  return pageResponse(ctx, {
    title,
    description: 'Your purchase.',
    status: outcome.kind === 'not-found' ? 404 : outcome.kind === 'unavailable' ? 503 : 200,
    setCookies: outcome.setCookies,
    headers,
    main: html`<section class="wrap auth checkout-result">
    <h1>${title}</h1>
    ${body}
  </section>`,
  });
}
