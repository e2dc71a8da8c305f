// Turning Stripe's record of a payment into access, idempotently. Stripe is the source of truth:
// every function here re-reads the objects from Stripe instead of trusting a webhook's copy, then
// moves the store to match, so events may arrive late, twice, in parallel or in any order.
import { eq, sql } from 'drizzle-orm';
import type { AppContext, Client } from '../context.ts';
import { rowsAffected } from '../db/results.ts';
import { courses, purchases, users, type Purchase } from '../db/schema.ts';
import { appendLedgerSql, getAccessState, insertPurchaseSql, transitionsTo, type AccessAction, type AccessState } from '../access/ledger.ts';
import { REQUEST_SLUG } from '../access/lesson-gate.ts';
import { emailSchema } from '../auth/credentials.ts';
import { issueToken } from '../auth/tokens.ts';
import { sendAfterResponse } from '../email/mailer.ts';
import { purchaseMessage, saleNotificationMessage, type ChargedAmount } from '../email/messages.ts';
import { sessionTaxOf } from './checkout-tax.ts';
import { checkoutRef, isStripeMissing, stripeId, type Stripe } from './stripe.ts';
import { caughtUp } from '../db/replica.ts';
import { messagesOf } from '../i18n/index.ts';
import { siteNameOf } from '../http/page-shell.ts';
import { orderNumber } from './account-purchases.ts';

/** What a Checkout Session's metadata holds, so that the site recognises its own sessions. */
export const METADATA = { site: 'course_store_site', course: 'course', user: 'user_id' } as const;

/** How long the set-password link mailed to a guest buyer works. */
export const SET_PASSWORD_LINK_MS = 7 * 24 * 60 * 60 * 1000;

/** Why a store change happened; goes into the ledger and the log. */
export type Cause = { via: 'webhook' | 'success-page' | 'reconcile'; eventId?: string | null };

export type FulfilResult =
  /** The purchase is recorded (`created` tells whether this call recorded it). */
  | { kind: 'fulfilled'; created: boolean; purchase: Purchase; session: Stripe.Checkout.Session }
  /** Completed with a delayed payment method that has not settled yet. */
  | { kind: 'processing'; courseSlug: string; session: Stripe.Checkout.Session }
  /** Open (not paid yet), expired, or the delayed payment failed. */
  | { kind: 'not-paid'; courseSlug: string; session: Stripe.Checkout.Session }
  /** Paid by a guest whose email (from Stripe) the site's own email check refuses: nothing recorded. */
  | { kind: 'bad-email'; courseSlug: string; session: Stripe.Checkout.Session }
  /** Unknown to Stripe, or made by another site on the same Stripe account. */
  | { kind: 'not-ours' };

/**
 * Checkout Session ids Stripe answered "no such session" for, remembered for a while in this
 * process (or isolate), so that a success URL with a made-up id costs one Stripe call, not one per
 * visit. Safe to remember: Stripe never gives an id it refused to an object later.
 */
const unknownSessions = new Map<string, number>();
const UNKNOWN_SESSION_MS = 10 * 60_000;
const UNKNOWN_SESSIONS_KEPT = 10_000;

function isKnownUnknown(sessionId: string, now: number): boolean {
  const until = unknownSessions.get(sessionId);
  if (until === undefined) return false;
  if (until > now) return true;
  unknownSessions.delete(sessionId);
  return false;
}

function rememberUnknown(sessionId: string, now: number): void {
  // A Map keeps insertion order: the oldest goes first when it is full.
  if (unknownSessions.size >= UNKNOWN_SESSIONS_KEPT) unknownSessions.delete(unknownSessions.keys().next().value!);
  unknownSessions.set(sessionId, now + UNKNOWN_SESSION_MS);
}

function requireStripe(ctx: AppContext): Stripe {
  if (!ctx.stripe) throw new Error('Payments are not configured (STRIPE_SECRET_KEY).');
  return ctx.stripe;
}

/** The course of a session this site created, or null for any other session. */
export function courseOfSession(session: Stripe.Checkout.Session, siteId: string): string | null {
  const metadata = session.metadata ?? {};
  const course = metadata[METADATA.course];
  if (session.mode !== 'payment' || metadata[METADATA.site] !== siteId || !course || !REQUEST_SLUG.test(course)) return null;
  return course;
}

/**
 * Records a paid Checkout Session as a purchase with its `grant`, exactly once. Called by the
 * webhook, the success page and reconcile; safe to call any number of times, concurrently.
 */
export async function fulfilCheckout(ctx: AppContext, client: Pick<Client, 'waitUntil'>, sessionId: string, cause: Cause): Promise<FulfilResult> {
  const stripe = requireStripe(ctx);
  if (isKnownUnknown(sessionId, ctx.clock.now())) return { kind: 'not-ours' };
  let session: Stripe.Checkout.Session;
  try {
    session = await stripe.checkout.sessions.retrieve(sessionId);
  } catch (error) {
    if (!isStripeMissing(error)) throw error;
    rememberUnknown(sessionId, ctx.clock.now());
    return { kind: 'not-ours' };
  }
  const courseSlug = courseOfSession(session, ctx.config.stripe!.siteId);
  if (!courseSlug) return { kind: 'not-ours' };
  // A test-mode payment on a live site (or the reverse) moved no real money for this site.
  if (session.livemode !== ctx.config.stripe!.livemode) {
    ctx.log.warn('purchase.wrong-mode', {
      course: courseSlug,
      livemode: session.livemode,
      keyLivemode: ctx.config.stripe!.livemode,
      via: cause.via,
      eventId: cause.eventId ?? null,
    });
    return { kind: 'not-ours' };
  }
  if (session.payment_status !== 'paid' && session.payment_status !== 'no_payment_required') {
    return {
      kind: session.status === 'complete' && session.payment_status === 'unpaid' && !(await delayedPaymentFailed(stripe, session)) ? 'processing' : 'not-paid',
      courseSlug,
      session,
    };
  }

  const existing = await ctx.db.select().from(purchases).where(eq(purchases.checkoutSessionId, session.id)).get();
  if (existing) return { kind: 'fulfilled', created: false, purchase: existing, session };

  const now = ctx.clock.now();
  const memberId = Number(session.metadata?.[METADATA.user]);
  const findMember = () => ctx.db.select({ id: users.id }).from(users).where(eq(users.id, memberId)).get();
  let member = Number.isSafeInteger(memberId) && memberId > 0 ? await findMember() : undefined;
  // On a replica, a member who signed up through another server a moment ago may not be here yet:
  // mistaken for a guest, their purchase would wait for an email verification (docs/decisions/0016).
  if (!member && Number.isSafeInteger(memberId) && memberId > 0 && (await caughtUp(ctx))) member = await findMember();
  // A member's purchase goes to the member. A guest's goes to the address Stripe collected, which
  // must pass the same check as every address typed on the site; anything else records nothing.
  const parsed = member ? null : emailSchema.safeParse(session.customer_details?.email ?? session.customer_email ?? '');
  if (parsed && !parsed.success) {
    ctx.log.error('purchase.bad-email', { session: checkoutRef(session.id), course: courseSlug, via: cause.via });
    return { kind: 'bad-email', courseSlug, session };
  }
  const owner = member ? sql`u.id = ${member.id}` : sql`u.email = ${parsed!.data}`;
  const paymentIntentId = stripeId(session.payment_intent);
  const tax = sessionTaxOf(session);
  const invoice = tax.invoiceId ? await invoiceAddresses(stripe, tax.invoiceId) : { url: null, pdf: null };
  const purchaseId = sql`(SELECT id FROM purchases WHERE checkout_session_id = ${session.id})`;

  // One atomic batch: the account (for a guest), the purchase, its grant. The unique Checkout
  // Session id makes a second caller's purchase insert, and therefore everything after, a no-op.
  // The account counts as made by this purchase only when this very insert created it: it then
  // carries the session's id (`created_by_checkout`), which no other origin of an account writes.
  // Only then may the success page sign its buyer in.
  const statements = [
    ...(member
      ? []
      : [
          ctx.db.run(
            sql`INSERT INTO users (email, session_version, created_by_checkout, created_at, updated_at) VALUES (${parsed!.data}, 1, ${session.id}, ${now}, ${now}) ON CONFLICT(email) DO NOTHING`,
          ),
        ]),
    // A guest's purchase is for the address typed at Stripe: it opens once that address is
    // verified, unless this purchase made the account (hasAccessSql).
    ctx.db.run(
      insertPurchaseSql(
        {
          userId: sql`u.id`,
          courseSlug,
          source: 'stripe',
          checkoutSessionId: session.id,
          paymentIntentId,
          amountMinor: session.amount_total ?? 0,
          currency: (session.currency ?? '').toUpperCase(),
          status: 'paid',
          createdUser: sql`u.created_by_checkout IS ${session.id}`,
          requiresVerifiedEmail: !member,
          livemode: session.livemode,
          subtotalMinor: tax.subtotalMinor,
          taxMinor: tax.taxMinor,
          taxCountry: tax.taxCountry,
          buyerTaxIds: tax.taxIds,
          invoiceId: tax.invoiceId,
          invoiceUrl: invoice.url,
          invoicePdfUrl: invoice.pdf,
          consentGiven: tax.consentGiven,
          createdAt: now,
        },
        owner,
        sql` ON CONFLICT(checkout_session_id) DO NOTHING`,
      ),
    ),
    ctx.db.run(
      appendLedgerSql({
        purchaseId,
        userId: sql`(SELECT user_id FROM purchases WHERE checkout_session_id = ${session.id})`,
        courseSlug,
        action: 'grant',
        reason: 'purchase',
        stripeObjectId: session.id,
        stripeEventId: cause.eventId ?? null,
        note: cause.via === 'reconcile' ? 'recorded by reconcile' : null,
        now,
      }),
    ),
  ] as const;
  const results = await ctx.db.batch(statements as unknown as Parameters<typeof ctx.db.batch>[0]);
  const created = rowsAffected(results[member ? 0 : 1]) > 0;
  const purchase = await ctx.db.select().from(purchases).where(eq(purchases.checkoutSessionId, session.id)).get();
  if (!purchase) throw new Error(`Checkout Session ${checkoutRef(session.id)} was not recorded.`);

  if (created) {
    ctx.log.info('purchase.recorded', {
      purchaseId: purchase.id,
      userId: purchase.userId,
      course: courseSlug,
      session: checkoutRef(session.id),
      amount: purchase.amountMinor,
      currency: purchase.currency,
      via: cause.via,
    });
    // Only the caller whose write created the purchase gets here, so each email leaves once however
    // many webhooks and success pages race.
    await mailPurchase(ctx, client, purchase, session, now);
    // A refund or dispute may have happened before this purchase was recorded.
    if (paymentIntentId) await syncPayment(ctx, client, paymentIntentId, cause);
  }
  return { kind: 'fulfilled', created, purchase, session };
}

/**
 * The invoice's hosted page and PDF. Stripe finalizes a Checkout invoice with the payment, so the
 * addresses exist by now; if Stripe cannot say right now, the purchase is recorded without them
 * rather than not at all (the buyer's email from Stripe carries them too).
 */
async function invoiceAddresses(stripe: Stripe, invoiceId: string): Promise<{ url: string | null; pdf: string | null }> {
  try {
    const invoice = await stripe.invoices.retrieve(invoiceId);
    return { url: invoice.hosted_invoice_url ?? null, pdf: invoice.invoice_pdf ?? null };
  } catch {
    return { url: null, pdf: null };
  }
}

async function delayedPaymentFailed(stripe: Stripe, session: Stripe.Checkout.Session): Promise<boolean> {
  const id = stripeId(session.payment_intent);
  if (!id) return false;
  const intent = await stripe.paymentIntents.retrieve(id);
  return intent.status === 'canceled' || intent.status === 'requires_payment_method';
}

/**
 * The buyer's email (with the set-password link when the purchase made their account) and the
 * author's notification. A mail problem is logged, never undoes or fails the purchase.
 */
async function mailPurchase(ctx: AppContext, client: Pick<Client, 'waitUntil'>, purchase: Purchase, session: Stripe.Checkout.Session, now: number) {
  try {
    const [user, course] = await Promise.all([
      ctx.db.select({ email: users.email, passwordHash: users.passwordHash }).from(users).where(eq(users.id, purchase.userId)).get(),
      ctx.db.select({ title: courses.title, firstLessonSlug: courses.firstLessonSlug }).from(courses).where(eq(courses.slug, purchase.courseSlug)).get(),
    ]);
    if (!user) return;
    const site = ctx.config.siteUrl;
    const siteName = await siteNameOf(ctx);
    const number = orderNumber(site, purchase.id);
    const courseTitle = course?.title ?? purchase.courseSlug;
    const startPath = course?.firstLessonSlug ? `/courses/${purchase.courseSlug}/${course.firstLessonSlug}/` : `/courses/${purchase.courseSlug}/`;
    const charge: ChargedAmount = {
      amountMinor: purchase.amountMinor,
      discountMinor: session.total_details?.amount_discount ?? 0,
      currency: purchase.currency,
    };
    const newAccount = purchase.createdUser && user.passwordHash === null;
    const setPassword = newAccount
      ? {
          url: new URL(`/reset?token=${await issueToken(ctx.db, purchase.userId, 'reset', now, SET_PASSWORD_LINK_MS)}&welcome=1`, site).href,
          days: SET_PASSWORD_LINK_MS / 86_400_000,
        }
      : null;
    sendAfterResponse(
      ctx,
      client,
      purchaseMessage({
        t: await messagesOf(ctx),
        to: user.email,
        siteName,
        courseTitle,
        orderNumber: number,
        startUrl: new URL(startPath, site).href,
        loginUrl: new URL('/login', site).href,
        charge,
        setPassword,
      }),
      { userId: purchase.userId, purpose: setPassword ? 'purchase+set-password' : 'purchase', cause: 'payment' },
    );
    if (!ctx.config.authorEmail) return;
    sendAfterResponse(
      ctx,
      client,
      saleNotificationMessage({
        t: await messagesOf(ctx),
        to: ctx.config.authorEmail,
        siteName,
        buyerEmail: user.email,
        courseTitle,
        courseSlug: purchase.courseSlug,
        orderNumber: number,
        charge,
        promotionCode: await promotionCodeOf(ctx, session),
        newAccount,
        memberUrl: new URL(`/admin/members/${purchase.userId}`, site).href,
      }),
      { userId: purchase.userId, purpose: 'sale-notification', cause: 'payment' },
    );
  } catch (error) {
    ctx.log.error('mail.purchase-failed', { purchaseId: purchase.id, error: String(error) });
  }
}

/** The code the buyer typed, for the author; null when none (or Stripe cannot say right now). */
async function promotionCodeOf(ctx: AppContext, session: Stripe.Checkout.Session): Promise<string | null> {
  const id = stripeId(session.discounts?.find((discount) => discount.promotion_code)?.promotion_code ?? null);
  if (!id || !ctx.stripe) return null;
  try {
    return (await ctx.stripe.promotionCodes.retrieve(id)).code;
  } catch {
    return null;
  }
}

/** What Stripe says the money of a payment did, and the access that follows from it. */
export type PaymentState = {
  amountRefundedMinor: number;
  status: 'paid' | 'partially_refunded' | 'refunded' | 'disputed' | 'dispute_won' | 'dispute_lost';
  access: Exclude<AccessState, 'none'>;
  /** The Stripe object that decided the state (a charge, a refund or a dispute), for the ledger. */
  objectId: string;
  reason: 'refund' | 'refund_failed' | 'refund_canceled' | 'dispute_created' | 'dispute_won' | 'dispute_lost' | 'paid';
};

/** A dispute that took the money back (a chargeback), as opposed to an inquiry (`warning_*`). */
const CHARGEBACK_OPEN = new Set(['needs_response', 'under_review']);

/**
 * A full refund or a lost dispute takes access away; an open chargeback suspends it; a partial
 * refund is recorded and keeps it. Refunded is what the refunds that did not fail or get
 * cancelled add up to: a refund that fails later gives the money back to the author, and the
 * access back to the buyer (so does a lost dispute won on appeal). An inquiry (`warning_*`) asks
 * questions and moves no money: it changes nothing (docs/payments.md).
 */
export function paymentStateOf(charge: Stripe.Charge, disputes: Stripe.Dispute[], refunds: Stripe.Refund[]): PaymentState {
  const given = refunds.filter((refund) => refund.status !== 'failed' && refund.status !== 'canceled');
  const refunded = given.reduce((sum, refund) => sum + refund.amount, 0);
  const undone = refunds.find((refund) => refund.status === 'failed' || refund.status === 'canceled');
  const lost = disputes.find((dispute) => dispute.status === 'lost');
  const open = disputes.find((dispute) => CHARGEBACK_OPEN.has(dispute.status));
  const won = disputes.find((dispute) => dispute.status === 'won');
  const kept = refunded > 0 ? 'partially_refunded' : null;
  if (charge.amount > 0 && refunded >= charge.amount) {
    return { amountRefundedMinor: refunded, status: 'refunded', access: 'revoked', objectId: given[0]?.id ?? charge.id, reason: 'refund' };
  }
  if (lost) return { amountRefundedMinor: refunded, status: 'dispute_lost', access: 'revoked', objectId: lost.id, reason: 'dispute_lost' };
  if (open) return { amountRefundedMinor: refunded, status: 'disputed', access: 'suspended', objectId: open.id, reason: 'dispute_created' };
  if (won) return { amountRefundedMinor: refunded, status: kept ?? 'dispute_won', access: 'active', objectId: won.id, reason: 'dispute_won' };
  if (undone) {
    return {
      amountRefundedMinor: refunded,
      status: kept ?? 'paid',
      access: 'active',
      objectId: undone.id,
      reason: undone.status === 'failed' ? 'refund_failed' : 'refund_canceled',
    };
  }
  return { amountRefundedMinor: refunded, status: kept ?? 'paid', access: 'active', objectId: charge.id, reason: refunded > 0 ? 'refund' : 'paid' };
}

async function readPaymentState(stripe: Stripe, paymentIntentId: string): Promise<PaymentState | null> {
  const intent = await stripe.paymentIntents.retrieve(paymentIntentId, { expand: ['latest_charge'] });
  const charge = intent.latest_charge;
  if (!charge || typeof charge === 'string') return null;
  const [disputes, refunds] = await Promise.all([
    stripe.disputes.list({ payment_intent: paymentIntentId, limit: 100 }),
    stripe.refunds.list({ payment_intent: paymentIntentId, limit: 100 }),
  ]);
  return paymentStateOf(charge, disputes.data, refunds.data);
}

/**
 * The events that say a payment's money moved after the purchase (syncPayment re-reads it):
 * refunds, also one that fails or is cancelled later, and disputes, also a lost one won on appeal.
 */
export const PAYMENT_CHANGE_EVENTS = [
  'charge.refunded',
  'charge.refund.updated',
  'refund.updated',
  'refund.failed',
  'charge.dispute.created',
  'charge.dispute.updated',
  'charge.dispute.closed',
  'charge.dispute.funds_reinstated',
] as const;

export type SyncChange = { purchaseId: number; userId: number; courseSlug: string; actions: AccessAction[]; status: string };

/**
 * Brings the purchases paid by a PaymentIntent in line with Stripe (refunds, disputes). When the
 * store does not know the payment yet (a refund event before the completion event), the session is
 * fulfilled first. Returns what changed.
 */
export async function syncPayment(ctx: AppContext, client: Pick<Client, 'waitUntil'>, paymentIntentId: string, cause: Cause): Promise<SyncChange[]> {
  const stripe = requireStripe(ctx);
  let rows = await ctx.db.select().from(purchases).where(eq(purchases.paymentIntentId, paymentIntentId)).all();
  if (rows.length === 0) {
    const sessions = await stripe.checkout.sessions.list({ payment_intent: paymentIntentId, limit: 10 });
    for (const session of sessions.data) {
      // fulfilCheckout syncs the payment itself when it records a new purchase.
      if (courseOfSession(session, ctx.config.stripe!.siteId)) await fulfilCheckout(ctx, client, session.id, cause);
    }
    return [];
  }

  const changes: SyncChange[] = [];
  // A writer that read Stripe before a newer event may append a stale step after the newer one
  // was applied; reading Stripe again after each write and repeating until nothing changes makes
  // the last writer converge on Stripe's current state.
  for (let round = 0; round < 4; round += 1) {
    let state: PaymentState | null;
    try {
      state = await readPaymentState(stripe, paymentIntentId);
    } catch (error) {
      if (isStripeMissing(error)) return changes;
      throw error;
    }
    if (!state) return changes;
    let wrote = false;
    for (const purchase of rows) {
      const current = await getAccessState(ctx.db, purchase.id);
      const actions = transitionsTo(current, state.access);
      const moneyChanged = purchase.amountRefundedMinor !== state.amountRefundedMinor || purchase.status !== state.status;
      if (actions.length === 0 && !moneyChanged) continue;
      const now = ctx.clock.now();
      const results = await ctx.db.batch([
        ctx.db
          .update(purchases)
          .set({ amountRefundedMinor: state.amountRefundedMinor, status: state.status, updatedAt: now })
          .where(eq(purchases.id, purchase.id)),
        ...actions.map((action) =>
          ctx.db.run(
            appendLedgerSql({
              purchaseId: purchase.id,
              userId: purchase.userId,
              courseSlug: purchase.courseSlug,
              action,
              reason: action === 'grant' ? 'purchase' : state.reason,
              stripeObjectId: state.objectId,
              stripeEventId: cause.eventId ?? null,
              note: cause.via === 'reconcile' ? 'applied by reconcile' : null,
              now,
            }),
          ),
        ),
      ] as unknown as Parameters<typeof ctx.db.batch>[0]);
      const applied = actions.filter((_, index) => rowsAffected(results[index + 1]) > 0);
      wrote ||= applied.length > 0 || moneyChanged;
      if (applied.length > 0 || moneyChanged) {
        changes.push({ purchaseId: purchase.id, userId: purchase.userId, courseSlug: purchase.courseSlug, actions: applied, status: state.status });
        ctx.log.info('purchase.changed', {
          purchaseId: purchase.id,
          course: purchase.courseSlug,
          status: state.status,
          actions: applied,
          cause: state.reason,
          via: cause.via,
        });
      }
    }
    if (!wrote) break;
    rows = await ctx.db.select().from(purchases).where(eq(purchases.paymentIntentId, paymentIntentId)).all();
  }
  await syncCreditNotes(ctx, stripe, rows);
  return changes;
}

/**
 * The credit notes of an invoiced purchase (a refund on paper, which Stripe issues with a refund
 * of an invoice's payment), kept with the purchase for its buyer's /account/purchases. Read again
 * with every change of the payment; a failure to read them changes nothing and is retried then.
 */
async function syncCreditNotes(ctx: AppContext, stripe: Stripe, rows: Purchase[]): Promise<void> {
  for (const purchase of rows) {
    if (!purchase.invoiceId) continue;
    let notes: Stripe.CreditNote[];
    try {
      notes = (await stripe.creditNotes.list({ invoice: purchase.invoiceId, limit: 100 })).data;
    } catch (error) {
      ctx.log.warn('purchase.credit-notes-unread', { purchaseId: purchase.id, error: String(error) });
      continue;
    }
    const kept = notes
      .filter((note) => note.status !== 'void')
      .sort((a, b) => a.created - b.created)
      .map((note) => ({ id: note.id, number: note.number, amountMinor: note.total, pdf: note.pdf }));
    const json = kept.length ? JSON.stringify(kept) : null;
    if (json !== purchase.creditNotes)
      await ctx.db.update(purchases).set({ creditNotes: json, updatedAt: ctx.clock.now() }).where(eq(purchases.id, purchase.id));
  }
}
