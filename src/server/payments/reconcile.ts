// Never lose a purchase: finds what the webhooks should have told the store and did not (an
// endpoint that was down past Stripe's retries, a secret rotated at the wrong moment), using the
// same idempotent functions as the webhook. Safe to run at any time, as often as wanted.
import { and, eq, gte, isNotNull } from 'drizzle-orm';
import type { AppContext, Client } from '../context.ts';
import { purchases } from '../db/schema.ts';
import { courseOfSession, fulfilCheckout, PAYMENT_CHANGE_EVENTS, syncPayment, type SyncChange } from './fulfil.ts';
import { stripeId } from './stripe.ts';

export type ReconcileReport = {
  sessionsSeen: number;
  /** Purchases the store did not have. */
  fulfilled: { session: string; course: string; purchaseId: number }[];
  /** Refunds and disputes the store had missed. */
  changed: SyncChange[];
  /** Paid with a delayed method, not settled yet: nothing to do until they are. */
  processing: string[];
};

export async function reconcile(ctx: AppContext, client: Pick<Client, 'waitUntil'>, since: number): Promise<ReconcileReport> {
  if (!ctx.stripe || !ctx.config.stripe) throw new Error('Payments are not configured (STRIPE_SECRET_KEY).');
  const stripe = ctx.stripe;
  const siteId = ctx.config.stripe.siteId;
  const cause = { via: 'reconcile' as const };
  const report: ReconcileReport = { sessionsSeen: 0, fulfilled: [], changed: [], processing: [] };
  const createdSince = Math.floor(since / 1000);

  for await (const session of stripe.checkout.sessions.list({ created: { gte: createdSince }, status: 'complete', limit: 100 })) {
    if (!courseOfSession(session, siteId)) continue;
    report.sessionsSeen += 1;
    const result = await fulfilCheckout(ctx, client, session.id, cause);
    if (result.kind === 'fulfilled' && result.created)
      report.fulfilled.push({ session: session.id, course: result.purchase.courseSlug, purchaseId: result.purchase.id });
    if (result.kind === 'processing') report.processing.push(session.id);
  }

  // Refunds and disputes: every payment bought in the window, and every payment that an event in
  // the window names (a refund today of a purchase from last year).
  const intents = new Set<string>();
  const recent = await ctx.db
    .select({ paymentIntentId: purchases.paymentIntentId })
    .from(purchases)
    .where(and(eq(purchases.source, 'stripe'), isNotNull(purchases.paymentIntentId), gte(purchases.createdAt, since)))
    .all();
  for (const row of recent) intents.add(row.paymentIntentId!);
  for await (const event of stripe.events.list({ created: { gte: createdSince }, types: [...PAYMENT_CHANGE_EVENTS], limit: 100 })) {
    const object = event.data.object as {
      payment_intent?: string | { id: string } | null;
      charge?: string | { id: string } | null;
      object: string;
      id: string;
    };
    const charge = object.object === 'charge' ? object.id : stripeId(object.charge);
    const intent = stripeId(object.payment_intent) ?? (charge ? stripeId((await stripe.charges.retrieve(charge)).payment_intent) : null);
    if (intent) intents.add(intent);
  }
  for (const intent of intents) report.changed.push(...(await syncPayment(ctx, client, intent, cause)));
  return report;
}
