// Everything the stand-in remembers, in one plain object every module is handed: the Stripe
// objects it has made (saved to the state file after each change, so a restart keeps the demo's
// purchases) and, in memory only, its webhook settings, the delivery and request logs and the
// idempotency keys. The objects' shapes are Stripe's, down to the fields the site never reads,
// because the SDK and the site must not be able to tell the stand-in from Stripe.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Json, Metadata } from './params.ts';

// The version the installed stripe SDK (v23) pins; events carry it like a webhook endpoint's version.
export const DEFAULT_API_VERSION = '2026-10-28.endive';

export interface StandinOptions {
  port?: number; // 0 picks a free port
  host?: string;
  publicUrl?: string; // base of hosted-page URLs when it differs from the listen address
  webhookUrls?: string[];
  webhookSecret?: string;
  statePath?: string;
  apiVersion?: string;
  webhookTimeoutMs?: number;
  now?: () => number; // clock in ms; lets tests move time to expire sessions
  log?: (line: string) => void;
  /** Promotion codes made at start (and again after a reset) unless one with that code exists. */
  promotionCodes?: SeedPromotionCode[];
}

/** A coupon and its customer-facing code in one, for seeding a demo. */
export interface SeedPromotionCode {
  code: string;
  percent_off?: number;
  amount_off?: number;
  currency?: string;
  max_redemptions?: number;
}

// ---------------------------------------------------------------- the objects

export interface CheckoutSession extends Json {
  id: string;
  object: 'checkout.session';
  amount_subtotal: number;
  amount_total: number;
  cancel_url: string | null;
  client_reference_id: string | null;
  created: number;
  currency: string;
  customer: string | null;
  customer_creation: string | null;
  customer_details: Json | null;
  customer_email: string | null;
  expires_at: number;
  metadata: Metadata;
  payment_intent: string | null;
  payment_status: 'paid' | 'unpaid' | 'no_payment_required';
  status: 'open' | 'complete' | 'expired';
  success_url: string | null;
  url: string | null;
}

export interface LineItem extends Json {
  id: string;
  object: 'item';
  amount_total: number;
  currency: string;
  description: string;
  quantity: number;
  price: Json & { id: string; unit_amount: number; product: string };
}

export interface PaymentIntent extends Json {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_received: number;
  currency: string;
  customer: string | null;
  latest_charge: string | null;
  last_payment_error: Json | null;
  metadata: Metadata;
  status: string;
}

export interface Charge extends Json {
  id: string;
  object: 'charge';
  amount: number;
  amount_refunded: number;
  currency: string;
  disputed: boolean;
  paid: boolean;
  payment_intent: string;
  refunded: boolean;
  status: 'succeeded' | 'pending' | 'failed';
  failure_code: string | null;
  failure_message: string | null;
}

export interface Refund extends Json {
  id: string;
  object: 'refund';
  amount: number;
  charge: string;
  payment_intent: string;
  status: 'pending' | 'requires_action' | 'succeeded' | 'failed' | 'canceled';
  failure_reason?: string | null;
}

export interface Coupon extends Json {
  id: string;
  object: 'coupon';
  amount_off: number | null;
  currency: string | null;
  percent_off: number | null;
  max_redemptions: number | null;
  redeem_by: number | null;
  times_redeemed: number;
  valid: boolean;
}

export interface PromotionCode extends Json {
  id: string;
  object: 'promotion_code';
  active: boolean;
  code: string;
  expires_at: number | null;
  max_redemptions: number | null;
  promotion: { type: 'coupon'; coupon: string };
  times_redeemed: number;
}

export interface Dispute extends Json {
  id: string;
  object: 'dispute';
  amount: number;
  charge: string;
  payment_intent: string;
  status: string;
}

export type Customer = Json & { id: string; email: string | null };

export interface StripeEvent extends Json {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  data: { object: Json; previous_attributes?: Json };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}

/** What a session's `payment_intent_data` asks of the PaymentIntent made when it is paid. */
export interface IntentData {
  metadata: Metadata;
  description: string | null;
  receipt_email: string | null;
  statement_descriptor: string | null;
  statement_descriptor_suffix: string | null;
}

/** What the state file holds. */
interface State {
  version: 1;
  seq: number;
  order: Record<string, number>; // creation sequence: newest-first ordering must not depend on same-second ties
  sessions: Record<string, CheckoutSession>;
  lineItems: Record<string, LineItem[]>;
  intentData: Record<string, IntentData>;
  products: Record<string, Json & { id: string }>;
  customers: Record<string, Customer>;
  paymentIntents: Record<string, PaymentIntent>;
  charges: Record<string, Charge>;
  refunds: Record<string, Refund>;
  disputes: Record<string, Dispute>;
  coupons: Record<string, Coupon>;
  promotionCodes: Record<string, PromotionCode>;
  events: Record<string, StripeEvent>;
  invoices: Record<string, Json & { id: string }>;
  creditNotes: Record<string, Json & { id: string }>;
  acked: Record<string, string[]>; // event id -> webhook urls that answered 2xx
}

function emptyState(): State {
  return {
    version: 1,
    seq: 0,
    order: {},
    sessions: {},
    lineItems: {},
    intentData: {},
    products: {},
    customers: {},
    paymentIntents: {},
    charges: {},
    refunds: {},
    disputes: {},
    coupons: {},
    promotionCodes: {},
    events: {},
    invoices: {},
    creditNotes: {},
    acked: {},
  };
}

// ---------------------------------------------------------------- what is kept in memory only

export interface Delivery {
  id: string;
  event_id: string;
  event_type: string;
  url: string;
  status: number | null; // null when the connection failed or timed out
  ok: boolean;
  ms: number;
  error: string | null;
  response_body: string | null;
  attempted_at: number; // unix ms
  redelivery: boolean;
}

/** One call to the `/v1` API, as the control API lists them (tests count Stripe calls). */
export interface ApiRequest {
  method: string;
  path: string;
  status: number;
  at: number; // unix ms
}

/** A POST's first answer, replayed for a repeat of its idempotency key. */
export interface IdempotentAnswer {
  fingerprint: string;
  status: number;
  body: unknown;
  requestId: string;
  at: number;
}

/** Who asked for a change over the API; events name the request that caused them, as Stripe's do. */
export interface RequestContext {
  requestId: string | null;
  idempotencyKey: string | null;
}
export const NO_REQUEST: RequestContext = { requestId: null, idempotencyKey: null };

export interface Standin {
  state: State;
  readonly statePath: string | undefined;
  readonly clock: () => number;
  readonly apiVersion: string;
  readonly seedCodes: SeedPromotionCode[];
  readonly log: (line: string) => void;
  /** Where a browser reaches the hosted pages; known once the server listens. */
  baseUrl: string;
  // webhooks.ts: where events go, whether they go at all, and what became of each attempt
  readonly secret: string | undefined;
  readonly timeoutMs: number;
  readonly initialWebhookUrls: string[];
  webhookUrls: string[];
  deliver: boolean;
  deliveryLog: Delivery[];
  inflight: Set<Promise<unknown>>;
  // rest.ts: the calls answered, and the idempotency keys seen
  requestLog: ApiRequest[];
  idempotency: Map<string, IdempotentAnswer>;
}

/** The stand-in as it starts: its options checked, its state file read. */
export function openStandin(o: StandinOptions): Standin {
  const webhookUrls = [...(o.webhookUrls ?? [])];
  if (webhookUrls.length > 0 && !o.webhookSecret) throw new Error('webhook URLs need a webhook secret (--webhook-secret or STRIPE_WEBHOOK_SECRET)');
  for (const u of webhookUrls) new URL(u); // fail at start, not at the first payment
  const sd: Standin = {
    state: emptyState(),
    statePath: o.statePath,
    clock: o.now ?? Date.now,
    apiVersion: o.apiVersion ?? DEFAULT_API_VERSION,
    seedCodes: o.promotionCodes ?? [],
    log: o.log ?? (() => {}),
    baseUrl: '',
    secret: o.webhookSecret,
    timeoutMs: o.webhookTimeoutMs ?? 5000,
    initialWebhookUrls: [...webhookUrls],
    webhookUrls,
    deliver: true,
    deliveryLog: [],
    inflight: new Set(),
    requestLog: [],
    idempotency: new Map(),
  };
  if (sd.statePath && existsSync(sd.statePath)) {
    try {
      const loaded = JSON.parse(readFileSync(sd.statePath, 'utf8')) as State;
      if (loaded.version !== 1) throw new Error(`unsupported version ${String(loaded.version)}`);
      sd.state = { ...emptyState(), ...loaded };
    } catch (err) {
      throw new Error(`cannot read stand-in state ${sd.statePath}: ${(err as Error).message} (delete it to start fresh)`);
    }
  }
  return sd;
}

/** Forgets every object, log and key, and restores the webhook settings it started with. */
export function forget(sd: Standin): void {
  sd.state = emptyState();
  sd.deliveryLog = [];
  sd.requestLog = [];
  sd.idempotency.clear();
  sd.deliver = true;
  sd.webhookUrls = [...sd.initialWebhookUrls];
}

export function save(sd: Standin): void {
  if (!sd.statePath) return;
  mkdirSync(dirname(sd.statePath), { recursive: true });
  const tmp = `${sd.statePath}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(sd.state));
  renameSync(tmp, sd.statePath); // atomic: a crash mid-write never leaves half a file
}

/** Stripe's clock: unix seconds, from the clock a test may move. */
export const now = (sd: Standin): number => Math.floor(sd.clock() / 1000);

/** Adds a new object to its table, remembering the order it was made in. */
export function track<T extends { id: string }>(sd: Standin, table: Record<string, T>, o: T): T {
  table[o.id] = o;
  sd.state.order[o.id] = ++sd.state.seq;
  return o;
}

export function newestFirst<T extends { id: string }>(sd: Standin, table: Record<string, T>): T[] {
  return Object.values(table).sort((a, b) => (sd.state.order[b.id] ?? 0) - (sd.state.order[a.id] ?? 0));
}

/** Any object by its id, as Stripe's ids say what they are by their prefix. */
export function lookup(sd: Standin, id: string): Json | undefined {
  const s = sd.state;
  const tables: Record<string, Record<string, Json>> = {
    cs_: s.sessions,
    pi_: s.paymentIntents,
    ch_: s.charges,
    re_: s.refunds,
    dp_: s.disputes,
    cus_: s.customers,
    prod_: s.products,
    evt_: s.events,
    promo_: s.promotionCodes,
    in_: s.invoices,
    cn_: s.creditNotes,
  };
  for (const [prefix, table] of Object.entries(tables)) if (id.startsWith(prefix)) return table[id];
  return undefined;
}

/** The logs keep their last entries only, so a long demo does not grow without end. */
export function appendCapped<T>(log: T[], entry: T, cap = 5000): void {
  log.push(entry);
  if (log.length > cap) log.splice(0, log.length - cap);
}

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export function randomId(prefix: string, length = 24): string {
  let out = prefix;
  for (const b of randomBytes(length)) out += ALPHABET.charAt(b % 62);
  return out;
}

/** Objects leave the stand-in as copies, so a later change never alters what was already sent. */
export const clone = <T>(v: T): T => structuredClone(v);
