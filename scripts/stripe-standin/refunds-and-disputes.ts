// Money that comes back: refunds (which may later fail or be cancelled) and disputes (inquiries,
// chargebacks won or lost, a loss reversed on appeal). The site's ledger revokes and restores
// access on these events, so each state must arise, and be refused, exactly as Stripe's does;
// the overview page offers only what these rules allow, by asking them.
import { formatAmount } from './currencies.ts';
import { ApiError, invalid, noSuch, type Metadata } from './params.ts';
import {
  NO_REQUEST,
  now,
  randomId,
  save,
  track,
  type Charge,
  type Dispute,
  type Refund,
  type RequestContext,
  type Standin,
  type StripeEvent,
} from './state.ts';
import { emit } from './webhooks.ts';
import { creditNoteForRefund } from './tax-and-invoices.ts';

const CLOSED = ['won', 'lost', 'warning_closed'];

/** An inquiry: the bank only asks questions and takes no money back yet. */
export const isInquiry = (d: Dispute): boolean => d.status.startsWith('warning_');
export const isClosed = (d: Dispute): boolean => CLOSED.includes(d.status);

export function disputeOf(sd: Standin, charge: Charge): Dispute | undefined {
  return Object.values(sd.state.disputes).find((d) => d.charge === charge.id);
}

/** Finds the charge named by `charge` or `payment_intent` (Stripe's refund and dispute inputs). */
export function chargeFrom(sd: Standin, p: { charge?: string; payment_intent?: string }): Charge {
  let charge: Charge | undefined;
  if (p.charge) {
    charge = sd.state.charges[p.charge];
    if (!charge) throw noSuch('charge', p.charge, 'charge', 400);
  }
  if (p.payment_intent) {
    const pi = sd.state.paymentIntents[p.payment_intent];
    if (!pi) throw noSuch('payment_intent', p.payment_intent, 'payment_intent', 400);
    if (charge && charge.payment_intent !== pi.id) throw invalid('charge', `Charge ${charge.id} does not belong to PaymentIntent ${pi.id}.`);
    charge ??= pi.latest_charge ? sd.state.charges[pi.latest_charge] : undefined;
    if (!charge) throw invalid('payment_intent', `This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, 'charge_not_refundable');
  }
  if (!charge) throw new ApiError(400, 'One of `charge` or `payment_intent` is required.', { code: 'parameter_missing', param: 'payment_intent' });
  return charge;
}

/** Why the charge cannot be refunded now, or null when it can. */
export function refundRefusal(sd: Standin, charge: Charge): ApiError | null {
  if (charge.status !== 'succeeded')
    return invalid('charge', `Charge ${charge.id} has not succeeded (status ${charge.status}), so it cannot be refunded.`, 'charge_not_refundable');
  const dispute = disputeOf(sd, charge);
  // An inquiry takes no money back yet, so the charge may still be refunded (is_charge_refundable).
  if (dispute && dispute.status !== 'won' && !isInquiry(dispute))
    return invalid('charge', `Charge ${charge.id} has been charged back; cannot issue a refund.`, 'charge_disputed');
  if (charge.amount - charge.amount_refunded <= 0) return invalid('charge', `Charge ${charge.id} has already been refunded.`, 'charge_already_refunded');
  return null;
}

/** Why the charge cannot be disputed now, or null when it can. */
export function disputeRefusal(sd: Standin, charge: Charge): ApiError | null {
  if (charge.status !== 'succeeded') return invalid('charge', `Charge ${charge.id} has not succeeded, so it cannot be disputed.`);
  if (disputeOf(sd, charge)) return invalid('charge', `Charge ${charge.id} already has a dispute.`);
  if (charge.amount - charge.amount_refunded <= 0) return invalid('charge', `Charge ${charge.id} is fully refunded; there is nothing left to dispute.`);
  return null;
}

/** Refunds that still move, or moved, money back: failed and canceled ones gave nothing back. */
function refunding(sd: Standin, charge: Charge): number {
  return Object.values(sd.state.refunds)
    .filter((r) => r.charge === charge.id && r.status !== 'failed' && r.status !== 'canceled')
    .reduce((sum, r) => sum + r.amount, 0);
}

export function refund(
  sd: Standin,
  input: { charge?: string; payment_intent?: string; amount?: number; reason?: string; metadata?: Metadata; requiresAction?: boolean; pending?: boolean },
  ctx: RequestContext,
): { refund: Refund; charge: Charge; events: StripeEvent[] } {
  const charge = chargeFrom(sd, input);
  const refused = refundRefusal(sd, charge);
  if (refused) throw refused;
  const remaining = charge.amount - charge.amount_refunded;
  const amount = input.amount ?? remaining;
  if (!Number.isSafeInteger(amount) || amount < 1) throw invalid('amount', `Invalid positive integer: ${amount}`, 'parameter_invalid_integer');
  if (amount > remaining) {
    throw invalid(
      'amount',
      `Refund amount (${formatAmount(amount, charge.currency)}) is greater than unrefunded amount on charge (${formatAmount(remaining, charge.currency)})`,
      'amount_too_large',
    );
  }
  if (input.reason !== undefined && !['duplicate', 'fraudulent', 'requested_by_customer'].includes(input.reason)) {
    throw invalid('reason', `Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer`);
  }
  const t = now(sd);
  const created = track(sd, sd.state.refunds, {
    id: randomId('re_3'),
    object: 'refund',
    amount,
    balance_transaction: randomId('txn_3'),
    charge: charge.id,
    created: t,
    currency: charge.currency,
    destination_details: { type: 'card', card: { reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' } },
    metadata: input.metadata ?? {},
    payment_intent: charge.payment_intent,
    reason: input.reason ?? null,
    receipt_number: null,
    source_transfer_reversal: null,
    status: input.requiresAction ? 'requires_action' : input.pending ? 'pending' : 'succeeded',
    transfer_reversal: null,
    failure_reason: null,
  } satisfies Refund);
  const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
  charge.amount_refunded += amount;
  charge.refunded = charge.amount_refunded >= charge.amount;
  const note = creditNoteForRefund(sd, charge.payment_intent, created);
  const events = [
    emit(sd, 'charge.refunded', charge, ctx, previous),
    emit(sd, 'refund.created', created, ctx),
    ...(note ? [emit(sd, 'credit_note.created', note, ctx)] : []),
  ];
  save(sd);
  return { refund: created, charge, events };
}

/**
 * A refund that ends without moving money (`failed`: the card was closed, the bank refused it;
 * `canceled`: cancelled while it waited for the customer). As Stripe does, the charge's
 * `amount_refunded` goes back down and the charge may be refunded again.
 */
export function endRefund(
  sd: Standin,
  id: string,
  status: 'failed' | 'canceled',
  ctx: RequestContext,
  failureReason?: string,
): { refund: Refund; charge: Charge; events: StripeEvent[] } {
  const found = sd.state.refunds[id];
  if (!found) throw noSuch('refund', id, 'id');
  if (status === 'canceled' && found.status !== 'requires_action') {
    throw invalid('refund', `You can only cancel refunds with a status of requires_action. This refund has status ${found.status}.`);
  }
  if (status === 'failed' && found.status !== 'succeeded' && found.status !== 'pending' && found.status !== 'requires_action') {
    throw invalid('refund', `Refund ${id} has status ${found.status}; only a pending or succeeded refund can fail.`);
  }
  if (failureReason !== undefined && !['expired_or_canceled_card', 'lost_or_stolen_card', 'declined', 'unknown'].includes(failureReason)) {
    throw invalid('failure_reason', 'Invalid failure_reason: must be one of expired_or_canceled_card, lost_or_stolen_card, declined or unknown');
  }
  const previous = { status: found.status };
  found.status = status;
  if (status === 'failed') found.failure_reason = failureReason ?? 'expired_or_canceled_card';
  const charge = sd.state.charges[found.charge]!;
  charge.amount_refunded = refunding(sd, charge);
  charge.refunded = charge.amount_refunded >= charge.amount;
  const events = [emit(sd, 'charge.refund.updated', found, ctx, previous), emit(sd, 'refund.updated', found, ctx, previous)];
  if (status === 'failed') events.push(emit(sd, 'refund.failed', found, ctx));
  save(sd);
  return { refund: found, charge, events };
}

/** `inquiry`: the bank only asks questions (no money taken back yet), Stripe's `warning_needs_response`. */
export function openDispute(
  sd: Standin,
  input: { charge?: string; payment_intent?: string; reason?: string; inquiry?: boolean },
): { dispute: Dispute; charge: Charge; events: StripeEvent[] } {
  const charge = chargeFrom(sd, input);
  const refused = disputeRefusal(sd, charge);
  if (refused) throw refused;
  const amount = charge.amount - charge.amount_refunded;
  const t = now(sd);
  const dispute = track(sd, sd.state.disputes, {
    id: randomId('dp_1'),
    object: 'dispute',
    amount,
    balance_transactions: [],
    charge: charge.id,
    created: t,
    currency: charge.currency,
    evidence: {},
    evidence_details: { due_by: t + 7 * 86400, has_evidence: false, past_due: false, submission_count: 0 },
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: charge.payment_intent,
    reason: input.reason ?? 'fraudulent',
    status: input.inquiry ? 'warning_needs_response' : 'needs_response',
  } satisfies Dispute);
  charge.disputed = true;
  const events = [emit(sd, 'charge.dispute.created', dispute, NO_REQUEST)];
  save(sd);
  return { dispute, charge, events };
}

export function closeDispute(sd: Standin, id: string, outcome: string): { dispute: Dispute; charge: Charge; events: StripeEvent[] } {
  if (outcome !== 'won' && outcome !== 'lost' && outcome !== 'warning_closed') throw invalid('outcome', "outcome must be 'won', 'lost' or 'warning_closed'");
  const dispute = sd.state.disputes[id];
  if (!dispute) throw noSuch('dispute', id, 'id');
  if (isClosed(dispute)) throw invalid('id', `Dispute ${id} is already closed (${dispute.status}).`);
  // An inquiry ends as warning_closed; only a chargeback is won or lost.
  if ((outcome === 'warning_closed') !== isInquiry(dispute)) {
    throw invalid(
      'outcome',
      isInquiry(dispute) ? `Dispute ${id} is an inquiry: it closes as warning_closed.` : `Dispute ${id} is a chargeback: it closes as won or lost.`,
    );
  }
  const previous = { status: dispute.status };
  dispute.status = outcome;
  dispute.is_charge_refundable = outcome === 'won';
  // As in Stripe, a lost dispute leaves amount_refunded alone: the money went back through the
  // chargeback, `disputed` stays true and further refunds are refused (charge_disputed).
  const charge = sd.state.charges[dispute.charge]!;
  const events = [emit(sd, 'charge.dispute.closed', dispute, NO_REQUEST, previous)];
  save(sd);
  return { dispute, charge, events };
}

/**
 * A lost dispute that the card network later decides for the merchant (pre-arbitration, an
 * appeal): Stripe marks it won and reinstates the funds. Only a lost dispute can be reversed.
 */
export function reverseDispute(sd: Standin, id: string): { dispute: Dispute; charge: Charge; events: StripeEvent[] } {
  const dispute = sd.state.disputes[id];
  if (!dispute) throw noSuch('dispute', id, 'id');
  if (dispute.status !== 'lost') throw invalid('id', `Dispute ${id} is ${dispute.status}; only a lost dispute can be reversed.`);
  const previous = { status: dispute.status };
  dispute.status = 'won';
  dispute.is_charge_refundable = true;
  const charge = sd.state.charges[dispute.charge]!;
  const events = [emit(sd, 'charge.dispute.updated', dispute, NO_REQUEST, previous), emit(sd, 'charge.dispute.funds_reinstated', dispute, NO_REQUEST)];
  save(sd);
  return { dispute, charge, events };
}
