// POST /api/stripe/webhook. The signature is checked over the raw body before anything is read
// from it. Every event only names what changed; the handlers re-read the objects from Stripe, so
// duplicates, retries and out-of-order deliveries all end in the same state.
import { eq } from 'drizzle-orm';
import type { AppContext, Client } from '../context.ts';
import { stripeEvents } from '../db/schema.ts';
import { BodyError, readBodyLimited } from '../http/body.ts';
import { fulfilCheckout, PAYMENT_CHANGE_EVENTS, syncPayment, type Cause } from './fulfil.ts';
import { checkoutRef, isStripeMissing, stripeId, webhookCryptoProvider, type Stripe } from './stripe.ts';
import { isStoreUnreachable } from '../db/replica.ts';

/** Stripe's events are far smaller; anything bigger is not from Stripe. */
const MAX_EVENT_BYTES = 512 * 1024;
/** Stripe's own default: a signature older than this is a replay. */
const SIGNATURE_TOLERANCE_S = 300;

const HANDLED = new Set<string>([
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  ...PAYMENT_CHANGE_EVENTS,
]);

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } });
}

export async function handleStripeWebhook(request: Request, ctx: AppContext, client: Client): Promise<Response> {
  if (request.method !== 'POST') return json(405, { error: 'POST only' });
  const secret = ctx.config.stripe?.webhookSecret;
  if (!ctx.stripe || !secret) return json(503, { error: 'Webhooks are not configured on this site.' });

  const signature = request.headers.get('stripe-signature');
  let body: string;
  try {
    // Capped while it arrives: a chunked body declares no length to check beforehand.
    body = new TextDecoder().decode(await readBodyLimited(request, MAX_EVENT_BYTES));
  } catch (error) {
    if (!(error instanceof BodyError)) throw error;
    const answer = json(error.status, { error: error.status === 413 ? 'Event too large.' : 'Event incomplete.' });
    answer.headers.set('Connection', 'close');
    return answer;
  }
  if (!signature) return json(400, { error: 'Missing Stripe-Signature header.' });
  let event: Stripe.Event;
  try {
    event = await ctx.stripe.webhooks.constructEventAsync(body, signature, secret, SIGNATURE_TOLERANCE_S, webhookCryptoProvider);
  } catch {
    ctx.log.warn('webhook.bad-signature', { address: client.address });
    return json(400, { error: 'Invalid signature.' });
  }

  if (!HANDLED.has(event.type)) return json(200, { received: true, handled: false });
  const seen = await ctx.db.select({ id: stripeEvents.id }).from(stripeEvents).where(eq(stripeEvents.id, event.id)).get();
  if (seen) return json(200, { received: true, duplicate: true });

  const cause: Cause = { via: 'webhook', eventId: event.id };
  try {
    await applyEvent(ctx, client, event, cause);
  } catch (error) {
    if (isStripeMissing(error)) {
      // Stripe does not know the object (another account's, or deleted): retrying never helps,
      // and a 5xx would make Stripe retry it for three days.
      ctx.log.warn('webhook.unknown-object', { eventId: event.id, type: event.type, error: error instanceof Error ? error.message : String(error) });
      await ctx.db.insert(stripeEvents).values({ id: event.id, type: event.type, processedAt: ctx.clock.now() }).onConflictDoNothing();
      return json(200, { received: true, handled: false });
    }
    // Stripe retries a 5xx with backoff for three days; reconcile catches anything past that.
    ctx.log.error('webhook.failed', { eventId: event.id, type: event.type, error: error instanceof Error ? error.message : String(error) });
    return json(isStoreUnreachable(error, ctx) ? 503 : 500, { error: 'Could not process the event now; it will be retried.' });
  }
  await ctx.db.insert(stripeEvents).values({ id: event.id, type: event.type, processedAt: ctx.clock.now() }).onConflictDoNothing();
  return json(200, { received: true });
}

async function applyEvent(ctx: AppContext, client: Client, event: Stripe.Event, cause: Cause): Promise<void> {
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
    case 'checkout.session.async_payment_failed': {
      const result = await fulfilCheckout(ctx, client, event.data.object.id, cause);
      if (result.kind === 'not-paid' && event.type === 'checkout.session.async_payment_failed') {
        ctx.log.info('purchase.payment-failed', { session: checkoutRef(event.data.object.id), course: result.courseSlug });
      }
      return;
    }
    default: {
      // PAYMENT_CHANGE_EVENTS: a charge, a refund or a dispute, each naming its payment or its charge.
      const object = event.data.object as {
        payment_intent?: string | { id: string } | null;
        charge?: string | { id: string } | null;
        object: string;
        id: string;
      };
      const paymentIntent =
        stripeId(object.payment_intent) ?? (await paymentIntentOfCharge(ctx, object.object === 'charge' ? object.id : stripeId(object.charge)));
      if (paymentIntent) await syncPayment(ctx, client, paymentIntent, cause);
      return;
    }
  }
}

async function paymentIntentOfCharge(ctx: AppContext, chargeId: string | null): Promise<string | null> {
  if (!chargeId) return null;
  return stripeId((await ctx.stripe!.charges.retrieve(chargeId)).payment_intent);
}
