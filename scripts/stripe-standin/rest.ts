// The `/v1` REST API the `stripe` SDK calls: authentication, Stripe's idempotency keys, the route
// table from method and path to the operations on the objects, and the response shapes Stripe
// gives (expansion, paginated lists). The routes read their parameters through params.ts and
// leave every rule about the objects to the modules that own them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { createSession, expireDue, expireSession, requireSession, createCustomer } from './checkout.ts';
import { decodeSegment, INTERNAL_ERROR, readBody, sendJson } from './http.ts';
import {
  allowOnly,
  ApiError,
  arr,
  bool,
  createdFilter,
  email,
  errorBody,
  expandList,
  int,
  invalid,
  metadata,
  noSuch,
  obj,
  parseBracketParams,
  str,
  type Json,
  type ParamObject,
} from './params.ts';
import { createCoupon, createPromotionCode, promotionCodeMatches, updatePromotionCode } from './promotions.ts';
import { endRefund, refund } from './refunds-and-disputes.ts';
import { appendCapped, clone, lookup, newestFirst, randomId, save, type RequestContext, type Standin } from './state.ts';
import { dispatchInBackground } from './webhooks.ts';

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

/** A copy of `value` with the ids that `expand[]` names replaced by their objects. */
function expand<T>(sd: Standin, value: T, paths: string[]): T {
  const out = clone(value) as Json;
  for (const path of paths) expandAt(sd, out, path.split('.'), path);
  return out as T;
}

function expandAt(sd: Standin, target: Json, segs: string[], full: string): void {
  const [seg, ...rest] = segs;
  if (!seg) return;
  if (target.object === 'list' && seg === 'data') {
    for (const item of target.data as Json[]) expandAt(sd, item, rest, full);
    return;
  }
  const type = String(target.object);
  if (type === 'promotion_code' && full.endsWith('promotion.coupon') && seg === 'promotion') {
    const promotion = target.promotion as Json;
    const coupon = sd.state.coupons[String(promotion.coupon)];
    if (coupon) promotion.coupon = clone(coupon);
    return;
  }
  if (!(EXPANDABLE[type] ?? []).includes(seg)) throw invalid('expand', `This property cannot be expanded (${full}).`);
  if (type === 'checkout.session' && seg === 'line_items') {
    const items = sd.state.lineItems[String(target.id)] ?? [];
    target.line_items = { object: 'list', data: clone(items), has_more: false, url: `/v1/checkout/sessions/${String(target.id)}/line_items` };
  } else if (typeof target[seg] === 'string') {
    const found = lookup(sd, target[seg] as string);
    if (found) target[seg] = clone(found);
  }
  const next = target[seg];
  if (rest.length > 0 && next && typeof next === 'object') expandAt(sd, next as Json, rest, full);
}

/** A Stripe list page over `all` (already in display order), with cursors and `has_more`. */
function list<T extends { id: string }>(sd: Standin, all: T[], p: ParamObject, path: string, kind: string, keep: (o: T) => boolean): Json {
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
  return expand(sd, { object: 'list', data: clone(data), has_more: hasMore, url: path }, expandList(p));
}

const PAGE = ['limit', 'starting_after', 'ending_before', 'created', 'expand'];

type ApiHandler = (sd: Standin, p: ParamObject, m: string[], ctx: RequestContext) => unknown;

/** `GET /v1/<things>/:id` for a table of objects. */
const retrieve =
  (kind: string, param: string, table: (sd: Standin) => Record<string, Json>): ApiHandler =>
  (sd, p, m) => {
    allowOnly(p, ['expand']);
    const found = table(sd)[m[1]!];
    if (!found) throw noSuch(kind, m[1]!, param);
    return expand(sd, found, expandList(p));
  };

/** Refunds and disputes are listed by the charge or the payment they belong to. */
const listByPayment =
  <T extends { id: string; charge: string; payment_intent: string; created?: unknown }>(
    path: string,
    kind: string,
    table: (sd: Standin) => Record<string, T>,
  ): ApiHandler =>
  (sd, p) => {
    allowOnly(p, [...PAGE, 'charge', 'payment_intent']);
    const charge = str(p, 'charge');
    const pi = str(p, 'payment_intent');
    const created = createdFilter(p);
    return list(
      sd,
      newestFirst(sd, table(sd)),
      p,
      path,
      kind,
      (o) => (!charge || o.charge === charge) && (!pi || o.payment_intent === pi) && created(o.created as number),
    );
  };

const ROUTES: [string, RegExp, ApiHandler][] = [
  ['POST', /^\/v1\/checkout\/sessions$/, (sd, p) => expand(sd, createSession(sd, p), expandList(p))],
  [
    'GET',
    /^\/v1\/checkout\/sessions$/,
    (sd, p) => {
      allowOnly(p, [...PAGE, 'status', 'payment_intent', 'customer', 'customer_details']);
      const status = str(p, 'status');
      if (status && !['open', 'complete', 'expired'].includes(status)) throw invalid('status', `Invalid status: must be one of open, complete, or expired`);
      const pi = str(p, 'payment_intent');
      const customer = str(p, 'customer');
      const details = obj(p, 'customer_details') ?? {};
      allowOnly(details, ['email'], 'customer_details');
      const buyer = str(details, 'email', 'customer_details');
      const created = createdFilter(p);
      expireDue(sd);
      return list(
        sd,
        newestFirst(sd, sd.state.sessions),
        p,
        '/v1/checkout/sessions',
        'checkout.session',
        (s) =>
          (!status || s.status === status) &&
          (!pi || s.payment_intent === pi) &&
          (!customer || s.customer === customer) &&
          (!buyer || s.customer_details?.email === buyer) &&
          created(s.created),
      );
    },
  ],
  [
    'GET',
    /^\/v1\/checkout\/sessions\/([^/]+)$/,
    (sd, p, m) => {
      allowOnly(p, ['expand']);
      return expand(sd, requireSession(sd, m[1]!), expandList(p));
    },
  ],
  [
    'GET',
    /^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/,
    (sd, p, m) => {
      allowOnly(p, ['limit', 'starting_after', 'ending_before', 'expand']);
      requireSession(sd, m[1]!);
      // line items keep the order they were given in, unlike the newest-first top-level lists
      return list(sd, sd.state.lineItems[m[1]!] ?? [], p, `/v1/checkout/sessions/${m[1]!}/line_items`, 'line item', () => true);
    },
  ],
  [
    'POST',
    /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/,
    (sd, p, m, ctx) => {
      allowOnly(p, ['expand']);
      return expand(sd, expireSession(sd, m[1]!, ctx), expandList(p));
    },
  ],
  ['GET', /^\/v1\/payment_intents\/([^/]+)$/, retrieve('payment_intent', 'intent', (sd) => sd.state.paymentIntents)],
  ['GET', /^\/v1\/charges\/([^/]+)$/, retrieve('charge', 'id', (sd) => sd.state.charges)],
  ['GET', /^\/v1\/refunds\/([^/]+)$/, retrieve('refund', 'id', (sd) => sd.state.refunds)],
  ['GET', /^\/v1\/disputes\/([^/]+)$/, retrieve('dispute', 'dispute', (sd) => sd.state.disputes)],
  ['GET', /^\/v1\/disputes$/, listByPayment('/v1/disputes', 'dispute', (sd) => sd.state.disputes)],
  ['GET', /^\/v1\/customers\/([^/]+)$/, retrieve('customer', 'id', (sd) => sd.state.customers)],
  ['GET', /^\/v1\/invoices\/([^/]+)$/, retrieve('invoice', 'invoice', (sd) => sd.state.invoices)],
  ['GET', /^\/v1\/credit_notes\/([^/]+)$/, retrieve('credit_note', 'id', (sd) => sd.state.creditNotes)],
  [
    'GET',
    /^\/v1\/credit_notes$/,
    (sd, p) => {
      allowOnly(p, [...PAGE, 'invoice', 'customer']);
      const invoice = str(p, 'invoice');
      const customer = str(p, 'customer');
      return list(
        sd,
        newestFirst(sd, sd.state.creditNotes),
        p,
        '/v1/credit_notes',
        'credit_note',
        (note) => (!invoice || note.invoice === invoice) && (!customer || note.customer === customer),
      );
    },
  ],
  ['POST', /^\/v1\/coupons$/, (sd, p) => expand(sd, createCoupon(sd, p), expandList(p))],
  ['GET', /^\/v1\/coupons\/([^/]+)$/, retrieve('coupon', 'id', (sd) => sd.state.coupons)],
  ['POST', /^\/v1\/promotion_codes$/, (sd, p) => expand(sd, createPromotionCode(sd, p), expandList(p))],
  [
    'GET',
    /^\/v1\/promotion_codes$/,
    (sd, p) => {
      allowOnly(p, [...PAGE, 'code', 'active', 'coupon']);
      const filter = { code: str(p, 'code'), active: bool(p, 'active'), coupon: str(p, 'coupon') };
      const created = createdFilter(p);
      return list(
        sd,
        newestFirst(sd, sd.state.promotionCodes),
        p,
        '/v1/promotion_codes',
        'promotion_code',
        (pc) => promotionCodeMatches(pc, filter) && created(pc.created as number),
      );
    },
  ],
  ['GET', /^\/v1\/promotion_codes\/([^/]+)$/, retrieve('promotion_code', 'id', (sd) => sd.state.promotionCodes)],
  ['POST', /^\/v1\/promotion_codes\/([^/]+)$/, (sd, p, m) => expand(sd, updatePromotionCode(sd, m[1]!, p), expandList(p))],
  ['GET', /^\/v1\/events\/([^/]+)$/, retrieve('event', 'id', (sd) => sd.state.events)],
  ['GET', /^\/v1\/refunds$/, listByPayment('/v1/refunds', 'refund', (sd) => sd.state.refunds)],
  [
    'POST',
    /^\/v1\/refunds\/([^/]+)\/cancel$/,
    (sd, p, m, ctx) => {
      allowOnly(p, ['expand']);
      const { refund: canceled, events } = endRefund(sd, m[1]!, 'canceled', ctx);
      dispatchInBackground(sd, events);
      return expand(sd, canceled, expandList(p));
    },
  ],
  [
    'POST',
    /^\/v1\/refunds$/,
    (sd, p, _m, ctx) => {
      allowOnly(p, ['payment_intent', 'charge', 'amount', 'reason', 'metadata', 'expand']);
      const input = {
        payment_intent: str(p, 'payment_intent'),
        charge: str(p, 'charge'),
        amount: int(p, 'amount', '', 1),
        reason: str(p, 'reason'),
        metadata: metadata(p, 'metadata'),
      };
      const { refund: created, events } = refund(sd, input, ctx);
      dispatchInBackground(sd, events);
      return expand(sd, created, expandList(p));
    },
  ],
  [
    'POST',
    /^\/v1\/customers$/,
    (sd, p) => {
      allowOnly(p, ['email', 'name', 'metadata', 'expand']);
      const c = createCustomer(sd, { email: email(p, 'email') ?? null, name: str(p, 'name') ?? null, metadata: metadata(p, 'metadata') });
      save(sd);
      return expand(sd, c, expandList(p));
    },
  ],
  [
    'GET',
    /^\/v1\/events$/,
    (sd, p) => {
      allowOnly(p, [...PAGE, 'type', 'types', 'delivery_success']);
      const type = str(p, 'type');
      const types = (arr(p, 'types') ?? []).map(String);
      const delivered = bool(p, 'delivery_success');
      const created = createdFilter(p);
      const matches = (pattern: string, t: string) => (pattern.endsWith('*') ? t.startsWith(pattern.slice(0, -1)) : t === pattern);
      return list(
        sd,
        newestFirst(sd, sd.state.events),
        p,
        '/v1/events',
        'event',
        (e) =>
          (!type || matches(type, e.type)) &&
          (types.length === 0 || types.some((t) => matches(t, e.type))) &&
          (delivered === undefined || (e.pending_webhooks === 0) === delivered) &&
          created(e.created),
      );
    },
  ],
];

/** Any `sk_` key is accepted, as a test-mode key; none, or another kind, is Stripe's 401. */
function authenticate(req: IncomingMessage): string {
  const header = req.headers.authorization ?? '';
  let key = '';
  if (/^Bearer /i.test(header)) key = header.slice(7).trim();
  else if (/^Basic /i.test(header)) key = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')[0] ?? '';
  if (!key) {
    throw new ApiError(
      401,
      "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
    );
  }
  if (!key.startsWith('sk_'))
    throw new ApiError(401, `Invalid API Key provided: ${key.slice(0, 8)}${'*'.repeat(Math.max(0, Math.min(key.length - 12, 20)))}${key.slice(-4)}`, {
      code: 'api_key_invalid',
    });
  return key;
}

/** Parameters in a fixed order, so that the same request always has the same fingerprint. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Json;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export async function handleApi(sd: Standin, req: IncomingMessage, res: ServerResponse, u: URL): Promise<void> {
  const requestId = randomId('req_', 14);
  const method = req.method ?? 'GET';
  const idemKey = method === 'POST' ? ((req.headers['idempotency-key'] as string | undefined) ?? null) : null;
  const headers: Record<string, string> = {
    'Request-Id': requestId,
    'Stripe-Version': (req.headers['stripe-version'] as string | undefined) ?? sd.apiVersion,
    ...(idemKey ? { 'Idempotency-Key': idemKey } : {}),
  };
  const logged = (status: number) => appendCapped(sd.requestLog, { method, path: u.pathname, status, at: Date.now() });
  try {
    const apiKey = authenticate(req);
    const body = method === 'POST' ? await readBody(req) : '';
    const search = new URLSearchParams(u.search);
    for (const [k, v] of new URLSearchParams(body)) search.append(k, v);
    const params = parseBracketParams(search);
    let match: string[] | null = null;
    let handler: ApiHandler | undefined;
    for (const [m, re, h] of ROUTES) {
      const found = m === method ? re.exec(u.pathname) : null;
      if (found) {
        match = found.map(decodeSegment);
        handler = h;
        break;
      }
    }
    if (!handler || !match) {
      throw new ApiError(
        404,
        `Unrecognized request URL (${method}: ${u.pathname}). This Stripe stand-in implements only the endpoints listed in docs/stripe-standin.md.`,
      );
    }
    const cacheKey = idemKey ? `${apiKey}\u0000${idemKey}` : null;
    const fingerprint = createHash('sha256')
      .update(`${method} ${u.pathname} ${canonical(params)}`)
      .digest('hex');
    const previous = cacheKey ? sd.idempotency.get(cacheKey) : undefined;
    if (previous) {
      if (previous.fingerprint !== fingerprint) {
        throw new ApiError(
          400,
          `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idemKey}' if you meant to execute a different request.`,
          { type: 'idempotency_error' },
        );
      }
      logged(previous.status);
      return sendJson(res, previous.status, previous.body, { ...headers, 'Idempotent-Replayed': 'true', 'Original-Request': previous.requestId });
    }
    const result = handler(sd, params, match, { requestId, idempotencyKey: idemKey });
    if (cacheKey) {
      sd.idempotency.set(cacheKey, { fingerprint, status: 200, body: result, requestId, at: Date.now() });
      const dayAgo = Date.now() - 86_400_000;
      for (const [k, v] of sd.idempotency)
        if (v.at < dayAgo) sd.idempotency.delete(k);
        else break;
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
    sendJson(res, 500, INTERNAL_ERROR, { ...headers, 'Stripe-Should-Retry': 'false' });
  }
}
