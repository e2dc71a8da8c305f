/**
 * Stripe stand-in: a local process that speaks the slice of Stripe's REST API
 * this site uses, so the unmodified `stripe` SDK (pointed at it through
 * `host`/`port`/`protocol`) can run checkout, webhooks, refunds and disputes
 * offline and deterministically. Also serves a hosted checkout page, a small
 * index page for people running the demo, and a `/_standin/` control API for
 * tests. See docs/stripe-standin.md.
 *
 * Only node:* built-ins are used so the file runs with plain `node` (type
 * stripping) before `npm install` has anything to do with it.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { readNodeEnv } from '../src/node/env.ts';

// The version the installed stripe SDK (v23) pins; events carry it like a webhook endpoint's version.
export const DEFAULT_API_VERSION = '2026-10-28.endive';
export const DEFAULT_PORT = 12111;

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

/** What `npm start`'s demo offers at checkout (documented in docs/stripe-standin.md). */
export const DEMO_PROMOTION_CODES: SeedPromotionCode[] = [{ code: 'LAUNCH20', percent_off: 20 }];

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

export interface StripeStandin {
  url: string;
  port: number;
  host: string;
  webhookSecret: string | undefined;
  deliveries(): Delivery[];
  events(): StripeEvent[];
  setDeliver(deliver: boolean): void;
  /** Resolves once webhook deliveries started in the background (after API calls) have finished. */
  idle(): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- objects

type Json = Record<string, unknown>;
type Metadata = Record<string, string>;

interface CheckoutSession extends Json {
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

interface LineItem extends Json {
  id: string;
  object: 'item';
  amount_total: number;
  currency: string;
  description: string;
  quantity: number;
  price: Json & { id: string; unit_amount: number; product: string };
}

interface PaymentIntent extends Json {
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

interface Charge extends Json {
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

interface Refund extends Json {
  id: string;
  object: 'refund';
  amount: number;
  charge: string;
  payment_intent: string;
  status: 'pending' | 'requires_action' | 'succeeded' | 'failed' | 'canceled';
  failure_reason?: string | null;
}

/** One call to the `/v1` API, as the control API lists them (tests count Stripe calls). */
export interface ApiRequest {
  method: string;
  path: string;
  status: number;
  at: number; // unix ms
}

interface Coupon extends Json {
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

interface PromotionCode extends Json {
  id: string;
  object: 'promotion_code';
  active: boolean;
  code: string;
  expires_at: number | null;
  max_redemptions: number | null;
  promotion: { type: 'coupon'; coupon: string };
  times_redeemed: number;
}

interface Dispute extends Json {
  id: string;
  object: 'dispute';
  amount: number;
  charge: string;
  payment_intent: string;
  status: string;
}

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

interface IntentData {
  metadata: Metadata;
  description: string | null;
  receipt_email: string | null;
  statement_descriptor: string | null;
  statement_descriptor_suffix: string | null;
}

interface State {
  version: 1;
  seq: number;
  order: Record<string, number>; // creation sequence: newest-first ordering must not depend on same-second ties
  sessions: Record<string, CheckoutSession>;
  lineItems: Record<string, LineItem[]>;
  intentData: Record<string, IntentData>;
  products: Record<string, Json & { id: string }>;
  customers: Record<string, Json & { id: string; email: string | null }>;
  paymentIntents: Record<string, PaymentIntent>;
  charges: Record<string, Charge>;
  refunds: Record<string, Refund>;
  disputes: Record<string, Dispute>;
  coupons: Record<string, Coupon>;
  promotionCodes: Record<string, PromotionCode>;
  events: Record<string, StripeEvent>;
  acked: Record<string, string[]>; // event id -> webhook urls that answered 2xx
}

function emptyState(): State {
  return {
    version: 1, seq: 0, order: {}, sessions: {}, lineItems: {}, intentData: {}, products: {}, customers: {},
    paymentIntents: {}, charges: {}, refunds: {}, disputes: {}, coupons: {}, promotionCodes: {}, events: {}, acked: {},
  };
}

// ---------------------------------------------------------------- helpers

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
function randomId(prefix: string, length = 24): string {
  let out = prefix;
  for (const b of randomBytes(length)) out += ALPHABET.charAt(b % 62);
  return out;
}

const ZERO_DECIMAL = new Set('bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf'.split(' '));
const THREE_DECIMAL = new Set('bhd jod kwd omr tnd'.split(' '));
const CURRENCIES = new Set(`usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd
  bwp byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd
  hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd
  mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf
  sar sbd scr sek sgd shp sle sos srd std szl thb tjs tnd top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd
  xof xpf yer zar zmw`.split(/\s+/));
// Stripe refuses Checkout totals below these (minor units); a mispriced course should fail here as it would live.
const MIN_TOTAL: Record<string, number> = {
  usd: 50, eur: 50, gbp: 30, cad: 50, aud: 50, nzd: 50, chf: 50, sgd: 50, brl: 50, inr: 50, jpy: 50,
  hkd: 400, dkk: 250, nok: 300, sek: 300, pln: 200, czk: 1500, huf: 17500, mxn: 1000, ron: 200, aed: 200,
};

function minorExponent(currency: string): number {
  return ZERO_DECIMAL.has(currency) ? 0 : THREE_DECIMAL.has(currency) ? 3 : 2;
}

/** Formats an amount in minor units (Stripe's convention) for display. */
export function formatAmount(amount: number, currency: string): string {
  const exp = minorExponent(currency);
  const major = amount / 10 ** exp;
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase(), maximumFractionDigits: exp }).format(major);
  } catch {
    return `${major.toFixed(exp)} ${currency.toUpperCase()}`;
  }
}

/** "12.5" in major units -> minor units, without floating point. */
function parseMajorAmount(text: string, currency: string): number | null {
  const exp = minorExponent(currency);
  const m = /^(\d+)(?:[.,](\d+))?$/.exec(text.trim());
  if (!m || (m[2] ?? '').length > exp) return null;
  return Number(m[1]) * 10 ** exp + Number((m[2] ?? '').padEnd(exp, '0') || '0');
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const clone = <T>(v: T): T => structuredClone(v);

function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Json;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

// ---------------------------------------------------------------- params and errors

type Param = string | Param[] | ParamObject;
interface ParamObject { [key: string]: Param }

class ApiError extends Error {
  status: number;
  type: string;
  code: string | undefined;
  param: string | undefined;
  constructor(status: number, message: string, extra: { type?: string; code?: string; param?: string } = {}) {
    super(message);
    this.status = status;
    this.type = extra.type ?? 'invalid_request_error';
    this.code = extra.code;
    this.param = extra.param;
  }
}

const missing = (param: string) => new ApiError(400, `Missing required param: ${param}.`, { code: 'parameter_missing', param });
const noSuch = (kind: string, id: string, param: string, status = 404) =>
  new ApiError(status, `No such ${kind}: '${id}'`, { code: 'resource_missing', param });
const invalid = (param: string, message: string, code?: string) => new ApiError(400, message, { param, code });
const sub = (prefix: string, key: string | number) => (prefix ? `${prefix}[${key}]` : String(key));

/** Stripe's bracket notation (`a[b][0][c]=x`, `expand[]=y`) into nested objects and arrays. */
function parseBracketParams(search: URLSearchParams): ParamObject {
  const root: Record<string, any> = {};
  for (const [rawKey, value] of search) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    const path = m ? [m[1]!, ...[...m[2]!.matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1]!)] : [rawKey];
    let node = root;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i] === '' ? String(Object.keys(node).length) : path[i]!;
      if (i === path.length - 1) node[seg] = value;
      else {
        if (typeof node[seg] !== 'object' || node[seg] === null) node[seg] = {};
        node = node[seg];
      }
    }
  }
  const arrayify = (v: any, key: string): Param => {
    if (typeof v === 'string') return v;
    const out: ParamObject = {};
    for (const k of Object.keys(v)) out[k] = arrayify(v[k], k);
    const keys = Object.keys(out);
    // metadata keys may legitimately be digits; everything else with index keys is an array
    if (key !== 'metadata' && keys.length > 0 && keys.every((k) => /^(0|[1-9]\d*)$/.test(k))) {
      return keys.map(Number).sort((a, b) => a - b).map((n) => out[String(n)]!);
    }
    return out;
  };
  return arrayify(root, '') as ParamObject;
}

const isObj = (v: Param | undefined): v is ParamObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function allowOnly(p: ParamObject, allowed: readonly string[], prefix = ''): void {
  for (const key of Object.keys(p)) {
    if (!allowed.includes(key)) throw new ApiError(400, `Received unknown parameter: ${sub(prefix, key)}`, { code: 'parameter_unknown', param: sub(prefix, key) });
  }
}

function str(p: ParamObject, key: string, prefix = '', required = false): string | undefined {
  const v = p[key];
  if (v === undefined || v === '') {
    if (required) throw missing(sub(prefix, key));
    return undefined;
  }
  if (typeof v !== 'string') throw invalid(sub(prefix, key), `Invalid string: ${sub(prefix, key)} must be a string.`);
  return v;
}

function int(p: ParamObject, key: string, prefix = '', min?: 0 | 1): number | undefined {
  const raw = str(p, key, prefix);
  if (raw === undefined) return undefined;
  const param = sub(prefix, key);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw invalid(param, `Invalid integer: ${raw}`, 'parameter_invalid_integer');
  const n = Number(raw);
  if (min === 0 && n < 0) throw invalid(param, `Invalid non-negative integer: ${raw}`, 'parameter_invalid_integer');
  if (min === 1 && n < 1) throw invalid(param, `Invalid positive integer: ${raw}`, 'parameter_invalid_integer');
  return n;
}

function bool(p: ParamObject, key: string, prefix = ''): boolean | undefined {
  const raw = str(p, key, prefix);
  if (raw === undefined) return undefined;
  if (raw !== 'true' && raw !== 'false') throw invalid(sub(prefix, key), `Invalid boolean: ${raw}`);
  return raw === 'true';
}

function obj(p: ParamObject, key: string, prefix = ''): ParamObject | undefined {
  const v = p[key];
  if (v === undefined || v === '') return undefined;
  if (!isObj(v)) throw invalid(sub(prefix, key), `Invalid hash: ${sub(prefix, key)}`);
  return v;
}

function arr(p: ParamObject, key: string, prefix = ''): Param[] | undefined {
  const v = p[key];
  if (v === undefined || v === '') return undefined;
  if (!Array.isArray(v)) throw invalid(sub(prefix, key), `Invalid array: ${sub(prefix, key)}`);
  return v;
}

function metadata(p: ParamObject, key: string, prefix = ''): Metadata {
  const o = obj(p, key, prefix) ?? {};
  const param = sub(prefix, key);
  const keys = Object.keys(o);
  if (keys.length > 50) throw invalid(param, `Invalid metadata: metadata can have up to 50 keys, but you passed in ${keys.length} keys.`);
  const out: Metadata = {};
  for (const k of keys) {
    const v = o[k];
    if (typeof v !== 'string') throw invalid(sub(param, k), `Invalid metadata: values must be strings (${sub(param, k)}).`);
    if (k.length > 40) throw invalid(sub(param, k), `Invalid metadata: keys can be at most 40 characters (${k}).`);
    if (v.length > 500) throw invalid(sub(param, k), `Invalid metadata: values can be at most 500 characters (${sub(param, k)}).`);
    if (v !== '') out[k] = v;
  }
  return out;
}

function url(p: ParamObject, key: string): string | undefined {
  const raw = str(p, key);
  if (raw === undefined) return undefined;
  let parsed: URL | null = null;
  try { parsed = new URL(raw); } catch { /* reported below */ }
  if (!parsed || !/^https?:$/.test(parsed.protocol)) throw invalid(key, 'Not a valid URL', 'url_invalid');
  return raw;
}

function expandList(p: ParamObject): string[] {
  return (arr(p, 'expand') ?? []).map((v, i) => {
    if (typeof v !== 'string') throw invalid(`expand[${i}]`, 'Invalid expand value');
    return v;
  });
}

/** `created=123` or `created[gte]=123` etc. */
function createdFilter(p: ParamObject): (created: number) => boolean {
  const v = p.created;
  if (v === undefined || v === '') return () => true;
  if (typeof v === 'string') {
    const at = int(p, 'created')!;
    return (c) => c === at;
  }
  if (!isObj(v)) throw invalid('created', 'Invalid hash: created');
  allowOnly(v, ['gt', 'gte', 'lt', 'lte'], 'created');
  const gt = int(v, 'gt', 'created'), gte = int(v, 'gte', 'created'), lt = int(v, 'lt', 'created'), lte = int(v, 'lte', 'created');
  return (c) => (gt === undefined || c > gt) && (gte === undefined || c >= gte) && (lt === undefined || c < lt) && (lte === undefined || c <= lte);
}

// ---------------------------------------------------------------- webhooks

function signPayload(payload: string, secret: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

function postWebhook(target: string, payload: string, secret: string, timeoutMs: number): Promise<{ status: number | null; ms: number; error: string | null; body: string | null }> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let u: URL;
    try { u = new URL(target); } catch { return resolve({ status: null, ms: 0, error: `invalid URL ${target}`, body: null }); }
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    // Signed with the wall clock even when tests fake `now`: receivers check the timestamp against their own clock.
    const signature = signPayload(payload, secret, Math.floor(Date.now() / 1000));
    const req = send(u, {
      method: 'POST',
      agent: false, // no kept-alive sockets: close() and the receiving test servers shut down promptly
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(payload),
        'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        'Stripe-Signature': signature,
        Accept: '*/*; q=0.5, application/xml',
        'Cache-Control': 'no-cache',
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => { if (chunks.length < 16) chunks.push(c); });
      res.on('end', () => resolve({ status: res.statusCode ?? null, ms: ms(), error: null, body: Buffer.concat(chunks).toString('utf8').slice(0, 1000) }));
      res.on('error', (err) => resolve({ status: res.statusCode ?? null, ms: ms(), error: err.message, body: null }));
    });
    req.on('error', (err) => resolve({ status: null, ms: ms(), error: err.name === 'TimeoutError' || err.name === 'AbortError' ? `timed out after ${timeoutMs} ms` : err.message, body: null }));
    req.end(payload);
  });
}

// ---------------------------------------------------------------- the model

interface Ctx { requestId: string | null; idempotencyKey: string | null }
const NO_REQUEST: Ctx = { requestId: null, idempotencyKey: null };

const EXPANDABLE: Record<string, string[]> = {
  'checkout.session': ['payment_intent', 'line_items', 'customer'],
  promotion_code: ['promotion.coupon'],
  payment_intent: ['latest_charge', 'customer'],
  charge: ['payment_intent', 'customer'],
  refund: ['charge', 'payment_intent'],
  dispute: ['charge', 'payment_intent'],
  item: ['price'],
  price: ['product'],
};

class Standin {
  state: State = emptyState();
  deliveryLog: Delivery[] = [];
  requestLog: ApiRequest[] = [];
  idempotency = new Map<string, { fingerprint: string; status: number; body: unknown; requestId: string; at: number }>();
  deliver = true;
  webhookUrls: string[];
  readonly initialWebhookUrls: string[];
  readonly secret: string | undefined;
  readonly apiVersion: string;
  readonly timeoutMs: number;
  readonly statePath: string | undefined;
  readonly clock: () => number;
  readonly log: (line: string) => void;
  baseUrl = '';
  inflight = new Set<Promise<unknown>>();
  readonly seedCodes: SeedPromotionCode[];

  constructor(o: StandinOptions) {
    this.webhookUrls = [...(o.webhookUrls ?? [])];
    this.initialWebhookUrls = [...this.webhookUrls];
    this.secret = o.webhookSecret;
    this.apiVersion = o.apiVersion ?? DEFAULT_API_VERSION;
    this.timeoutMs = o.webhookTimeoutMs ?? 5000;
    this.statePath = o.statePath;
    this.clock = o.now ?? Date.now;
    this.log = o.log ?? (() => {});
    this.seedCodes = o.promotionCodes ?? [];
    if (this.webhookUrls.length > 0 && !this.secret) throw new Error('webhook URLs need a webhook secret (--webhook-secret or STRIPE_WEBHOOK_SECRET)');
    for (const u of this.webhookUrls) new URL(u); // fail at start, not at the first payment
    if (this.statePath && existsSync(this.statePath)) {
      try {
        const loaded = JSON.parse(readFileSync(this.statePath, 'utf8')) as State;
        if (loaded.version !== 1) throw new Error(`unsupported version ${String(loaded.version)}`);
        this.state = { ...emptyState(), ...loaded };
      } catch (err) {
        throw new Error(`cannot read stand-in state ${this.statePath}: ${(err as Error).message} (delete it to start fresh)`);
      }
    }
    this.seed();
  }

  /** Makes the seeded codes that do not exist yet (a state file may already hold them). */
  seed(): void {
    for (const seed of this.seedCodes) {
      if (this.findCode(seed.code)) continue;
      const coupon = this.createCoupon({
        ...(seed.percent_off !== undefined ? { percent_off: String(seed.percent_off) } : {}),
        ...(seed.amount_off !== undefined ? { amount_off: String(seed.amount_off), currency: seed.currency ?? 'usd' } : {}),
        name: seed.code,
      });
      this.createPromotionCode({
        promotion: { type: 'coupon', coupon: coupon.id },
        code: seed.code,
        ...(seed.max_redemptions !== undefined ? { max_redemptions: String(seed.max_redemptions) } : {}),
      });
    }
    if (this.seedCodes.length) this.save();
  }

  now(): number { return Math.floor(this.clock() / 1000); }

  save(): void {
    if (!this.statePath) return;
    mkdirSync(dirname(this.statePath), { recursive: true });
    const tmp = `${this.statePath}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state));
    renameSync(tmp, this.statePath); // atomic: a crash mid-write never leaves half a file
  }

  reset(): void {
    this.state = emptyState();
    this.deliveryLog = [];
    this.requestLog = [];
    this.idempotency.clear();
    this.deliver = true;
    this.webhookUrls = [...this.initialWebhookUrls];
    this.seed();
    this.save();
  }

  track<T extends { id: string }>(table: Record<string, T>, o: T): T {
    table[o.id] = o;
    this.state.order[o.id] = ++this.state.seq;
    return o;
  }

  newestFirst<T extends { id: string }>(table: Record<string, T>): T[] {
    return Object.values(table).sort((a, b) => (this.state.order[b.id] ?? 0) - (this.state.order[a.id] ?? 0));
  }

  lookup(id: string): Json | undefined {
    const s = this.state;
    const tables: Record<string, Record<string, Json>> = {
      cs_: s.sessions, pi_: s.paymentIntents, ch_: s.charges, re_: s.refunds, dp_: s.disputes,
      cus_: s.customers, prod_: s.products, evt_: s.events, promo_: s.promotionCodes,
    };
    for (const [prefix, table] of Object.entries(tables)) if (id.startsWith(prefix)) return table[id];
    return undefined;
  }

  // -------------------------------------------------- expansion

  expand<T>(value: T, paths: string[]): T {
    const out = clone(value) as Json;
    for (const path of paths) this.expandAt(out, path.split('.'), path);
    return out as T;
  }

  private expandAt(target: Json, segs: string[], full: string): void {
    const [seg, ...rest] = segs;
    if (!seg) return;
    if (target.object === 'list' && seg === 'data') {
      for (const item of target.data as Json[]) this.expandAt(item, rest, full);
      return;
    }
    const type = String(target.object);
    if (type === 'promotion_code' && full.endsWith('promotion.coupon') && seg === 'promotion') {
      const promotion = target.promotion as Json;
      const coupon = this.state.coupons[String(promotion.coupon)];
      if (coupon) promotion.coupon = clone(coupon);
      return;
    }
    if (!(EXPANDABLE[type] ?? []).includes(seg)) throw invalid('expand', `This property cannot be expanded (${full}).`);
    if (type === 'checkout.session' && seg === 'line_items') {
      const items = this.state.lineItems[String(target.id)] ?? [];
      target.line_items = { object: 'list', data: clone(items), has_more: false, url: `/v1/checkout/sessions/${String(target.id)}/line_items` };
    } else if (typeof target[seg] === 'string') {
      const found = this.lookup(target[seg] as string);
      if (found) target[seg] = clone(found);
    }
    const next = target[seg];
    if (rest.length > 0 && next && typeof next === 'object') this.expandAt(next as Json, rest, full);
  }

  // -------------------------------------------------- lists

  /** A Stripe list page over `all` (already in display order), with cursors and `has_more`. */
  list<T extends { id: string }>(all: T[], p: ParamObject, path: string, kind: string, keep: (o: T) => boolean): Json {
    const limit = int(p, 'limit', '', 1) ?? 10;
    if (limit > 100) throw invalid('limit', 'This value must be less than or equal to 100.', 'parameter_invalid_integer');
    const cursor = (key: string) => {
      const id = str(p, key);
      if (id === undefined) return -1;
      const i = all.findIndex((o) => o.id === id);
      if (i < 0) throw noSuch(kind, id, key, 400);
      return i;
    };
    const after = cursor('starting_after');
    const before = cursor('ending_before');
    let data: T[];
    let hasMore: boolean;
    if (before >= 0) {
      const candidates = all.slice(0, before).filter(keep);
      data = candidates.slice(Math.max(0, candidates.length - limit));
      hasMore = candidates.length > limit;
    } else {
      const candidates = all.slice(after + 1).filter(keep);
      data = candidates.slice(0, limit);
      hasMore = candidates.length > limit;
    }
    return this.expand({ object: 'list', data: clone(data), has_more: hasMore, url: path }, expandList(p));
  }

  // -------------------------------------------------- events and delivery

  emit(type: string, object: Json, ctx: Ctx, previous?: Json): StripeEvent {
    const event: StripeEvent = {
      id: randomId('evt_1'),
      object: 'event',
      api_version: this.apiVersion,
      created: this.now(),
      data: previous ? { object: clone(object), previous_attributes: previous } : { object: clone(object) },
      livemode: false,
      pending_webhooks: this.webhookUrls.length,
      request: { id: ctx.requestId, idempotency_key: ctx.idempotencyKey },
      type,
    };
    this.track(this.state.events, event);
    this.state.acked[event.id] = [];
    return event;
  }

  async deliverOne(event: StripeEvent, target: string, redelivery: boolean): Promise<Delivery> {
    const payload = JSON.stringify(event, null, 2);
    const r = await postWebhook(target, payload, this.secret ?? '', this.timeoutMs);
    const ok = r.status !== null && r.status >= 200 && r.status < 300;
    const d: Delivery = {
      id: randomId('dlv_', 16), event_id: event.id, event_type: event.type, url: target, status: r.status, ok,
      ms: r.ms, error: r.error, response_body: r.body, attempted_at: Date.now(), redelivery,
    };
    this.deliveryLog.push(d);
    if (this.deliveryLog.length > 5000) this.deliveryLog.splice(0, this.deliveryLog.length - 5000);
    const acked = (this.state.acked[event.id] ??= []);
    const stored = this.state.events[event.id];
    if (ok && stored && !acked.includes(target)) {
      acked.push(target);
      stored.pending_webhooks = Math.max(0, stored.pending_webhooks - 1);
      this.save();
    }
    if (!ok) this.log(`webhook ${event.type} ${event.id} -> ${target} failed: ${r.status ?? r.error}`);
    return d;
  }

  /** Sends events in order, each to every endpoint at once; honours the "drop deliveries" switch. */
  async dispatch(events: StripeEvent[]): Promise<Delivery[]> {
    if (!this.deliver) return [];
    const done: Delivery[] = [];
    for (const e of events) done.push(...await Promise.all(this.webhookUrls.map((u) => this.deliverOne(e, u, false))));
    return done;
  }

  /** Like Stripe, API-triggered events arrive after the API response, not before it. */
  dispatchInBackground(events: StripeEvent[]): void {
    if (events.length === 0) return;
    const p = this.dispatch(events).catch(() => []).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  async redeliver(eventId: string, times: number, concurrent: boolean): Promise<Delivery[]> {
    const event = this.state.events[eventId];
    if (!event) throw noSuch('event', eventId, 'id');
    if (this.webhookUrls.length === 0) throw invalid('id', 'No webhook URL is configured, so there is nowhere to deliver to.');
    const once = () => Promise.all(this.webhookUrls.map((u) => this.deliverOne(event, u, true)));
    const out: Delivery[] = [];
    if (concurrent) for (const batch of await Promise.all(Array.from({ length: times }, once))) out.push(...batch);
    else for (let i = 0; i < times; i++) out.push(...await once());
    return out;
  }

  // -------------------------------------------------- checkout sessions

  createSession(p: ParamObject): CheckoutSession {
    allowOnly(p, [
      'mode', 'line_items', 'success_url', 'cancel_url', 'client_reference_id', 'customer_email', 'customer',
      'customer_creation', 'metadata', 'allow_promotion_codes', 'payment_intent_data', 'expires_at', 'expand',
      'locale', 'submit_type', 'payment_method_types', 'billing_address_collection', 'ui_mode',
      // accepted and ignored: they change only what Stripe's own page collects
      'automatic_tax', 'phone_number_collection', 'custom_text', 'consent_collection', 'invoice_creation', 'tax_id_collection',
    ]);
    const mode = str(p, 'mode', '', true)!;
    if (mode !== 'payment') throw invalid('mode', `Invalid mode: '${mode}'. This stand-in supports only mode=payment.`);
    const uiMode = str(p, 'ui_mode');
    if (uiMode !== undefined && uiMode !== 'hosted') throw invalid('ui_mode', `Invalid ui_mode: '${uiMode}'. This stand-in supports only hosted.`);
    const rawItems = arr(p, 'line_items');
    if (!rawItems || rawItems.length === 0) throw new ApiError(400, 'line_items is required in payment mode.', { code: 'parameter_missing', param: 'line_items' });
    const successUrl = url(p, 'success_url');
    if (!successUrl) throw missing('success_url');
    const cancelUrl = url(p, 'cancel_url') ?? null;
    const clientRef = str(p, 'client_reference_id') ?? null;
    if (clientRef && clientRef.length > 200) throw invalid('client_reference_id', 'client_reference_id can be at most 200 characters.');
    const customerEmail = str(p, 'customer_email') ?? null;
    if (customerEmail && !EMAIL_RE.test(customerEmail)) throw invalid('customer_email', `Invalid email address: ${customerEmail}`, 'email_invalid');
    const customer = str(p, 'customer') ?? null;
    if (customer && customerEmail) throw invalid('customer_email', 'You may only specify one of these parameters: customer, customer_email.');
    if (customer && !this.state.customers[customer]) throw noSuch('customer', customer, 'customer', 400);
    const customerCreation = str(p, 'customer_creation') ?? null;
    if (customerCreation && !['always', 'if_required'].includes(customerCreation)) throw invalid('customer_creation', `Invalid customer_creation: ${customerCreation}`);
    const meta = metadata(p, 'metadata');
    const allowPromo = bool(p, 'allow_promotion_codes') ?? null;

    const piRaw = obj(p, 'payment_intent_data') ?? {};
    allowOnly(piRaw, ['metadata', 'description', 'receipt_email', 'statement_descriptor', 'statement_descriptor_suffix'], 'payment_intent_data');
    const intentData: IntentData = {
      metadata: metadata(piRaw, 'metadata', 'payment_intent_data'),
      description: str(piRaw, 'description', 'payment_intent_data') ?? null,
      receipt_email: str(piRaw, 'receipt_email', 'payment_intent_data') ?? null,
      statement_descriptor: str(piRaw, 'statement_descriptor', 'payment_intent_data') ?? null,
      statement_descriptor_suffix: str(piRaw, 'statement_descriptor_suffix', 'payment_intent_data') ?? null,
    };

    const created = this.now();
    const expiresAt = int(p, 'expires_at') ?? created + 24 * 3600;
    if (expiresAt < created + 30 * 60) throw invalid('expires_at', 'The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.');
    if (expiresAt > created + 24 * 3600) throw invalid('expires_at', 'The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.');

    const id = randomId('cs_test_a1', 56);
    const items = rawItems.map((raw, i) => this.lineItem(raw, `line_items[${i}]`, created));
    const currency = items[0]!.currency;
    if (items.some((li) => li.currency !== currency)) throw invalid('line_items', 'All line items must use the same currency.');
    const total = items.reduce((sum, li) => sum + li.amount_total, 0);
    const min = MIN_TOTAL[currency] ?? 1;
    if (total < min) throw new ApiError(400, `The Checkout Session's total amount due must add up to at least ${formatAmount(min, currency)} ${currency}`, { code: 'amount_too_small', param: 'line_items' });

    const pmTypes = (arr(p, 'payment_method_types') ?? ['card']).map(String);
    const session: CheckoutSession = {
      id, object: 'checkout.session',
      adaptive_pricing: null, after_expiration: null,
      allow_promotion_codes: allowPromo,
      amount_subtotal: total, amount_total: total,
      automatic_tax: { enabled: false, liability: null, status: null },
      billing_address_collection: str(p, 'billing_address_collection') ?? null,
      cancel_url: cancelUrl, client_reference_id: clientRef, client_secret: null,
      consent: null, consent_collection: null, created, currency,
      custom_fields: [], custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
      customer, customer_creation: customerCreation ?? (customer ? null : 'if_required'),
      customer_details: null, customer_email: customerEmail, discounts: [],
      expires_at: expiresAt, invoice: null, invoice_creation: null, livemode: false,
      locale: str(p, 'locale') ?? null, metadata: meta, mode: 'payment',
      payment_intent: null, payment_link: null, payment_method_collection: 'if_required',
      payment_method_options: {}, payment_method_types: pmTypes, payment_status: 'unpaid',
      phone_number_collection: { enabled: false }, recovered_from: null, saved_payment_method_options: null,
      setup_intent: null, shipping_address_collection: null, shipping_cost: null, shipping_options: [],
      status: 'open', submit_type: str(p, 'submit_type') ?? null, subscription: null, success_url: successUrl,
      total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 }, ui_mode: 'hosted',
      url: `${this.baseUrl}/c/pay/${id}`,
    };
    this.track(this.state.sessions, session);
    this.state.lineItems[id] = items;
    this.state.intentData[id] = intentData;
    this.save();
    return session;
  }

  private lineItem(raw: Param, prefix: string, created: number): LineItem {
    if (!isObj(raw)) throw invalid(prefix, `Invalid hash: ${prefix}`);
    allowOnly(raw, ['price_data', 'price', 'quantity'], prefix);
    const priceId = str(raw, 'price', prefix);
    if (priceId) throw noSuch('price', priceId, sub(prefix, 'price'), 400); // price_data prices are single-use, as in Stripe
    const quantity = int(raw, 'quantity', prefix, 1);
    if (quantity === undefined) throw new ApiError(400, `Quantity is required. Add \`quantity\` to \`${prefix}\``, { code: 'parameter_missing', param: sub(prefix, 'quantity') });
    const pd = obj(raw, 'price_data', prefix);
    if (!pd) throw missing(sub(prefix, 'price_data'));
    const pdPrefix = sub(prefix, 'price_data');
    allowOnly(pd, ['currency', 'unit_amount', 'unit_amount_decimal', 'product_data', 'product', 'tax_behavior'], pdPrefix);
    const currency = str(pd, 'currency', pdPrefix, true)!.toLowerCase();
    if (!CURRENCIES.has(currency)) throw invalid(sub(pdPrefix, 'currency'), `Invalid currency: ${currency}. Stripe currently supports these currencies: ${[...CURRENCIES].join(', ')}`);
    let unitAmount = int(pd, 'unit_amount', pdPrefix, 0);
    if (unitAmount === undefined && str(pd, 'unit_amount_decimal', pdPrefix) !== undefined) {
      const dec = str(pd, 'unit_amount_decimal', pdPrefix)!;
      if (!/^\d+$/.test(dec)) throw invalid(sub(pdPrefix, 'unit_amount_decimal'), `Invalid decimal: ${dec}. Fractional minor units are not supported by this stand-in.`);
      unitAmount = Number(dec);
    }
    if (unitAmount === undefined) throw missing(sub(pdPrefix, 'unit_amount'));
    if (THREE_DECIMAL.has(currency) && unitAmount % 10 !== 0) {
      throw invalid(sub(pdPrefix, 'unit_amount'), `Amounts in ${currency} must be multiples of 10 (the last of the three decimals must be 0).`);
    }
    if (str(pd, 'product', pdPrefix)) throw noSuch('product', str(pd, 'product', pdPrefix)!, sub(pdPrefix, 'product'), 400);
    const prod = obj(pd, 'product_data', pdPrefix);
    if (!prod) throw missing(sub(pdPrefix, 'product_data'));
    const prodPrefix = sub(pdPrefix, 'product_data');
    allowOnly(prod, ['name', 'description', 'metadata', 'images', 'tax_code'], prodPrefix);
    const name = str(prod, 'name', prodPrefix, true)!;
    const product = this.track(this.state.products, {
      id: randomId('prod_', 14), object: 'product', active: false, created, default_price: null,
      description: str(prod, 'description', prodPrefix) ?? null,
      images: (arr(prod, 'images', prodPrefix) ?? []).map(String), livemode: false,
      metadata: metadata(prod, 'metadata', prodPrefix), name, tax_code: str(prod, 'tax_code', prodPrefix) ?? null,
      type: 'service', updated: created, url: null,
    });
    const amount = unitAmount * quantity;
    return {
      id: randomId('li_'), object: 'item', amount_discount: 0, amount_subtotal: amount, amount_tax: 0, amount_total: amount,
      currency, description: name, quantity,
      price: {
        id: randomId('price_'), object: 'price', active: false, billing_scheme: 'per_unit', created, currency,
        custom_unit_amount: null, livemode: false, lookup_key: null, metadata: {}, nickname: null, product: product.id,
        recurring: null, tax_behavior: str(pd, 'tax_behavior', pdPrefix) ?? 'unspecified', tiers_mode: null,
        transform_quantity: null, type: 'one_time', unit_amount: unitAmount, unit_amount_decimal: String(unitAmount),
      },
    };
  }

  /** Sessions past expires_at become expired when next looked at (and by a periodic sweep). */
  refresh(s: CheckoutSession): StripeEvent[] {
    if (s.status !== 'open' || this.now() < s.expires_at) return [];
    return [this.expireNow(s, NO_REQUEST)];
  }

  expireDue(): void {
    const events = Object.values(this.state.sessions).flatMap((s) => this.refresh(s));
    this.dispatchInBackground(events);
  }

  private expireNow(s: CheckoutSession, ctx: Ctx): StripeEvent {
    s.status = 'expired';
    s.url = null;
    const e = this.emit('checkout.session.expired', s, ctx);
    this.save();
    return e;
  }

  session(id: string): CheckoutSession {
    const s = this.state.sessions[id];
    if (!s) throw noSuch('checkout.session', id, 'session');
    this.dispatchInBackground(this.refresh(s));
    return s;
  }

  expireSession(id: string, ctx: Ctx): CheckoutSession {
    const s = this.session(id);
    if (s.status !== 'open') {
      throw new ApiError(400, `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${s.status}".`);
    }
    this.dispatchInBackground([this.expireNow(s, ctx)]);
    return s;
  }

  emailFor(s: CheckoutSession): string | null {
    return s.customer_email ?? (s.customer ? this.state.customers[s.customer]?.email ?? null : null);
  }

  /** What the Pay buttons do. Returns the events so the caller decides when they are delivered. */
  pay(id: string, input: { email?: string; delayed?: boolean; promotionCode?: string }): { session: CheckoutSession; redirect: string; events: StripeEvent[] } {
    const s = this.session(id);
    if (s.status !== 'open') throw new ApiError(400, `This Checkout Session is ${s.status} and can no longer be paid.`, { code: 'checkout_session_not_open' });
    const email = this.emailFor(s) ?? (input.email?.trim() || 'test@example.com');
    if (!EMAIL_RE.test(email)) throw invalid('email', `Invalid email address: ${email}`, 'email_invalid');
    if (input.promotionCode) this.applyCode(s, input.promotionCode);
    // The code may have run out since it was applied (another buyer took its last redemption).
    const applied = this.appliedCode(s);
    if (applied) this.checkRedeemable(applied, s);
    const t = this.now();
    let customer = s.customer;
    if (!customer && s.customer_creation === 'always') customer = this.createCustomer({ email }).id;
    if (applied) this.redeem(applied);
    // As in Stripe: nothing to charge, so no PaymentIntent; the session completes at once.
    if (s.amount_total === 0) return this.complete(s, 'no_payment_required', customer, email);
    const delayed = input.delayed === true;
    const extra = this.state.intentData[id] ?? { metadata: {}, description: null, receipt_email: null, statement_descriptor: null, statement_descriptor_suffix: null };
    const piId = randomId('pi_3');
    const chId = randomId('ch_3');
    const pmId = randomId('pm_1');
    const methodDetails = delayed
      ? { type: 'us_bank_account', us_bank_account: { account_holder_type: 'individual', bank_name: 'STRIPE TEST BANK', last4: '6789', routing_number: '110000000' } }
      : { type: 'card', card: { brand: 'visa', country: 'US', exp_month: 12, exp_year: new Date(t * 1000).getUTCFullYear() + 3, funding: 'credit', last4: '4242', network: 'visa' } };
    const pi: PaymentIntent = {
      id: piId, object: 'payment_intent', amount: s.amount_total, amount_capturable: 0, amount_details: { tip: {} },
      amount_received: delayed ? 0 : s.amount_total, application: null, application_fee_amount: null,
      automatic_payment_methods: null, canceled_at: null, cancellation_reason: null, capture_method: 'automatic_async',
      client_secret: `${piId}_secret_${randomId('', 25)}`, confirmation_method: 'automatic', created: t, currency: s.currency,
      customer, description: extra.description, last_payment_error: null, latest_charge: chId, livemode: false,
      metadata: clone(extra.metadata), next_action: null, on_behalf_of: null, payment_method: pmId,
      payment_method_options: {}, payment_method_types: [methodDetails.type], processing: null,
      receipt_email: extra.receipt_email, review: null, setup_future_usage: null, shipping: null, source: null,
      statement_descriptor: extra.statement_descriptor, statement_descriptor_suffix: extra.statement_descriptor_suffix,
      status: delayed ? 'processing' : 'succeeded', transfer_data: null, transfer_group: null,
    };
    const charge: Charge = {
      id: chId, object: 'charge', amount: s.amount_total, amount_captured: s.amount_total, amount_refunded: 0,
      application: null, application_fee: null, balance_transaction: randomId('txn_3'),
      billing_details: { address: null, email, name: null, phone: null }, calculated_statement_descriptor: 'COURSES',
      captured: true, created: t, currency: s.currency, customer, description: extra.description, disputed: false,
      failure_code: null, failure_message: null, fraud_details: {}, livemode: false, metadata: clone(extra.metadata),
      outcome: { network_status: 'approved_by_network', reason: null, risk_level: 'normal', seller_message: 'Payment complete.', type: 'authorized' },
      paid: !delayed, payment_intent: piId, payment_method: pmId, payment_method_details: methodDetails,
      receipt_email: extra.receipt_email, receipt_url: null, refunded: false, review: null, shipping: null,
      status: delayed ? 'pending' : 'succeeded',
    };
    this.track(this.state.paymentIntents, pi);
    this.track(this.state.charges, charge);
    s.payment_intent = piId;
    return this.complete(s, delayed ? 'unpaid' : 'paid', customer, email);
  }

  private complete(s: CheckoutSession, paymentStatus: CheckoutSession['payment_status'], customer: CheckoutSession['customer'], email: string) {
    s.status = 'complete';
    s.payment_status = paymentStatus;
    s.customer = customer;
    s.url = null;
    // customer_email stays as given (null if none), as in Stripe: the buyer's address is in customer_details.
    s.customer_details = { address: null, email, name: null, phone: null, tax_exempt: 'none', tax_ids: [] };
    const event = this.emit('checkout.session.completed', s, NO_REQUEST);
    this.save();
    return { session: s, redirect: (s.success_url ?? '').replaceAll('{CHECKOUT_SESSION_ID}', s.id), events: [event] };
  }

  settleAsync(id: string, outcome: string): { session: CheckoutSession; payment_intent: PaymentIntent; events: StripeEvent[] } {
    if (outcome !== 'succeeded' && outcome !== 'failed') throw invalid('outcome', "outcome must be 'succeeded' or 'failed'");
    const s = this.session(id);
    const pi = s.payment_intent ? this.state.paymentIntents[s.payment_intent] : undefined;
    if (s.status !== 'complete' || !pi || pi.status !== 'processing') {
      throw invalid('id', `Checkout Session ${id} has no delayed payment waiting to settle.`);
    }
    const charge = this.state.charges[pi.latest_charge ?? '']!;
    if (outcome === 'succeeded') {
      pi.status = 'succeeded';
      pi.amount_received = pi.amount;
      charge.status = 'succeeded';
      charge.paid = true;
      s.payment_status = 'paid';
    } else {
      pi.status = 'requires_payment_method';
      pi.last_payment_error = { code: 'payment_method_provider_decline', message: 'The payment was declined by the bank.', type: 'invalid_request_error' };
      charge.status = 'failed';
      charge.failure_code = 'insufficient_funds';
      charge.failure_message = 'The account has insufficient funds to cover this payment.';
    }
    const event = this.emit(`checkout.session.async_payment_${outcome}`, s, NO_REQUEST);
    this.save();
    return { session: s, payment_intent: pi, events: [event] };
  }

  createCustomer(input: { email?: string | null; name?: string | null; metadata?: Metadata }): Json & { id: string; email: string | null } {
    return this.track(this.state.customers, {
      id: randomId('cus_', 14), object: 'customer', address: null, balance: 0, created: this.now(), currency: null,
      default_source: null, delinquent: false, description: null, email: input.email ?? null,
      invoice_prefix: randomBytes(4).toString('hex').toUpperCase(),
      invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
      livemode: false, metadata: input.metadata ?? {}, name: input.name ?? null, phone: null, preferred_locales: [],
      shipping: null, tax_exempt: 'none', test_clock: null,
    });
  }

  // -------------------------------------------------- coupons and promotion codes

  createCoupon(p: ParamObject): Coupon {
    allowOnly(p, ['id', 'percent_off', 'amount_off', 'currency', 'duration', 'duration_in_months', 'max_redemptions', 'redeem_by', 'name', 'metadata', 'expand']);
    const id = str(p, 'id') ?? randomId('', 8);
    if (!/^[A-Za-z0-9_-]{1,200}$/.test(id)) throw invalid('id', `Invalid coupon id: ${id}`);
    if (this.state.coupons[id]) throw new ApiError(400, 'Coupon already exists.', { code: 'resource_already_exists', param: 'id' });
    const percentText = str(p, 'percent_off');
    const amountOff = int(p, 'amount_off', '', 1) ?? null;
    if ((percentText === undefined) === (amountOff === null)) {
      throw new ApiError(400, 'You must pass exactly one of `percent_off` or `amount_off`.', { code: 'parameter_missing', param: 'percent_off' });
    }
    let percentOff: number | null = null;
    if (percentText !== undefined) {
      if (!/^\d{1,3}(?:\.\d{1,2})?$/.test(percentText) || Number(percentText) <= 0 || Number(percentText) > 100) {
        throw invalid('percent_off', 'percent_off must be a number greater than 0 and at most 100.', 'parameter_invalid_integer');
      }
      percentOff = Number(percentText);
    }
    const currency = str(p, 'currency')?.toLowerCase() ?? null;
    if (amountOff !== null && !currency) throw missing('currency');
    if (currency && !CURRENCIES.has(currency)) throw invalid('currency', `Invalid currency: ${currency}.`);
    const duration = str(p, 'duration') ?? 'once';
    if (!['once', 'forever', 'repeating'].includes(duration)) throw invalid('duration', `Invalid duration: ${duration}. Must be one of once, forever, or repeating.`);
    const months = int(p, 'duration_in_months', '', 1) ?? null;
    if (duration === 'repeating' && months === null) throw missing('duration_in_months');
    const coupon: Coupon = {
      id, object: 'coupon', amount_off: amountOff, created: this.now(), currency: amountOff !== null ? currency : null,
      duration, duration_in_months: months, livemode: false, max_redemptions: int(p, 'max_redemptions', '', 1) ?? null,
      metadata: metadata(p, 'metadata'), name: str(p, 'name') ?? null, percent_off: percentOff,
      redeem_by: int(p, 'redeem_by', '', 1) ?? null, times_redeemed: 0, valid: true,
    };
    this.track(this.state.coupons, coupon);
    this.save();
    return coupon;
  }

  /** The promotion code a buyer would type, matched as Stripe does: case-insensitively. */
  findCode(code: string): PromotionCode | undefined {
    const wanted = code.trim().toUpperCase();
    return this.newestFirst(this.state.promotionCodes).find((pc) => pc.code.toUpperCase() === wanted && pc.active)
      ?? this.newestFirst(this.state.promotionCodes).find((pc) => pc.code.toUpperCase() === wanted);
  }

  createPromotionCode(p: ParamObject): PromotionCode {
    allowOnly(p, ['promotion', 'code', 'active', 'expires_at', 'max_redemptions', 'metadata', 'expand']);
    const promotion = obj(p, 'promotion');
    if (!promotion) throw missing('promotion');
    allowOnly(promotion, ['type', 'coupon'], 'promotion');
    const type = str(promotion, 'type', 'promotion', true);
    if (type !== 'coupon') throw invalid('promotion[type]', `Invalid promotion[type]: ${type}. Must be coupon.`);
    const couponId = str(promotion, 'coupon', 'promotion', true)!;
    if (!this.state.coupons[couponId]) throw noSuch('coupon', couponId, 'promotion[coupon]', 400);
    const code = str(p, 'code') ?? randomId('', 8).toUpperCase();
    if (!/^[A-Za-z0-9_-]{1,500}$/.test(code)) throw invalid('code', 'A promotion code may contain only letters, digits, hyphens and underscores.');
    const active = bool(p, 'active') ?? true;
    if (active && Object.values(this.state.promotionCodes).some((pc) => pc.active && pc.code.toUpperCase() === code.toUpperCase())) {
      throw new ApiError(400, `An active promotion code with \`code: ${code}\` already exists.`, { code: 'resource_already_exists', param: 'code' });
    }
    const pc: PromotionCode = {
      id: randomId('promo_1', 24), object: 'promotion_code', active, code, created: this.now(), customer: null, customer_account: null,
      expires_at: int(p, 'expires_at', '', 1) ?? null, livemode: false, max_redemptions: int(p, 'max_redemptions', '', 1) ?? null,
      metadata: metadata(p, 'metadata'), promotion: { type: 'coupon', coupon: couponId },
      restrictions: { first_time_transaction: false, minimum_amount: null, minimum_amount_currency: null }, times_redeemed: 0,
    };
    this.track(this.state.promotionCodes, pc);
    this.save();
    return pc;
  }

  updatePromotionCode(id: string, p: ParamObject): PromotionCode {
    allowOnly(p, ['active', 'metadata', 'expand']);
    const pc = this.state.promotionCodes[id];
    if (!pc) throw noSuch('promotion_code', id, 'id');
    const active = bool(p, 'active');
    if (active !== undefined) pc.active = active;
    if (p.metadata !== undefined) pc.metadata = { ...(pc.metadata as Metadata), ...metadata(p, 'metadata') };
    this.save();
    return pc;
  }

  appliedCode(s: CheckoutSession): PromotionCode | undefined {
    const id = (s.discounts as { promotion_code: string | null }[] | undefined)?.[0]?.promotion_code;
    return id ? this.state.promotionCodes[id] : undefined;
  }

  /** Why a code cannot be used on this session now, in the words of Stripe's page; throws. */
  checkRedeemable(pc: PromotionCode, s: CheckoutSession): Coupon {
    const refuse = (message: string) => new ApiError(400, message, { code: 'promotion_code_invalid', param: 'promotion_code' });
    const coupon = this.state.coupons[pc.promotion.coupon];
    const now = this.now();
    if (!pc.active || !coupon) throw refuse('This code is invalid.');
    if ((pc.expires_at !== null && now >= pc.expires_at) || (coupon.redeem_by !== null && now >= coupon.redeem_by)) throw refuse('This code has expired.');
    if ((pc.max_redemptions !== null && pc.times_redeemed >= pc.max_redemptions) || !coupon.valid) throw refuse('This code is no longer available.');
    if (coupon.amount_off !== null && coupon.currency !== s.currency) throw refuse(`This code is not valid for purchases in ${s.currency.toUpperCase()}.`);
    return coupon;
  }

  /** What Stripe's "Apply" does on its hosted page: one code per session; a new one replaces the old. */
  applyCode(s: CheckoutSession, code: string): void {
    if (s.status !== 'open') throw new ApiError(400, `This Checkout Session is ${s.status}.`, { code: 'checkout_session_not_open' });
    if (s.allow_promotion_codes !== true) {
      throw new ApiError(400, 'This Checkout Session does not accept promotion codes (it was created without allow_promotion_codes).', { code: 'promotion_codes_not_allowed', param: 'promotion_code' });
    }
    const pc = this.findCode(code);
    if (!pc) throw new ApiError(400, 'This code is invalid.', { code: 'promotion_code_invalid', param: 'promotion_code' });
    const coupon = this.checkRedeemable(pc, s);
    const subtotal = s.amount_subtotal;
    const discount = coupon.percent_off !== null ? Math.round((subtotal * coupon.percent_off) / 100) : Math.min(coupon.amount_off ?? 0, subtotal);
    s.discounts = [{ coupon: coupon.id, promotion_code: pc.id }];
    s.amount_total = subtotal - discount;
    s.total_details = { amount_discount: discount, amount_shipping: 0, amount_tax: 0 };
    // One line item is what this site sells; with several, Stripe spreads the discount likewise.
    let left = discount;
    const items = this.state.lineItems[s.id] ?? [];
    items.forEach((li, index) => {
      const itemSubtotal = li.amount_subtotal as number;
      const share = index === items.length - 1 ? left : Math.round((discount * itemSubtotal) / Math.max(1, subtotal));
      left -= share;
      li.amount_discount = share;
      li.amount_total = itemSubtotal - share;
    });
    this.save();
  }

  redeem(pc: PromotionCode): void {
    pc.times_redeemed += 1;
    const coupon = this.state.coupons[pc.promotion.coupon];
    if (coupon) {
      coupon.times_redeemed += 1;
      if (coupon.max_redemptions !== null && coupon.times_redeemed >= coupon.max_redemptions) coupon.valid = false;
    }
  }

  // -------------------------------------------------- refunds and disputes

  /** Finds the charge named by `charge` or `payment_intent` (Stripe's refund and dispute inputs). */
  chargeFrom(p: { charge?: string; payment_intent?: string }): Charge {
    let charge: Charge | undefined;
    if (p.charge) {
      charge = this.state.charges[p.charge];
      if (!charge) throw noSuch('charge', p.charge, 'charge', 400);
    }
    if (p.payment_intent) {
      const pi = this.state.paymentIntents[p.payment_intent];
      if (!pi) throw noSuch('payment_intent', p.payment_intent, 'payment_intent', 400);
      if (charge && charge.payment_intent !== pi.id) throw invalid('charge', `Charge ${charge.id} does not belong to PaymentIntent ${pi.id}.`);
      charge ??= pi.latest_charge ? this.state.charges[pi.latest_charge] : undefined;
      if (!charge) throw invalid('payment_intent', `This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, 'charge_not_refundable');
    }
    if (!charge) throw new ApiError(400, 'One of `charge` or `payment_intent` is required.', { code: 'parameter_missing', param: 'payment_intent' });
    return charge;
  }

  /** Refunds that still move, or moved, money back: failed and canceled ones gave nothing back. */
  refunding(charge: Charge): number {
    return Object.values(this.state.refunds).filter((r) => r.charge === charge.id && r.status !== 'failed' && r.status !== 'canceled').reduce((sum, r) => sum + r.amount, 0);
  }

  refund(input: { charge?: string; payment_intent?: string; amount?: number; reason?: string; metadata?: Metadata; requiresAction?: boolean }, ctx: Ctx): { refund: Refund; charge: Charge; events: StripeEvent[] } {
    const charge = this.chargeFrom(input);
    if (charge.status !== 'succeeded') throw invalid('charge', `Charge ${charge.id} has not succeeded (status ${charge.status}), so it cannot be refunded.`, 'charge_not_refundable');
    const dispute = Object.values(this.state.disputes).find((d) => d.charge === charge.id);
    // An inquiry takes no money back yet, so the charge may still be refunded (is_charge_refundable).
    if (dispute && dispute.status !== 'won' && !dispute.status.startsWith('warning_')) throw invalid('charge', `Charge ${charge.id} has been charged back; cannot issue a refund.`, 'charge_disputed');
    const remaining = charge.amount - charge.amount_refunded;
    if (remaining <= 0) throw invalid('charge', `Charge ${charge.id} has already been refunded.`, 'charge_already_refunded');
    const amount = input.amount ?? remaining;
    if (!Number.isSafeInteger(amount) || amount < 1) throw invalid('amount', `Invalid positive integer: ${amount}`, 'parameter_invalid_integer');
    if (amount > remaining) {
      throw invalid('amount', `Refund amount (${formatAmount(amount, charge.currency)}) is greater than unrefunded amount on charge (${formatAmount(remaining, charge.currency)})`, 'amount_too_large');
    }
    if (input.reason !== undefined && !['duplicate', 'fraudulent', 'requested_by_customer'].includes(input.reason)) {
      throw invalid('reason', `Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer`);
    }
    const t = this.now();
    const refund = this.track(this.state.refunds, {
      id: randomId('re_3'), object: 'refund', amount, balance_transaction: randomId('txn_3'), charge: charge.id, created: t,
      currency: charge.currency, destination_details: { type: 'card', card: { reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' } },
      metadata: input.metadata ?? {}, payment_intent: charge.payment_intent, reason: input.reason ?? null, receipt_number: null,
      source_transfer_reversal: null, status: input.requiresAction ? 'requires_action' : 'succeeded', transfer_reversal: null, failure_reason: null,
    } satisfies Refund);
    const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded >= charge.amount;
    const events = [this.emit('charge.refunded', charge, ctx, previous), this.emit('refund.created', refund, ctx)];
    this.save();
    return { refund, charge, events };
  }

  /** `inquiry`: the bank only asks questions (no money taken back yet), Stripe's `warning_needs_response`. */
  dispute(input: { charge?: string; payment_intent?: string; reason?: string; inquiry?: boolean }): { dispute: Dispute; charge: Charge; events: StripeEvent[] } {
    const charge = this.chargeFrom(input);
    if (charge.status !== 'succeeded') throw invalid('charge', `Charge ${charge.id} has not succeeded, so it cannot be disputed.`);
    if (Object.values(this.state.disputes).some((d) => d.charge === charge.id)) throw invalid('charge', `Charge ${charge.id} already has a dispute.`);
    const amount = charge.amount - charge.amount_refunded;
    if (amount <= 0) throw invalid('charge', `Charge ${charge.id} is fully refunded; there is nothing left to dispute.`);
    const t = this.now();
    const dispute = this.track(this.state.disputes, {
      id: randomId('dp_1'), object: 'dispute', amount, balance_transactions: [], charge: charge.id, created: t, currency: charge.currency,
      evidence: {}, evidence_details: { due_by: t + 7 * 86400, has_evidence: false, past_due: false, submission_count: 0 },
      is_charge_refundable: false, livemode: false, metadata: {}, payment_intent: charge.payment_intent,
      reason: input.reason ?? 'fraudulent', status: input.inquiry ? 'warning_needs_response' : 'needs_response',
    } satisfies Dispute);
    charge.disputed = true;
    const events = [this.emit('charge.dispute.created', dispute, NO_REQUEST)];
    this.save();
    return { dispute, charge, events };
  }

  closeDispute(id: string, outcome: string): { dispute: Dispute; charge: Charge; events: StripeEvent[] } {
    if (outcome !== 'won' && outcome !== 'lost' && outcome !== 'warning_closed') throw invalid('outcome', "outcome must be 'won', 'lost' or 'warning_closed'");
    const dispute = this.state.disputes[id];
    if (!dispute) throw noSuch('dispute', id, 'id');
    if (['won', 'lost', 'warning_closed'].includes(dispute.status)) throw invalid('id', `Dispute ${id} is already closed (${dispute.status}).`);
    // An inquiry ends as warning_closed; only a chargeback is won or lost.
    if ((outcome === 'warning_closed') !== dispute.status.startsWith('warning_')) {
      throw invalid('outcome', dispute.status.startsWith('warning_') ? `Dispute ${id} is an inquiry: it closes as warning_closed.` : `Dispute ${id} is a chargeback: it closes as won or lost.`);
    }
    const previous = { status: dispute.status };
    dispute.status = outcome;
    dispute.is_charge_refundable = outcome === 'won';
    // As in Stripe, a lost dispute leaves amount_refunded alone: the money went back through the
    // chargeback, `disputed` stays true and further refunds are refused (charge_disputed).
    const charge = this.state.charges[dispute.charge]!;
    const events = [this.emit('charge.dispute.closed', dispute, NO_REQUEST, previous)];
    this.save();
    return { dispute, charge, events };
  }

  /**
   * A refund that ends without moving money (`failed`: the card was closed, the bank refused it;
   * `canceled`: cancelled while it waited for the customer). As Stripe does, the charge's
   * `amount_refunded` goes back down and the charge may be refunded again.
   */
  endRefund(id: string, status: 'failed' | 'canceled', ctx: Ctx, failureReason?: string): { refund: Refund; charge: Charge; events: StripeEvent[] } {
    const refund = this.state.refunds[id];
    if (!refund) throw noSuch('refund', id, 'id');
    if (status === 'canceled' && refund.status !== 'requires_action') {
      throw invalid('refund', `You can only cancel refunds with a status of requires_action. This refund has status ${refund.status}.`);
    }
    if (status === 'failed' && refund.status !== 'succeeded' && refund.status !== 'pending' && refund.status !== 'requires_action') {
      throw invalid('refund', `Refund ${id} has status ${refund.status}; only a pending or succeeded refund can fail.`);
    }
    if (failureReason !== undefined && !['expired_or_canceled_card', 'lost_or_stolen_card', 'declined', 'unknown'].includes(failureReason)) {
      throw invalid('failure_reason', 'Invalid failure_reason: must be one of expired_or_canceled_card, lost_or_stolen_card, declined or unknown');
    }
    const previous = { status: refund.status };
    refund.status = status;
    if (status === 'failed') refund.failure_reason = failureReason ?? 'expired_or_canceled_card';
    const charge = this.state.charges[refund.charge]!;
    charge.amount_refunded = this.refunding(charge);
    charge.refunded = charge.amount_refunded >= charge.amount;
    const events = [this.emit('charge.refund.updated', refund, ctx, previous), this.emit('refund.updated', refund, ctx, previous)];
    if (status === 'failed') events.push(this.emit('refund.failed', refund, ctx));
    this.save();
    return { refund, charge, events };
  }

  /**
   * A lost dispute that the card network later decides for the merchant (pre-arbitration, an
   * appeal): Stripe marks it won and reinstates the funds. Only a lost dispute can be reversed.
   */
  reverseDispute(id: string): { dispute: Dispute; charge: Charge; events: StripeEvent[] } {
    const dispute = this.state.disputes[id];
    if (!dispute) throw noSuch('dispute', id, 'id');
    if (dispute.status !== 'lost') throw invalid('id', `Dispute ${id} is ${dispute.status}; only a lost dispute can be reversed.`);
    const previous = { status: dispute.status };
    dispute.status = 'won';
    dispute.is_charge_refundable = true;
    const charge = this.state.charges[dispute.charge]!;
    const events = [this.emit('charge.dispute.updated', dispute, NO_REQUEST, previous), this.emit('charge.dispute.funds_reinstated', dispute, NO_REQUEST)];
    this.save();
    return { dispute, charge, events };
  }
}

// ---------------------------------------------------------------- HTML

const CSS = `
:root{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;line-height:1.5;color:#1f2328;background:#f3f5f7}
body{margin:0;padding:1rem}
main{max-width:34rem;margin:1rem auto;padding:1.5rem;background:#fff;border:1px solid #d0d7de;border-radius:8px}
main.wide{max-width:80rem}
h1{font-size:1.5rem;margin:.25rem 0 1rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
.badge{display:inline-block;background:#fff1c2;color:#5c3b00;border:1px solid #d4a72c;padding:0 .5rem;border-radius:4px;font-size:.875rem;font-weight:600}
ul.items{list-style:none;padding:0;margin:0}ul.items li{display:flex;justify-content:space-between;gap:1rem;padding:.5rem 0;border-bottom:1px solid #d0d7de}
.muted{color:#57606a;font-size:.9rem;margin:.1rem 0 0}
.total{display:flex;justify-content:space-between;font-size:1.1rem;margin:.75rem 0 1.5rem}
form{margin-top:1.5rem}
label{display:block;font-weight:600;margin-bottom:.25rem}
input{font:inherit;padding:.5rem;width:100%;box-sizing:border-box;border:1px solid #57606a;border-radius:4px}
input[readonly]{background:#eef1f4}
td input{width:7rem}
button,.button{font:inherit;padding:.55rem 1rem;border-radius:6px;border:1px solid #1f2328;background:#fff;color:#1f2328;cursor:pointer;text-decoration:none;display:inline-block}
button.primary{background:#0a58ca;border-color:#0a58ca;color:#fff}
:focus-visible{outline:3px solid #bf5700;outline-offset:2px}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:1rem}
.error{color:#a40e26;font-weight:600}
.notice,.alert{padding:.5rem 1rem;border-radius:6px}.notice{background:#dafbe1}.alert{background:#ffebe9;color:#82071e}
table{border-collapse:collapse;width:100%;font-size:.95rem}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #d0d7de;vertical-align:top}
td form{display:inline-flex;flex-wrap:wrap;gap:.35rem;align-items:end;margin:0 .35rem .35rem 0}td form div{display:flex;flex-direction:column}td label{font-weight:400;font-size:.9rem;margin:0}
code{font-size:.85em;word-break:break-all}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
`;

function layout(title: string, body: string, wide = false): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><main${wide ? ' class="wide"' : ''}>
${body}
</main></body></html>`;
}

function summary(standin: Standin, s: CheckoutSession, items: LineItem[]): string {
  const rows = items.map((li) => {
    const description = standin.state.products[li.price.product]?.description;
    return `<li><div>${esc(li.description)}${li.quantity > 1 ? ` <span class="muted">× ${li.quantity}</span>` : ''}${
      typeof description === 'string' ? `<p class="muted">${esc(description)}</p>` : ''}</div><span>${esc(formatAmount(li.amount_total, li.currency))}</span></li>`;
  }).join('\n');
  const applied = standin.appliedCode(s);
  const discount = (s.total_details as { amount_discount?: number } | undefined)?.amount_discount ?? 0;
  const discountRow = applied && discount > 0
    ? `<p class="total"><span>Subtotal</span> <span>${esc(formatAmount(s.amount_subtotal, s.currency))}</span></p>
<p class="total" id="discount"><span>Promotion code <code>${esc(applied.code)}</code></span> <span>−${esc(formatAmount(discount, s.currency))}</span></p>`
    : '';
  return `<h2 id="summary">Order summary</h2>
<ul class="items" aria-labelledby="summary">
${rows}
</ul>
${discountRow}<p class="total"><span>Total due</span> <strong>${esc(formatAmount(s.amount_total, s.currency))}</strong></p>`;
}

function checkoutPage(standin: Standin, s: CheckoutSession, opts: { error?: string; email?: string; code?: string; codeError?: string } = {}): string {
  const items = standin.state.lineItems[s.id] ?? [];
  const title = items[0]?.description ?? 'Checkout';
  if (s.status !== 'open') {
    const done = s.status === 'complete';
    const message = done
      ? 'This checkout session has already been completed. No further payment is needed.'
      : 'This checkout session has expired. Go back to the site to start a new purchase.';
    const back = !done && s.cancel_url ? `<p><a href="${esc(s.cancel_url)}">Return to the site</a></p>` : '';
    return layout(`${done ? 'Payment complete' : 'Checkout expired'} · ${title}`, `<p><span class="badge">Test mode</span></p>
<h1>${done ? 'Payment complete' : 'Checkout expired'}</h1>
<p role="status">${message}</p>
${summary(standin, s, items)}
${back}`);
  }
  const fixedEmail = standin.emailFor(s);
  const emailValue = fixedEmail ?? opts.email ?? '';
  const describedBy = ['email-help', opts.error ? 'email-error' : ''].filter(Boolean).join(' ');
  const pay = formatAmount(s.amount_total, s.currency);
  // Like Stripe's page: the code field exists only when the session allows promotion codes.
  const codeField = s.allow_promotion_codes === true
    ? `<label for="promotion_code">Promotion code</label>
  <div class="actions" style="margin-top:0">
    <input id="promotion_code" name="promotion_code" autocomplete="off" autocapitalize="characters" value="${esc(opts.code ?? standin.appliedCode(s)?.code ?? '')}" style="width:auto;flex:1"${opts.codeError ? ' aria-invalid="true" aria-describedby="code-error"' : ''}>
    <button type="submit" name="action" value="apply" formnovalidate>Apply</button>
  </div>
  ${opts.codeError ? `<p id="code-error" class="error" role="alert">${esc(opts.codeError)}</p>` : ''}`
    : '';
  return layout(`Pay ${pay} · ${title}`, `<p><span class="badge">Test mode</span></p>
<h1>Complete your purchase</h1>
${summary(standin, s, items)}
<form method="post" action="/c/pay/${esc(s.id)}">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" autocomplete="email" required value="${esc(emailValue)}"${fixedEmail ? ' readonly' : ''} aria-describedby="${describedBy}"${opts.error ? ' aria-invalid="true"' : ''}>
  <p id="email-help" class="muted">${fixedEmail ? 'Set by the seller for this purchase.' : 'Your receipt and access details are sent here.'}</p>
  ${opts.error ? `<p id="email-error" class="error" role="alert">${esc(opts.error)}</p>` : ''}
  ${codeField}
  <p class="muted">Test checkout: no card is charged.</p>
  <div class="actions">
    <button class="primary" type="submit" name="action" value="pay">${s.amount_total === 0 ? 'Complete order' : `Pay ${esc(pay)}`}</button>
    <button type="submit" name="action" value="pay_delayed">Pay with a delayed method</button>
    ${s.cancel_url ? '<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>' : ''}
  </div>
</form>`);
}

function indexPage(standin: Standin, query: URLSearchParams): string {
  const st = standin.state;
  const hidden = '<input type="hidden" name="_redirect" value="/">';
  const form = (action: string, fields: Record<string, string>, label: string, context: string, extra = '') =>
    `<form method="post" action="${esc(action)}">${hidden}${Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('')}${extra}<button type="submit">${esc(label)}<span class="vh"> ${esc(context)}</span></button></form>`;
  const rows = standin.newestFirst(st.sessions).slice(0, 50).map((s) => {
    const items = (st.lineItems[s.id] ?? []).map((li) => esc(li.description) + (li.quantity > 1 ? ` × ${li.quantity}` : '')).join('<br>');
    const pi = s.payment_intent ? st.paymentIntents[s.payment_intent] : undefined;
    const charge = pi?.latest_charge ? st.charges[pi.latest_charge] : undefined;
    const dispute = charge ? Object.values(st.disputes).find((d) => d.charge === charge.id) : undefined;
    const ctx = `for ${s.id}`;
    const actions: string[] = [];
    const notes: string[] = [];
    if (s.status === 'open' && s.url) actions.push(`<a class="button" href="/c/pay/${esc(s.id)}">Open checkout page<span class="vh"> ${esc(ctx)}</span></a>`);
    if (pi?.status === 'processing') {
      actions.push(form(`/_standin/checkout/${s.id}/async`, { outcome: 'succeeded' }, 'Settle payment', ctx));
      actions.push(form(`/_standin/checkout/${s.id}/async`, { outcome: 'failed' }, 'Fail payment', ctx));
    }
    if (charge) {
      if (charge.amount_refunded > 0) notes.push(`Refunded ${esc(formatAmount(charge.amount_refunded, charge.currency))}`);
      if (dispute) notes.push(`Dispute: ${esc(dispute.status.replace('_', ' '))}`);
      const refundable = charge.status === 'succeeded' && charge.amount_refunded < charge.amount && (!dispute || dispute.status === 'won' || dispute.status.startsWith('warning_'));
      if (refundable) {
        const inputId = `amount-${s.id}`;
        actions.push(form('/_standin/refund', { payment_intent: charge.payment_intent }, 'Refund', ctx,
          `<div><label for="${esc(inputId)}">Refund amount (${esc(charge.currency.toUpperCase())})</label><input id="${esc(inputId)}" name="amount_major" inputmode="decimal" autocomplete="off" aria-describedby="${esc(inputId)}-hint"><span id="${esc(inputId)}-hint" class="muted">Blank refunds all ${esc(formatAmount(charge.amount - charge.amount_refunded, charge.currency))}</span></div>`));
      }
      if (charge.status === 'succeeded' && !dispute && charge.amount_refunded < charge.amount) actions.push(form('/_standin/dispute', { payment_intent: charge.payment_intent }, 'Dispute', ctx));
      if (charge.status === 'succeeded' && !dispute && charge.amount_refunded < charge.amount) actions.push(form('/_standin/dispute', { payment_intent: charge.payment_intent, inquiry: 'true' }, 'Inquiry', ctx));
      if (dispute && (dispute.status === 'needs_response' || dispute.status === 'under_review')) {
        actions.push(form(`/_standin/dispute/${dispute.id}/close`, { outcome: 'won' }, 'Close dispute as won', ctx));
        actions.push(form(`/_standin/dispute/${dispute.id}/close`, { outcome: 'lost' }, 'Close dispute as lost', ctx));
      }
      if (dispute && (dispute.status === 'warning_needs_response' || dispute.status === 'warning_under_review')) {
        actions.push(form(`/_standin/dispute/${dispute.id}/close`, { outcome: 'warning_closed' }, 'Close inquiry', ctx));
      }
      if (dispute?.status === 'lost') actions.push(form(`/_standin/dispute/${dispute.id}/reverse`, {}, 'Reverse dispute (won on appeal)', ctx));
      for (const refund of Object.values(st.refunds).filter((r) => r.charge === charge.id && r.status === 'succeeded')) {
        actions.push(form(`/_standin/refund/${refund.id}/fail`, {}, `Fail refund of ${formatAmount(refund.amount, charge.currency)}`, ctx));
      }
    }
    const when = new Date(s.created * 1000).toISOString().replace('T', ' ').slice(0, 16);
    return `<tr><td>${esc(when)}</td><td><code>${esc(s.id)}</code>${s.client_reference_id ? `<br><span class="muted">ref ${esc(s.client_reference_id)}</span>` : ''}</td><td>${items}</td><td>${esc(formatAmount(s.amount_total, s.currency))}</td><td>${esc(s.customer_details?.email ?? s.customer_email ?? '')}</td><td>${esc(s.status)}, ${esc(s.payment_status)}${notes.length ? `<br>${notes.join('<br>')}` : ''}</td><td>${actions.join(' ') || '—'}</td></tr>`;
  }).join('\n');
  const deliveriesFor = (id: string) => standin.deliveryLog.filter((d) => d.event_id === id).map((d) => d.status ?? 'failed').join(', ');
  const events = standin.newestFirst(st.events).slice(0, 30).map((e) =>
    `<tr><td>${esc(new Date(e.created * 1000).toISOString().slice(11, 19))}</td><td>${esc(e.type)}</td><td><code>${esc(e.id)}</code></td><td>${e.pending_webhooks}</td><td>${esc(deliveriesFor(e.id) || 'none')}</td><td>${standin.webhookUrls.length ? form(`/_standin/events/${e.id}/deliver`, {}, 'Resend', `event ${e.id}`) : '—'}</td></tr>`).join('\n');
  const notice = query.get('notice');
  const error = query.get('error');
  return layout('Stripe stand-in', `<h1>Stripe stand-in</h1>
${notice ? `<p class="notice" role="status">${esc(notice)}</p>` : ''}${error ? `<p class="alert" role="alert">${esc(error)}</p>` : ''}
<p>API base: <code>${esc(standin.baseUrl)}</code> · set <code>STRIPE_API_BASE=${esc(standin.baseUrl)}</code> in the site's environment. Payments here are simulated; nothing reaches Stripe.</p>
<p>Webhook endpoints: ${standin.webhookUrls.length ? standin.webhookUrls.map((u) => `<code>${esc(u)}</code>`).join(', ') : 'none configured'}. Delivery is <strong>${standin.deliver ? 'on' : 'off (events are recorded, not sent)'}</strong>.</p>
${form('/_standin/config', { deliver: standin.deliver ? 'false' : 'true' }, standin.deliver ? 'Stop delivering webhooks' : 'Resume delivering webhooks', '')}
<h2 id="sessions">Checkout sessions</h2>
${rows ? `<table aria-labelledby="sessions"><thead><tr><th scope="col">Created (UTC)</th><th scope="col">Session</th><th scope="col">Items</th><th scope="col">Amount</th><th scope="col">Email</th><th scope="col">Status</th><th scope="col">Actions</th></tr></thead><tbody>
${rows}
</tbody></table>` : '<p>No checkout sessions yet. Start a purchase on the site.</p>'}
<h2 id="events">Recent events</h2>
${events ? `<table aria-labelledby="events"><thead><tr><th scope="col">Time (UTC)</th><th scope="col">Type</th><th scope="col">Event</th><th scope="col">Pending webhooks</th><th scope="col">Delivery statuses</th><th scope="col">Actions</th></tr></thead><tbody>
${events}
</tbody></table>` : '<p>No events yet.</p>'}`, true);
}

// ---------------------------------------------------------------- HTTP

function readBody(req: IncomingMessage, limit = 1_000_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) { reject(new ApiError(413, 'Request body too large.')); req.destroy(); } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, no-store', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(html) });
  res.end(html);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { Location: location, 'Content-Length': 0 });
  res.end();
}

function errorBody(e: ApiError): Json {
  const error: Json = { message: e.message, type: e.type };
  if (e.code) { error.code = e.code; error.doc_url = `https://stripe.com/docs/error-codes/${e.code.replaceAll('_', '-')}`; }
  if (e.param) error.param = e.param;
  return { error };
}

type ApiHandler = (p: ParamObject, m: string[], ctx: Ctx) => unknown;

function apiRoutes(sd: Standin): [string, RegExp, ApiHandler][] {
  const refundInput = (p: ParamObject) => {
    allowOnly(p, ['payment_intent', 'charge', 'amount', 'reason', 'metadata', 'expand']);
    return { payment_intent: str(p, 'payment_intent'), charge: str(p, 'charge'), amount: int(p, 'amount', '', 1), reason: str(p, 'reason'), metadata: metadata(p, 'metadata') };
  };
  const retrieve = (kind: string, param: string, table: () => Record<string, Json>): ApiHandler => (p, m) => {
    allowOnly(p, ['expand']);
    const found = table()[m[1]!];
    if (!found) throw noSuch(kind, m[1]!, param);
    return sd.expand(found, expandList(p));
  };
  return [
    ['POST', /^\/v1\/checkout\/sessions$/, (p) => sd.expand(sd.createSession(p), expandList(p))],
    ['GET', /^\/v1\/checkout\/sessions$/, (p) => {
      allowOnly(p, ['limit', 'starting_after', 'ending_before', 'created', 'status', 'payment_intent', 'customer', 'customer_details', 'expand']);
      const status = str(p, 'status');
      if (status && !['open', 'complete', 'expired'].includes(status)) throw invalid('status', `Invalid status: must be one of open, complete, or expired`);
      const pi = str(p, 'payment_intent');
      const customer = str(p, 'customer');
      const details = obj(p, 'customer_details') ?? {};
      allowOnly(details, ['email'], 'customer_details');
      const email = str(details, 'email', 'customer_details');
      const created = createdFilter(p);
      sd.expireDue();
      return sd.list(sd.newestFirst(sd.state.sessions), p, '/v1/checkout/sessions', 'checkout.session', (s) =>
        (!status || s.status === status) && (!pi || s.payment_intent === pi) && (!customer || s.customer === customer) &&
        (!email || s.customer_details?.email === email) && created(s.created));
    }],
    ['GET', /^\/v1\/checkout\/sessions\/([^/]+)$/, (p, m) => {
      allowOnly(p, ['expand']);
      return sd.expand(sd.session(m[1]!), expandList(p));
    }],
    ['GET', /^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/, (p, m) => {
      allowOnly(p, ['limit', 'starting_after', 'ending_before', 'expand']);
      sd.session(m[1]!);
      // line items keep the order they were given in, unlike the newest-first top-level lists
      return sd.list(sd.state.lineItems[m[1]!] ?? [], p, `/v1/checkout/sessions/${m[1]!}/line_items`, 'line item', () => true);
    }],
    ['POST', /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/, (p, m, ctx) => {
      allowOnly(p, ['expand']);
      return sd.expand(sd.expireSession(m[1]!, ctx), expandList(p));
    }],
    ['GET', /^\/v1\/payment_intents\/([^/]+)$/, retrieve('payment_intent', 'intent', () => sd.state.paymentIntents)],
    ['GET', /^\/v1\/charges\/([^/]+)$/, retrieve('charge', 'id', () => sd.state.charges)],
    ['GET', /^\/v1\/refunds\/([^/]+)$/, retrieve('refund', 'id', () => sd.state.refunds)],
    ['GET', /^\/v1\/disputes\/([^/]+)$/, retrieve('dispute', 'dispute', () => sd.state.disputes)],
    ['GET', /^\/v1\/disputes$/, (p) => {
      allowOnly(p, ['limit', 'starting_after', 'ending_before', 'created', 'charge', 'payment_intent', 'expand']);
      const charge = str(p, 'charge');
      const pi = str(p, 'payment_intent');
      const created = createdFilter(p);
      return sd.list(sd.newestFirst(sd.state.disputes), p, '/v1/disputes', 'dispute', (d) =>
        (!charge || d.charge === charge) && (!pi || d.payment_intent === pi) && created(d.created as number));
    }],
    ['GET', /^\/v1\/customers\/([^/]+)$/, retrieve('customer', 'id', () => sd.state.customers)],
    ['POST', /^\/v1\/coupons$/, (p) => sd.expand(sd.createCoupon(p), expandList(p))],
    ['GET', /^\/v1\/coupons\/([^/]+)$/, retrieve('coupon', 'id', () => sd.state.coupons)],
    ['POST', /^\/v1\/promotion_codes$/, (p) => sd.expand(sd.createPromotionCode(p), expandList(p))],
    ['GET', /^\/v1\/promotion_codes$/, (p) => {
      allowOnly(p, ['limit', 'starting_after', 'ending_before', 'created', 'code', 'active', 'coupon', 'expand']);
      const code = str(p, 'code');
      const active = bool(p, 'active');
      const coupon = str(p, 'coupon');
      const created = createdFilter(p);
      return sd.list(sd.newestFirst(sd.state.promotionCodes), p, '/v1/promotion_codes', 'promotion_code', (pc) =>
        (!code || pc.code.toUpperCase() === code.toUpperCase()) && (active === undefined || pc.active === active) &&
        (!coupon || pc.promotion.coupon === coupon) && created(pc.created as number));
    }],
    ['GET', /^\/v1\/promotion_codes\/([^/]+)$/, retrieve('promotion_code', 'id', () => sd.state.promotionCodes)],
    ['POST', /^\/v1\/promotion_codes\/([^/]+)$/, (p, m) => sd.expand(sd.updatePromotionCode(m[1]!, p), expandList(p))],
    ['GET', /^\/v1\/events\/([^/]+)$/, retrieve('event', 'id', () => sd.state.events)],
    ['GET', /^\/v1\/refunds$/, (p) => {
      allowOnly(p, ['limit', 'starting_after', 'ending_before', 'created', 'charge', 'payment_intent', 'expand']);
      const charge = str(p, 'charge');
      const pi = str(p, 'payment_intent');
      const created = createdFilter(p);
      return sd.list(sd.newestFirst(sd.state.refunds), p, '/v1/refunds', 'refund', (r) =>
        (!charge || r.charge === charge) && (!pi || r.payment_intent === pi) && created(r.created as number));
    }],
    ['POST', /^\/v1\/refunds\/([^/]+)\/cancel$/, (p, m, ctx) => {
      allowOnly(p, ['expand']);
      const { refund, events } = sd.endRefund(m[1]!, 'canceled', ctx);
      sd.dispatchInBackground(events);
      return sd.expand(refund, expandList(p));
    }],
    ['POST', /^\/v1\/refunds$/, (p, _m, ctx) => {
      const { refund, events } = sd.refund(refundInput(p), ctx);
      sd.dispatchInBackground(events);
      return sd.expand(refund, expandList(p));
    }],
    ['POST', /^\/v1\/customers$/, (p) => {
      allowOnly(p, ['email', 'name', 'metadata', 'expand']);
      const email = str(p, 'email') ?? null;
      if (email && !EMAIL_RE.test(email)) throw invalid('email', `Invalid email address: ${email}`, 'email_invalid');
      const c = sd.createCustomer({ email, name: str(p, 'name') ?? null, metadata: metadata(p, 'metadata') });
      sd.save();
      return sd.expand(c, expandList(p));
    }],
    ['GET', /^\/v1\/events$/, (p) => {
      allowOnly(p, ['limit', 'starting_after', 'ending_before', 'created', 'type', 'types', 'delivery_success', 'expand']);
      const type = str(p, 'type');
      const types = (arr(p, 'types') ?? []).map(String);
      const delivered = bool(p, 'delivery_success');
      const created = createdFilter(p);
      const matches = (pattern: string, t: string) => (pattern.endsWith('*') ? t.startsWith(pattern.slice(0, -1)) : t === pattern);
      return sd.list(sd.newestFirst(sd.state.events), p, '/v1/events', 'event', (e) =>
        (!type || matches(type, e.type)) && (types.length === 0 || types.some((t) => matches(t, e.type))) &&
        (delivered === undefined || (e.pending_webhooks === 0) === delivered) && created(e.created));
    }],
  ];
}

function authenticate(req: IncomingMessage): string {
  const header = req.headers.authorization ?? '';
  let key = '';
  if (/^Bearer /i.test(header)) key = header.slice(7).trim();
  else if (/^Basic /i.test(header)) key = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')[0] ?? '';
  if (!key) {
    throw new ApiError(401, "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').");
  }
  if (!key.startsWith('sk_')) throw new ApiError(401, `Invalid API Key provided: ${key.slice(0, 8)}${'*'.repeat(Math.max(0, Math.min(key.length - 12, 20)))}${key.slice(-4)}`, { code: 'api_key_invalid' });
  return key;
}

async function handleApi(sd: Standin, routes: [string, RegExp, ApiHandler][], req: IncomingMessage, res: ServerResponse, u: URL): Promise<void> {
  const requestId = randomId('req_', 14);
  const method = req.method ?? 'GET';
  const idemKey = method === 'POST' ? (req.headers['idempotency-key'] as string | undefined) ?? null : null;
  const headers: Record<string, string> = {
    'Request-Id': requestId,
    'Stripe-Version': (req.headers['stripe-version'] as string | undefined) ?? sd.apiVersion,
    ...(idemKey ? { 'Idempotency-Key': idemKey } : {}),
  };
  const logged = (status: number) => {
    sd.requestLog.push({ method, path: u.pathname, status, at: Date.now() });
    if (sd.requestLog.length > 5000) sd.requestLog.splice(0, sd.requestLog.length - 5000);
  };
  try {
    const apiKey = authenticate(req);
    const body = method === 'POST' ? await readBody(req) : '';
    const search = new URLSearchParams(u.search);
    for (const [k, v] of new URLSearchParams(body)) search.append(k, v);
    const params = parseBracketParams(search);
    let match: string[] | null = null;
    let handler: ApiHandler | undefined;
    for (const [m, re, h] of routes) {
      const found = m === method ? re.exec(u.pathname) : null;
      if (found) { match = found.map(decodeSegment); handler = h; break; }
    }
    if (!handler || !match) {
      throw new ApiError(404, `Unrecognized request URL (${method}: ${u.pathname}). This Stripe stand-in implements only the endpoints listed in docs/stripe-standin.md.`);
    }
    const cacheKey = idemKey ? `${apiKey}\u0000${idemKey}` : null;
    const fingerprint = createHash('sha256').update(`${method} ${u.pathname} ${canonical(params)}`).digest('hex');
    const previous = cacheKey ? sd.idempotency.get(cacheKey) : undefined;
    if (previous) {
      if (previous.fingerprint !== fingerprint) {
        throw new ApiError(400, `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idemKey}' if you meant to execute a different request.`, { type: 'idempotency_error' });
      }
      logged(previous.status);
      return sendJson(res, previous.status, previous.body, { ...headers, 'Idempotent-Replayed': 'true', 'Original-Request': previous.requestId });
    }
    const result = handler(params, match, { requestId, idempotencyKey: idemKey });
    if (cacheKey) {
      sd.idempotency.set(cacheKey, { fingerprint, status: 200, body: result, requestId, at: Date.now() });
      const dayAgo = Date.now() - 86_400_000;
      for (const [k, v] of sd.idempotency) if (v.at < dayAgo) sd.idempotency.delete(k); else break;
    }
    logged(200);
    sendJson(res, 200, result, headers);
  } catch (err) {
    if (err instanceof ApiError) {
      logged(err.status);
      return sendJson(res, err.status, errorBody(err), err.status === 401 ? { ...headers, 'WWW-Authenticate': 'Basic realm="Stripe"' } : headers);
    }
    logged(500);
    sd.log(`internal error on ${method} ${u.pathname}: ${(err as Error).stack ?? String(err)}`);
    sendJson(res, 500, { error: { type: 'api_error', message: 'An unexpected error occurred in the Stripe stand-in.' } }, { ...headers, 'Stripe-Should-Retry': 'false' });
  }
}

/** Control API bodies: JSON from tests, form posts from the index page. */
async function readControlBody(req: IncomingMessage): Promise<{ body: Record<string, unknown>; form: boolean }> {
  const text = await readBody(req);
  const type = String(req.headers['content-type'] ?? '');
  if (type.includes('application/x-www-form-urlencoded')) return { body: Object.fromEntries(new URLSearchParams(text)), form: true };
  if (!text.trim()) return { body: {}, form: false };
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return { body: parsed as Record<string, unknown>, form: false };
  } catch {
    throw new ApiError(400, 'The request body must be a JSON object.');
  }
}

function decodeSegment(segment: string): string {
  try { return decodeURIComponent(segment); } catch { return segment; }
}

const flag = (v: unknown, fallback: boolean): boolean => (v === undefined || v === '' ? fallback : v === true || v === 'true');
const optStr = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

async function handleControl(sd: Standin, req: IncomingMessage, res: ServerResponse, u: URL): Promise<void> {
  const method = req.method ?? 'GET';
  const path = u.pathname;
  let form = false;
  let back = '/';
  try {
    if (method === 'GET' && path === '/_standin/health') return sendJson(res, 200, { ok: true });
    if (method === 'GET' && path === '/_standin/deliveries') {
      const ev = u.searchParams.get('event');
      return sendJson(res, 200, { deliveries: ev ? sd.deliveryLog.filter((d) => d.event_id === ev) : sd.deliveryLog });
    }
    if (method === 'GET' && path === '/_standin/config') return sendJson(res, 200, { deliver: sd.deliver, webhook_urls: sd.webhookUrls });
    if (method === 'GET' && path === '/_standin/requests') return sendJson(res, 200, { requests: sd.requestLog });
    if (method !== 'POST') throw new ApiError(404, `Unknown control route ${method} ${path}`);
    const parsed = await readControlBody(req);
    const b = parsed.body;
    form = parsed.form;
    const target = optStr(b._redirect);
    if (target && target.startsWith('/') && !target.startsWith('//')) back = target;
    const deliverNow = flag(b.deliver, true);
    const finish = async (events: StripeEvent[]) => { if (deliverNow) await sd.dispatch(events); };
    let m: RegExpExecArray | null;
    let result: Json;
    let notice: string;
    if ((m = /^\/_standin\/checkout\/([^/]+)\/pay$/.exec(path))) {
      const { session, redirect: to, events } = sd.pay(decodeSegment(m[1]!), { email: optStr(b.email), delayed: flag(b.delayed, false), promotionCode: optStr(b.promotion_code) });
      await finish(events);
      result = { session, redirect: to };
      notice = `Paid ${session.id}.`;
    } else if ((m = /^\/_standin\/checkout\/([^/]+)\/async$/.exec(path))) {
      const { session, payment_intent, events } = sd.settleAsync(decodeSegment(m[1]!), String(b.outcome ?? ''));
      await finish(events);
      result = { session, payment_intent };
      notice = `Delayed payment for ${session.id} ${String(b.outcome)}.`;
    } else if (path === '/_standin/refund') {
      let amount: number | undefined;
      if (b.amount !== undefined && b.amount !== '') {
        amount = Number(b.amount);
        if (!Number.isSafeInteger(amount)) throw invalid('amount', `Invalid integer: ${String(b.amount)}`, 'parameter_invalid_integer');
      }
      const refs = { payment_intent: optStr(b.payment_intent), charge: optStr(b.charge) };
      if (form && optStr(b.amount_major)) {
        const charge = sd.chargeFrom(refs);
        amount = parseMajorAmount(String(b.amount_major), charge.currency) ?? undefined;
        if (amount === undefined) throw invalid('amount', `"${String(b.amount_major)}" is not an amount in ${charge.currency.toUpperCase()}.`);
      }
      const { refund, charge, events } = sd.refund({ ...refs, amount, reason: optStr(b.reason), requiresAction: flag(b.requires_action, false) }, NO_REQUEST);
      await finish(events);
      result = { refund, charge };
      notice = `Refunded ${formatAmount(refund.amount, refund.currency as string)} of ${charge.id}.`;
    } else if ((m = /^\/_standin\/refund\/([^/]+)\/fail$/.exec(path))) {
      const { refund, charge, events } = sd.endRefund(decodeSegment(m[1]!), 'failed', NO_REQUEST, optStr(b.failure_reason));
      await finish(events);
      result = { refund, charge };
      notice = `Refund ${refund.id} failed.`;
    } else if ((m = /^\/_standin\/dispute\/([^/]+)\/reverse$/.exec(path))) {
      const { dispute, charge, events } = sd.reverseDispute(decodeSegment(m[1]!));
      await finish(events);
      result = { dispute, charge };
      notice = `Dispute ${dispute.id} reversed: won.`;
    } else if (path === '/_standin/dispute') {
      const { dispute, charge, events } = sd.dispute({ payment_intent: optStr(b.payment_intent), charge: optStr(b.charge), reason: optStr(b.reason), inquiry: flag(b.inquiry, false) });
      await finish(events);
      result = { dispute, charge };
      notice = `Opened dispute ${dispute.id} on ${charge.id}.`;
    } else if ((m = /^\/_standin\/dispute\/([^/]+)\/close$/.exec(path))) {
      const { dispute, charge, events } = sd.closeDispute(decodeSegment(m[1]!), String(b.outcome ?? ''));
      await finish(events);
      result = { dispute, charge };
      notice = `Dispute ${dispute.id} closed as ${dispute.status}.`;
    } else if ((m = /^\/_standin\/events\/([^/]+)\/deliver$/.exec(path))) {
      const times = b.times === undefined || b.times === '' ? 1 : Number(b.times);
      if (!Number.isInteger(times) || times < 1 || times > 100) throw invalid('times', 'times must be an integer from 1 to 100.');
      const deliveries = await sd.redeliver(decodeSegment(m[1]!), times, flag(b.concurrent, false));
      result = { event_id: m[1], statuses: deliveries.map((d) => d.status), deliveries };
      notice = `Resent ${m[1]}: ${deliveries.map((d) => d.status ?? 'failed').join(', ')}.`;
    } else if (path === '/_standin/config') {
      if (b.deliver !== undefined) sd.deliver = flag(b.deliver, true);
      if (b.webhook_urls !== undefined) {
        const urls = b.webhook_urls;
        if (!Array.isArray(urls) || !urls.every((x) => typeof x === 'string' && URL.canParse(x))) throw invalid('webhook_urls', 'webhook_urls must be an array of URLs.');
        if (urls.length > 0 && !sd.secret) throw invalid('webhook_urls', 'Start the stand-in with a webhook secret to deliver webhooks.');
        sd.webhookUrls = urls as string[];
      }
      result = { deliver: sd.deliver, webhook_urls: sd.webhookUrls };
      notice = sd.deliver ? 'Webhook delivery is on.' : 'Webhook delivery is off: events are recorded but not sent.';
    } else if (path === '/_standin/reset') {
      await sd.idle(); // a late delivery from before the reset would confuse the next test
      sd.reset();
      result = { ok: true };
      notice = 'All stand-in data was cleared.';
    } else {
      throw new ApiError(404, `Unknown control route ${method} ${path}`);
    }
    if (form) return redirect(res, `${back}?notice=${encodeURIComponent(notice)}`);
    sendJson(res, 200, result);
  } catch (err) {
    const e = err instanceof ApiError ? err : new ApiError(500, (err as Error).message, { type: 'api_error' });
    if (form) return redirect(res, `${back}?error=${encodeURIComponent(e.message)}`);
    sendJson(res, e.status, errorBody(e));
  }
}

async function handleCheckoutPage(sd: Standin, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const s = sd.state.sessions[id];
  if (!s) return sendHtml(res, 404, layout('Checkout not found', '<h1>Checkout not found</h1><p>There is no checkout session with this address. Go back to the site and start the purchase again.</p>'));
  sd.dispatchInBackground(sd.refresh(s));
  if (req.method !== 'POST') return sendHtml(res, 200, checkoutPage(sd, s));
  const form = new URLSearchParams(await readBody(req));
  const action = form.get('action') ?? 'pay';
  if (action === 'cancel') {
    if (s.cancel_url) return redirect(res, s.cancel_url);
    return sendHtml(res, 200, checkoutPage(sd, s));
  }
  if (s.status !== 'open') return sendHtml(res, 409, checkoutPage(sd, s));
  const typed = (form.get('email') ?? '').trim();
  const code = (form.get('promotion_code') ?? '').trim();
  // A code typed but not applied yet is applied by Pay too, so the page works with one press.
  if (code && s.allow_promotion_codes === true && (action === 'apply' || sd.appliedCode(s)?.code.toUpperCase() !== code.toUpperCase())) {
    try {
      sd.applyCode(s, code);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      return sendHtml(res, 400, checkoutPage(sd, s, { email: typed, code, codeError: err.message }));
    }
    if (action === 'apply') return sendHtml(res, 200, checkoutPage(sd, s, { email: typed }));
  }
  if (action === 'apply') return sendHtml(res, 400, checkoutPage(sd, s, { email: typed, codeError: 'Enter a promotion code.' }));
  if (action !== 'pay' && action !== 'pay_delayed') return sendHtml(res, 400, checkoutPage(sd, s, { error: 'Choose Pay or Cancel.' }));
  if (!sd.emailFor(s) && !EMAIL_RE.test(typed)) {
    return sendHtml(res, 400, checkoutPage(sd, s, { email: typed, error: typed ? 'Enter a valid email address, like name@example.com.' : 'Enter your email address.' }));
  }
  const { redirect: to, events } = sd.pay(s.id, { email: typed, delayed: action === 'pay_delayed' });
  // Awaited so that a browser reaching the success page implies the webhook was attempted.
  await sd.dispatch(events);
  redirect(res, to);
}

export async function startStripeStandin(options: StandinOptions = {}): Promise<StripeStandin> {
  const sd = new Standin(options);
  const routes = apiRoutes(sd);
  const server = createServer((req, res) => {
    let u: URL;
    try { u = new URL(req.url ?? '/', 'http://standin.invalid'); } catch { res.writeHead(400).end(); return; }
    const page = /^\/c\/pay\/([^/]+)$/.exec(u.pathname);
    const work = u.pathname.startsWith('/v1/') ? handleApi(sd, routes, req, res, u)
      : u.pathname.startsWith('/_standin/') ? handleControl(sd, req, res, u)
      : page ? handleCheckoutPage(sd, req, res, decodeSegment(page[1]!))
      : Promise.resolve(u.pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')
        ? sendHtml(res, 200, indexPage(sd, u.searchParams))
        : sendHtml(res, 404, layout('Not found', '<h1>Not found</h1><p><a href="/">Go to the stand-in overview</a></p>')));
    work.catch((err: unknown) => {
      sd.log(`internal error on ${req.method} ${u.pathname}: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) sendJson(res, 500, { error: { type: 'api_error', message: 'An unexpected error occurred in the Stripe stand-in.' } });
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_PORT, host, () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}`;
  sd.baseUrl = (options.publicUrl ?? url).replace(/\/+$/, '');
  const sweep = setInterval(() => sd.expireDue(), 5000);
  sweep.unref();
  let closing: Promise<void> | null = null;
  return {
    url, port, host,
    webhookSecret: sd.secret,
    deliveries: () => [...sd.deliveryLog],
    events: () => sd.newestFirst(sd.state.events),
    setDeliver: (deliver) => { sd.deliver = deliver; },
    idle: () => sd.idle(),
    reset: () => sd.reset(),
    close: () => (closing ??= (async () => {
      clearInterval(sweep);
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // background webhook deliveries get a moment to finish; each one already has its own timeout
      await Promise.race([Promise.allSettled([...sd.inflight]), new Promise((r) => setTimeout(r, sd.timeoutMs + 500))]);
      const force = setTimeout(() => server.closeAllConnections(), 2000);
      await stopped;
      clearTimeout(force);
      sd.save();
    })()),
  };
}

// ---------------------------------------------------------------- CLI

async function main(argv: string[]): Promise<void> {
  const env = readNodeEnv();
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' }, host: { type: 'string' }, 'public-url': { type: 'string' },
      'webhook-url': { type: 'string', multiple: true }, 'webhook-secret': { type: 'string' },
      state: { type: 'string' }, 'api-version': { type: 'string' }, 'no-demo-codes': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`usage: node scripts/stripe-standin.ts [--port 12111] [--host 127.0.0.1] [--public-url URL]
  [--webhook-url URL]... [--webhook-secret whsec_...] [--state data/stripe-standin.json] [--api-version V]
  [--no-demo-codes]  (without it, the promotion code LAUNCH20 (20% off) exists from the start)
env: STANDIN_PORT STANDIN_HOST STANDIN_PUBLIC_URL STANDIN_WEBHOOK_URL (comma-separated) STRIPE_WEBHOOK_SECRET STANDIN_STATE
`);
    return;
  }
  const portText = values.port ?? env.STANDIN_PORT ?? String(DEFAULT_PORT);
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${portText}`);
  const webhookUrls = values['webhook-url'] ?? (env.STANDIN_WEBHOOK_URL ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const standin = await startStripeStandin({
    port,
    host: values.host ?? env.STANDIN_HOST ?? '127.0.0.1',
    publicUrl: values['public-url'] ?? env.STANDIN_PUBLIC_URL,
    webhookUrls,
    webhookSecret: values['webhook-secret'] ?? env.STRIPE_WEBHOOK_SECRET,
    statePath: values.state ?? env.STANDIN_STATE,
    apiVersion: values['api-version'],
    log: (line) => process.stderr.write(`stripe stand-in: ${line}\n`),
    promotionCodes: values['no-demo-codes'] ? [] : DEMO_PROMOTION_CODES,
  });
  process.stdout.write(`stripe stand-in listening on ${standin.url}\n`);
  const stop = () => {
    standin.close().then(() => process.exit(0), (err: unknown) => { process.stderr.write(`${String(err)}\n`); process.exit(1); });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

const isEntry = import.meta.main ?? (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href);
if (isEntry) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`stripe stand-in: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
