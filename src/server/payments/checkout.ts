// POST /api/checkout: from a course page's buy button to Stripe's hosted checkout. The price is
// the store's copy of the course (what the last content sync wrote), never anything the form says.
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext, Client } from '../context.ts';
import { courses } from '../db/schema.ts';
import { awaitsVerification, hasAccess } from '../access/ledger.ts';
import { checkRateLimit } from '../auth/rate-limit.ts';
import { getMember } from '../auth/session.ts';
import { acceptFormPost } from '../http/form.ts';
import { htmlPage, redirect, tooManyRequests } from '../http/responses.ts';
import { sha256Hex } from '../sha256.ts';
import { REQUEST_SLUG } from '../access/lesson-gate.ts';
import { rememberCheckoutBrowser } from './checkout-browser.ts';
import { parseCheckoutTax, taxSessionParams } from './checkout-tax.ts';
import { METADATA } from './fulfil.ts';
import { checkoutRef, isStripeUnavailable, type Stripe } from './stripe.ts';
import { formatMoment, messagesOf } from '../i18n/index.ts';

const checkoutForm = z.object({ course: z.string().regex(REQUEST_SLUG) });

/** A double click, or a retry within the hour, reuses the first session instead of making another. */
const IDEMPOTENCY_WINDOW_MS = 60 * 60 * 1000;

export function courseUrl(slug: string): string {
  return `/courses/${slug}/`;
}

export function firstLessonUrl(course: { slug: string; firstLessonSlug: string | null }): string {
  return course.firstLessonSlug ? `/courses/${course.slug}/${course.firstLessonSlug}/` : courseUrl(course.slug);
}

/** Stripe Checkout's own languages (its `locale` parameter); others fall back to the language, then to Stripe's choice. */
const STRIPE_LOCALES = new Set([
  'bg',
  'cs',
  'da',
  'de',
  'el',
  'en',
  'en-GB',
  'es',
  'es-419',
  'et',
  'fi',
  'fil',
  'fr',
  'fr-CA',
  'hr',
  'hu',
  'id',
  'it',
  'ja',
  'ko',
  'lt',
  'lv',
  'ms',
  'mt',
  'nb',
  'nl',
  'pl',
  'pt',
  'pt-BR',
  'ro',
  'ru',
  'sk',
  'sl',
  'sv',
  'th',
  'tr',
  'vi',
  'zh',
  'zh-HK',
  'zh-TW',
]);

/** Checkout opens in the site's language: fr-FR is "fr", fr-CA stays "fr-CA". */
export function checkoutLocale(locale: string): Stripe.Checkout.SessionCreateParams.Locale {
  const language = locale.split('-')[0]!.toLowerCase();
  const chosen = STRIPE_LOCALES.has(locale) ? locale : STRIPE_LOCALES.has(language) ? language : 'auto';
  return chosen as Stripe.Checkout.SessionCreateParams.Locale;
}

export async function handleCheckout(request: Request, ctx: AppContext, client: Client): Promise<Response> {
  const fields = await acceptFormPost(request, ctx);
  if (fields instanceof Response) return fields;
  const t = await messagesOf(ctx);
  // Each checkout costs a Stripe API call and makes a session there.
  const wait = await checkRateLimit(ctx.db, 'checkout', { ip: client.address }, ctx.clock.now());
  if (wait) return tooManyRequests(t, wait);
  const form = checkoutForm.safeParse(fields);
  if (!form.success) return htmlPage(t, 400, t.checkout.courseNotUnderstood, t.checkout.noCourseNamed);

  const course = await ctx.db
    .select()
    .from(courses)
    .where(and(eq(courses.slug, form.data.course), eq(courses.published, true)))
    .get();
  if (!course) return htmlPage(t, 404, t.checkout.courseNotFound, t.checkout.notForSale);

  const { member, setCookies: cookies } = await getMember(request, ctx);
  // An owner reads on, whatever the course's sale window says now.
  if (member && (await hasAccess(ctx.db, member.id, course.slug))) return redirect(firstLessonUrl(course), cookies);
  // Bought for their address without signing in: it opens once they verify it; never charge twice.
  if (member && (await awaitsVerification(ctx.db, member.id, course.slug))) return redirect('/account?notice=confirm-to-read', cookies);
  // The course page is static: it may still show a buy button the store no longer honours.
  if (course.comingSoon) {
    return htmlPage(t, 409, t.checkout.notYetTitle, t.checkout.notYet);
  }
  if (course.saleEndsAt !== null && ctx.clock.now() >= course.saleEndsAt) {
    return htmlPage(t, 410, t.checkout.endedTitle, t.checkout.ended(formatMoment(t, course.saleEndsAt - 1)));
  }
  if (!ctx.stripe || !ctx.config.stripe) {
    return htmlPage(t, 503, t.checkout.paymentsOffTitle, t.checkout.paymentsOff);
  }

  const site = ctx.config.siteUrl;
  const metadata = { [METADATA.site]: ctx.config.stripe.siteId, [METADATA.course]: course.slug };
  // Stripe Tax, tax IDs, invoices and the EU consent, as site.yaml asks (docs/payments.md).
  const tax = taxSessionParams(parseCheckoutTax(course.checkoutTax), site, metadata);
  const params: Stripe.Checkout.SessionCreateParams = {
    mode: 'payment',
    line_items: [
      {
        quantity: 1,
        price_data: {
          currency: course.currency.toLowerCase(),
          unit_amount: course.priceMinor,
          product_data: { name: course.title, ...(tax.taxCode ? { tax_code: tax.taxCode } : {}) },
          ...(tax.taxBehavior ? { tax_behavior: tax.taxBehavior } : {}),
        },
      },
    ],
    ...tax.session,
    ...(course.promotionCodes ? { allow_promotion_codes: true } : {}),
    client_reference_id: member ? String(member.id) : undefined,
    customer_email: member?.email,
    metadata: { [METADATA.site]: ctx.config.stripe.siteId, [METADATA.course]: course.slug, ...(member ? { [METADATA.user]: String(member.id) } : {}) },
    payment_intent_data: { metadata },
    success_url: new URL('/checkout/success?session_id={CHECKOUT_SESSION_ID}', site).href.replace(/%7B/g, '{').replace(/%7D/g, '}'),
    // Back to the course page by handleCheckoutCancelled, which adds the fragment that shows its notice.
    cancel_url: new URL(`/checkout/cancelled?course=${encodeURIComponent(course.slug)}`, site).href,
    locale: checkoutLocale(t.locale),
  };
  // A member's retries map to one session; a guest cannot be recognised, so each visit is its own.
  const window = Math.floor(ctx.clock.now() / IDEMPOTENCY_WINDOW_MS);
  const idempotencyKey = member ? `checkout-${await sha256Hex(JSON.stringify([params, window]))}` : `checkout-${crypto.randomUUID()}`;

  let session: Stripe.Checkout.Session;
  try {
    session = await ctx.stripe.checkout.sessions.create(params, { idempotencyKey });
  } catch (error) {
    ctx.log.error('checkout.failed', { course: course.slug, error: String(error) });
    if (isStripeUnavailable(error)) {
      return htmlPage(t, 503, t.checkout.stripeDownTitle, t.checkout.stripeDown, { 'Retry-After': '60' });
    }
    return htmlPage(t, 502, t.checkout.refusedTitle, t.checkout.refused);
  }
  if (!session.url) return htmlPage(t, 502, t.checkout.refusedTitle, t.checkout.noPage);
  ctx.log.info('checkout.started', { course: course.slug, session: checkoutRef(session.id), member: member?.id ?? null });
  // Only a guest can be signed in by the success page, so only a guest's browser is remembered.
  if (!member) cookies.push(await rememberCheckoutBrowser(request, session.id, ctx));
  return redirect(session.url, cookies);
}

/**
 * GET /checkout/cancelled?course=<slug>: where Stripe's cancel link returns. The course page is
 * static and shows its notice by CSS (:target), so it needs a fragment; a fragment inside a URL
 * handed to a payment page is not sure to come back intact (some return it escaped as %23, which
 * would be a 404), so the fragment is added here, in our own redirect.
 */
export async function handleCheckoutCancelled(request: Request): Promise<Response> {
  const slug = new URL(request.url).searchParams.get('course') ?? '';
  return redirect(REQUEST_SLUG.test(slug) ? `${courseUrl(slug)}#checkout-cancelled` : '/');
}
