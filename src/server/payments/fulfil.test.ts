// Refunds and disputes to access, as a table: what Stripe says about a charge (its refunds and
// disputes, each in its status) and what the buyer's access becomes, with the reason the ledger
// records and the Stripe object that decided it.
import type Stripe from 'stripe';
import { describe, expect, test } from 'vitest';
import { paymentStateOf, type PaymentState } from './fulfil.ts';

const charge = { id: 'ch_1', amount: 7900 } as Stripe.Charge;
const refund = (id: string, amount: number, status: string) => ({ id, amount, status }) as Stripe.Refund;
const dispute = (id: string, status: string) => ({ id, status }) as Stripe.Dispute;

type Row = [string, Stripe.Refund[], Stripe.Dispute[], Pick<PaymentState, 'access' | 'status' | 'reason' | 'objectId' | 'amountRefundedMinor'>];

const TABLE: Row[] = [
  ['paid, nothing else', [], [], { access: 'active', status: 'paid', reason: 'paid', objectId: 'ch_1', amountRefundedMinor: 0 }],
  [
    'a full refund',
    [refund('re_1', 7900, 'succeeded')],
    [],
    { access: 'revoked', status: 'refunded', reason: 'refund', objectId: 're_1', amountRefundedMinor: 7900 },
  ],
  [
    'a full refund still pending',
    [refund('re_1', 7900, 'pending')],
    [],
    { access: 'revoked', status: 'refunded', reason: 'refund', objectId: 're_1', amountRefundedMinor: 7900 },
  ],
  [
    'two partial refunds that add up to the whole',
    [refund('re_1', 4000, 'succeeded'), refund('re_2', 3900, 'succeeded')],
    [],
    { access: 'revoked', status: 'refunded', reason: 'refund', objectId: 're_1', amountRefundedMinor: 7900 },
  ],
  [
    'a partial refund keeps access',
    [refund('re_1', 1000, 'succeeded')],
    [],
    { access: 'active', status: 'partially_refunded', reason: 'refund', objectId: 'ch_1', amountRefundedMinor: 1000 },
  ],
  [
    'a full refund that failed gives access back',
    [refund('re_1', 7900, 'failed')],
    [],
    { access: 'active', status: 'paid', reason: 'refund_failed', objectId: 're_1', amountRefundedMinor: 0 },
  ],
  [
    'a full refund that was canceled gives access back',
    [refund('re_1', 7900, 'canceled')],
    [],
    { access: 'active', status: 'paid', reason: 'refund_canceled', objectId: 're_1', amountRefundedMinor: 0 },
  ],
  [
    'an open chargeback suspends',
    [],
    [dispute('dp_1', 'needs_response')],
    { access: 'suspended', status: 'disputed', reason: 'dispute_created', objectId: 'dp_1', amountRefundedMinor: 0 },
  ],
  [
    'a chargeback under review suspends',
    [],
    [dispute('dp_1', 'under_review')],
    { access: 'suspended', status: 'disputed', reason: 'dispute_created', objectId: 'dp_1', amountRefundedMinor: 0 },
  ],
  [
    'an inquiry changes nothing',
    [],
    [dispute('dp_1', 'warning_needs_response')],
    { access: 'active', status: 'paid', reason: 'paid', objectId: 'ch_1', amountRefundedMinor: 0 },
  ],
  [
    'an inquiry under review changes nothing',
    [],
    [dispute('dp_1', 'warning_under_review')],
    { access: 'active', status: 'paid', reason: 'paid', objectId: 'ch_1', amountRefundedMinor: 0 },
  ],
  [
    'a lost dispute revokes',
    [],
    [dispute('dp_1', 'lost')],
    { access: 'revoked', status: 'dispute_lost', reason: 'dispute_lost', objectId: 'dp_1', amountRefundedMinor: 0 },
  ],
  [
    'a won dispute restores',
    [],
    [dispute('dp_1', 'won')],
    { access: 'active', status: 'dispute_won', reason: 'dispute_won', objectId: 'dp_1', amountRefundedMinor: 0 },
  ],
  [
    'a lost dispute outweighs a won one',
    [],
    [dispute('dp_1', 'won'), dispute('dp_2', 'lost')],
    { access: 'revoked', status: 'dispute_lost', reason: 'dispute_lost', objectId: 'dp_2', amountRefundedMinor: 0 },
  ],
  [
    'an open chargeback outweighs a won one',
    [],
    [dispute('dp_1', 'won'), dispute('dp_2', 'needs_response')],
    { access: 'suspended', status: 'disputed', reason: 'dispute_created', objectId: 'dp_2', amountRefundedMinor: 0 },
  ],
  [
    'a full refund outweighs an open chargeback',
    [refund('re_1', 7900, 'succeeded')],
    [dispute('dp_1', 'needs_response')],
    { access: 'revoked', status: 'refunded', reason: 'refund', objectId: 're_1', amountRefundedMinor: 7900 },
  ],
  [
    'a won dispute after a partial refund',
    [refund('re_1', 1000, 'succeeded')],
    [dispute('dp_1', 'won')],
    { access: 'active', status: 'partially_refunded', reason: 'dispute_won', objectId: 'dp_1', amountRefundedMinor: 1000 },
  ],
];

describe('paymentStateOf', () => {
  test.each(TABLE)('%s', (_, refunds, disputes, expected) => {
    expect(paymentStateOf(charge, disputes, refunds)).toEqual(expected);
  });

  test('a free charge is never "refunded in full" by a refund of nothing', () => {
    expect(paymentStateOf({ id: 'ch_0', amount: 0 } as Stripe.Charge, [], []).access).toBe('active');
  });
});
