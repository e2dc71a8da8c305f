// Checkout Sessions from creation to payment or expiry, with the line items, the PaymentIntent, the
// Charge and the Customer a payment makes. This is where a purchase's money is decided, so a
// session is refused for what Stripe refuses (a currency it lacks, a total under its minimum, an
// expiry outside its window) and is paid, settled or expired as Stripe does it.
import { randomBytes } from 'node:crypto';
import { CURRENCIES, formatAmount, isThreeDecimal, minimumTotal } from './currencies.ts';
import {
  allowOnly,
  ApiError,
  arr,
  bool,
  checkEmail,
  email,
  int,
  invalid,
  isObj,
  metadata,
  missing,
  noSuch,
  obj,
  oneOf,
  str,
  sub,
  url,
  type Metadata,
  type Param,
  type ParamObject,
} from './params.ts';
import { applyTax, asks, buyerDetails, createInvoice, taxParams, type BuyerTaxInput } from './tax-and-invoices.ts';
import { appliedCode, applyCode, checkRedeemable, redeem } from './promotions.ts';
import {
  clone,
  NO_REQUEST,
  now,
  randomId,
  save,
  track,
  type Charge,
  type CheckoutSession,
  type Customer,
  type IntentData,
  type LineItem,
  type PaymentIntent,
  type RequestContext,
  type Standin,
  type StripeEvent,
} from './state.ts';
import { dispatchInBackground, emit } from './webhooks.ts';

/**
 * The parameters of POST /v1/checkout/sessions this stand-in reads, all of them in the pinned
 * SDK's SessionCreateParams (node_modules/stripe/.../Checkout/Sessions.d.ts). Anything else is
 * refused with parameter_unknown, as Stripe refuses it: `payment_method_types`, for one, is not a
 * parameter at the pinned API version (Stripe picks the methods; `allowed_payment_method_types`
 * filters them).
 */
export const SESSION_CREATE_PARAMS = [
  'mode',
  'line_items',
  'success_url',
  'cancel_url',
  'client_reference_id',
  'customer_email',
  'customer',
  'customer_creation',
  'metadata',
  'allow_promotion_codes',
  'payment_intent_data',
  'expires_at',
  'expand',
  'locale',
  'submit_type',
  'billing_address_collection',
  'ui_mode',
  'automatic_tax',
  'custom_text',
  'consent_collection',
  'invoice_creation',
  'tax_id_collection',
  // accepted and ignored: they change only what Stripe's own page collects
  'phone_number_collection',
] as const;

/** Enum values as the pinned SDK's types list them. */
const UI_MODES = ['elements', 'embedded_page', 'form', 'hosted_page'] as const;
const MODES = ['payment', 'setup', 'subscription'] as const;
const SUBMIT_TYPES = ['auto', 'book', 'donate', 'pay', 'subscribe'] as const;
const LOCALES = [
  'auto',
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
  'hi-IN',
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
] as const;
const TAX_BEHAVIORS = ['exclusive', 'inclusive', 'unspecified'] as const;

export function createSession(sd: Standin, p: ParamObject): CheckoutSession {
  allowOnly(p, SESSION_CREATE_PARAMS);
  const mode = oneOf(p, 'mode', MODES);
  if (!mode) throw missing('mode');
  if (mode !== 'payment') throw invalid('mode', `Invalid mode: '${mode}'. This stand-in supports only mode=payment.`);
  const uiMode = oneOf(p, 'ui_mode', UI_MODES);
  if (uiMode !== undefined && uiMode !== 'hosted_page')
    throw invalid('ui_mode', `ui_mode '${uiMode}' needs Stripe.js on the site's own page; this stand-in serves only hosted_page.`);
  const tax = taxParams(p);
  const rawItems = arr(p, 'line_items');
  if (!rawItems || rawItems.length === 0)
    throw new ApiError(400, 'line_items is required in payment mode.', { code: 'parameter_missing', param: 'line_items' });
  const successUrl = url(p, 'success_url');
  if (!successUrl) throw missing('success_url');
  const cancelUrl = url(p, 'cancel_url') ?? null;
  const clientRef = str(p, 'client_reference_id') ?? null;
  if (clientRef && clientRef.length > 200) throw invalid('client_reference_id', 'client_reference_id can be at most 200 characters.');
  const customerEmail = email(p, 'customer_email') ?? null;
  const customer = str(p, 'customer') ?? null;
  if (customer && customerEmail) throw invalid('customer_email', 'You may only specify one of these parameters: customer, customer_email.');
  if (customer && !sd.state.customers[customer]) throw noSuch('customer', customer, 'customer', 400);
  const customerCreation = str(p, 'customer_creation') ?? null;
  if (customerCreation) oneOf(p, 'customer_creation', ['always', 'if_required']);
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

  const created = now(sd);
  const expiresAt = int(p, 'expires_at') ?? created + 24 * 3600;
  if (expiresAt < created + 30 * 60) throw invalid('expires_at', 'The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.');
  if (expiresAt > created + 24 * 3600) throw invalid('expires_at', 'The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.');

  const id = randomId('cs_test_a1', 56);
  const items = rawItems.map((raw, i) => lineItem(sd, raw, `line_items[${i}]`, created));
  const currency = items[0]!.currency;
  if (items.some((li) => li.currency !== currency)) throw invalid('line_items', 'All line items must use the same currency.');
  const total = items.reduce((sum, li) => sum + li.amount_total, 0);
  const min = minimumTotal(currency);
  if (total < min)
    throw new ApiError(400, `The Checkout Session's total amount due must add up to at least ${formatAmount(min, currency)} ${currency}`, {
      code: 'amount_too_small',
      param: 'line_items',
    });

  const locale = oneOf(p, 'locale', LOCALES) ?? null;
  const submitType = oneOf(p, 'submit_type', SUBMIT_TYPES) ?? null;
  const session: CheckoutSession = {
    id,
    object: 'checkout.session',
    adaptive_pricing: null,
    after_expiration: null,
    allow_promotion_codes: allowPromo,
    amount_subtotal: total,
    amount_total: total,
    ...tax,
    cancel_url: cancelUrl,
    client_reference_id: clientRef,
    client_secret: null,
    consent: null,
    created,
    currency,
    custom_fields: [],
    customer,
    customer_creation: customerCreation ?? (customer ? null : 'if_required'),
    customer_details: null,
    customer_email: customerEmail,
    discounts: [],
    expires_at: expiresAt,
    invoice: null,
    livemode: false,
    locale,
    metadata: meta,
    mode: 'payment',
    payment_intent: null,
    payment_link: null,
    payment_method_collection: 'if_required',
    payment_method_options: {},
    payment_method_types: ['card'],
    payment_status: 'unpaid',
    phone_number_collection: { enabled: false },
    recovered_from: null,
    saved_payment_method_options: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: 'open',
    submit_type: submitType,
    subscription: null,
    success_url: successUrl,
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: 'hosted_page',
    url: `${sd.baseUrl}/c/pay/${id}`,
  };
  track(sd, sd.state.sessions, session);
  sd.state.lineItems[id] = items;
  sd.state.intentData[id] = intentData;
  save(sd);
  return session;
}

function lineItem(sd: Standin, raw: Param, prefix: string, created: number): LineItem {
  if (!isObj(raw)) throw invalid(prefix, `Invalid hash: ${prefix}`);
  allowOnly(raw, ['price_data', 'price', 'quantity'], prefix);
  const priceId = str(raw, 'price', prefix);
  if (priceId) throw noSuch('price', priceId, sub(prefix, 'price'), 400); // price_data prices are single-use, as in Stripe
  const quantity = int(raw, 'quantity', prefix, 1);
  if (quantity === undefined)
    throw new ApiError(400, `Quantity is required. Add \`quantity\` to \`${prefix}\``, { code: 'parameter_missing', param: sub(prefix, 'quantity') });
  const pd = obj(raw, 'price_data', prefix);
  if (!pd) throw missing(sub(prefix, 'price_data'));
  const pdPrefix = sub(prefix, 'price_data');
  allowOnly(pd, ['currency', 'unit_amount', 'unit_amount_decimal', 'product_data', 'product', 'tax_behavior'], pdPrefix);
  const currency = str(pd, 'currency', pdPrefix, true)!.toLowerCase();
  if (!CURRENCIES.has(currency))
    throw invalid(sub(pdPrefix, 'currency'), `Invalid currency: ${currency}. Stripe currently supports these currencies: ${[...CURRENCIES].join(', ')}`);
  let unitAmount = int(pd, 'unit_amount', pdPrefix, 0);
  if (unitAmount === undefined && str(pd, 'unit_amount_decimal', pdPrefix) !== undefined) {
    const dec = str(pd, 'unit_amount_decimal', pdPrefix)!;
    if (!/^\d+$/.test(dec))
      throw invalid(sub(pdPrefix, 'unit_amount_decimal'), `Invalid decimal: ${dec}. Fractional minor units are not supported by this stand-in.`);
    unitAmount = Number(dec);
  }
  if (unitAmount === undefined) throw missing(sub(pdPrefix, 'unit_amount'));
  if (isThreeDecimal(currency) && unitAmount % 10 !== 0) {
    throw invalid(sub(pdPrefix, 'unit_amount'), `Amounts in ${currency} must be multiples of 10 (the last of the three decimals must be 0).`);
  }
  if (str(pd, 'product', pdPrefix)) throw noSuch('product', str(pd, 'product', pdPrefix)!, sub(pdPrefix, 'product'), 400);
  const prod = obj(pd, 'product_data', pdPrefix);
  if (!prod) throw missing(sub(pdPrefix, 'product_data'));
  const prodPrefix = sub(pdPrefix, 'product_data');
  allowOnly(prod, ['name', 'description', 'metadata', 'images', 'tax_code'], prodPrefix);
  const name = str(prod, 'name', prodPrefix, true)!;
  const product = track(sd, sd.state.products, {
    id: randomId('prod_', 14),
    object: 'product',
    active: false,
    created,
    default_price: null,
    description: str(prod, 'description', prodPrefix) ?? null,
    images: (arr(prod, 'images', prodPrefix) ?? []).map(String),
    livemode: false,
    metadata: metadata(prod, 'metadata', prodPrefix),
    name,
    tax_code: str(prod, 'tax_code', prodPrefix) ?? null,
    type: 'service',
    updated: created,
    url: null,
  });
  const amount = unitAmount * quantity;
  return {
    id: randomId('li_'),
    object: 'item',
    amount_discount: 0,
    amount_subtotal: amount,
    amount_tax: 0,
    amount_total: amount,
    currency,
    description: name,
    quantity,
    price: {
      id: randomId('price_'),
      object: 'price',
      active: false,
      billing_scheme: 'per_unit',
      created,
      currency,
      custom_unit_amount: null,
      livemode: false,
      lookup_key: null,
      metadata: {},
      nickname: null,
      product: product.id,
      recurring: null,
      tax_behavior: oneOf(pd, 'tax_behavior', TAX_BEHAVIORS, pdPrefix) ?? 'unspecified',
      tiers_mode: null,
      transform_quantity: null,
      type: 'one_time',
      unit_amount: unitAmount,
      unit_amount_decimal: String(unitAmount),
    },
  };
}

// ---------------------------------------------------------------- expiry

/** Sessions past expires_at become expired when next looked at (and by a periodic sweep). */
function refresh(sd: Standin, s: CheckoutSession): StripeEvent[] {
  if (s.status !== 'open' || now(sd) < s.expires_at) return [];
  return [expireNow(sd, s, NO_REQUEST)];
}

/** The periodic sweep, and what a list does first so that it shows no stale open session. */
export function expireDue(sd: Standin): void {
  dispatchInBackground(
    sd,
    Object.values(sd.state.sessions).flatMap((s) => refresh(sd, s)),
  );
}

function expireNow(sd: Standin, s: CheckoutSession, ctx: RequestContext): StripeEvent {
  s.status = 'expired';
  s.url = null;
  const e = emit(sd, 'checkout.session.expired', s, ctx);
  save(sd);
  return e;
}

/** A session as it is now: one past its expiry is expired first, as Stripe would have done. */
export function getSession(sd: Standin, id: string): CheckoutSession | undefined {
  const s = sd.state.sessions[id];
  if (s) dispatchInBackground(sd, refresh(sd, s));
  return s;
}

export function requireSession(sd: Standin, id: string): CheckoutSession {
  const s = getSession(sd, id);
  if (!s) throw noSuch('checkout.session', id, 'session');
  return s;
}

export function expireSession(sd: Standin, id: string, ctx: RequestContext): CheckoutSession {
  const s = requireSession(sd, id);
  if (s.status !== 'open') {
    throw new ApiError(400, `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${s.status}".`);
  }
  dispatchInBackground(sd, [expireNow(sd, s, ctx)]);
  return s;
}

// ---------------------------------------------------------------- payment

/** The address the seller fixed for this purchase, if any: the buyer cannot change it. */
export function emailFor(sd: Standin, s: CheckoutSession): string | null {
  return s.customer_email ?? (s.customer ? (sd.state.customers[s.customer]?.email ?? null) : null);
}

/** What the Pay buttons do. Returns the events so the caller decides when they are delivered. */
export function pay(
  sd: Standin,
  id: string,
  input: { email?: string; delayed?: boolean; promotionCode?: string } & BuyerTaxInput,
): { session: CheckoutSession; redirect: string; events: StripeEvent[] } {
  const s = requireSession(sd, id);
  if (s.status !== 'open') throw new ApiError(400, `This Checkout Session is ${s.status} and can no longer be paid.`, { code: 'checkout_session_not_open' });
  const buyer = checkEmail(emailFor(sd, s) ?? (input.email?.trim() || 'test@example.com'), 'email');
  // What Stripe's page will not submit without: the address Stripe Tax needs, the consent.
  const wants = asks(s);
  if (wants.address && !input.country) throw new ApiError(400, 'Enter your billing country.', { code: 'billing_address_required', param: 'country' });
  if (wants.consent && !input.consent) throw new ApiError(400, 'Accept the terms to continue.', { code: 'terms_of_service_not_accepted', param: 'consent' });
  const details = buyerDetails(s, input);
  if (input.promotionCode) applyCode(sd, s, input.promotionCode);
  applyTax(sd, s, input.country);
  // The code may have run out since it was applied (another buyer took its last redemption).
  const applied = appliedCode(sd, s);
  if (applied) checkRedeemable(sd, applied, s);
  const t = now(sd);
  let customer = s.customer;
  if (!customer && s.customer_creation === 'always') customer = createCustomer(sd, { email: buyer }).id;
  if (applied) redeem(sd, applied);
  // As in Stripe: nothing to charge, so no PaymentIntent; the session completes at once.
  if (s.amount_total === 0) return complete(sd, s, 'no_payment_required', customer, buyer, details);
  const delayed = input.delayed === true;
  const extra = sd.state.intentData[id] ?? {
    metadata: {},
    description: null,
    receipt_email: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
  };
  const piId = randomId('pi_3');
  const chId = randomId('ch_3');
  const pmId = randomId('pm_1');
  const methodDetails = delayed
    ? {
        type: 'us_bank_account',
        us_bank_account: { account_holder_type: 'individual', bank_name: 'STRIPE TEST BANK', last4: '6789', routing_number: '110000000' },
      }
    : {
        type: 'card',
        card: {
          brand: 'visa',
          country: 'US',
          exp_month: 12,
          exp_year: new Date(t * 1000).getUTCFullYear() + 3,
          funding: 'credit',
          last4: '4242',
          network: 'visa',
        },
      };
  const pi: PaymentIntent = {
    id: piId,
    object: 'payment_intent',
    amount: s.amount_total,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: delayed ? 0 : s.amount_total,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: 'automatic_async',
    client_secret: `${piId}_secret_${randomId('', 25)}`,
    confirmation_method: 'automatic',
    created: t,
    currency: s.currency,
    customer,
    description: extra.description,
    last_payment_error: null,
    latest_charge: chId,
    livemode: false,
    metadata: clone(extra.metadata),
    next_action: null,
    on_behalf_of: null,
    payment_method: pmId,
    payment_method_options: {},
    payment_method_types: [methodDetails.type],
    processing: null,
    receipt_email: extra.receipt_email,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: extra.statement_descriptor,
    statement_descriptor_suffix: extra.statement_descriptor_suffix,
    status: delayed ? 'processing' : 'succeeded',
    transfer_data: null,
    transfer_group: null,
  };
  const charge: Charge = {
    id: chId,
    object: 'charge',
    amount: s.amount_total,
    amount_captured: s.amount_total,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    balance_transaction: randomId('txn_3'),
    billing_details: { address: null, email: buyer, name: null, phone: null },
    calculated_statement_descriptor: 'COURSES',
    captured: true,
    created: t,
    currency: s.currency,
    customer,
    description: extra.description,
    disputed: false,
    failure_code: null,
    failure_message: null,
    fraud_details: {},
    livemode: false,
    metadata: clone(extra.metadata),
    outcome: { network_status: 'approved_by_network', reason: null, risk_level: 'normal', seller_message: 'Payment complete.', type: 'authorized' },
    paid: !delayed,
    payment_intent: piId,
    payment_method: pmId,
    payment_method_details: methodDetails,
    receipt_email: extra.receipt_email,
    receipt_url: null,
    refunded: false,
    review: null,
    shipping: null,
    status: delayed ? 'pending' : 'succeeded',
  };
  track(sd, sd.state.paymentIntents, pi);
  track(sd, sd.state.charges, charge);
  s.payment_intent = piId;
  charge.billing_details = { address: details.address, email: buyer, name: null, phone: null };
  return complete(sd, s, delayed ? 'unpaid' : 'paid', customer, buyer, details);
}

/** A paid and a free checkout complete the session the same way, here. */
function complete(
  sd: Standin,
  s: CheckoutSession,
  paymentStatus: CheckoutSession['payment_status'],
  customer: CheckoutSession['customer'],
  buyer: string,
  details: ReturnType<typeof buyerDetails>,
) {
  s.status = 'complete';
  s.payment_status = paymentStatus;
  s.customer = customer;
  s.url = null;
  // customer_email stays as given (null if none), as in Stripe: the buyer's address is in customer_details.
  s.customer_details = {
    address: details.address,
    business_name: null,
    email: buyer,
    individual_name: null,
    name: null,
    phone: null,
    tax_exempt: 'none',
    tax_ids: details.tax_ids,
  };
  s.consent = details.consent;
  // Checkout finalizes the invoice with the payment (a delayed one too: it is paid when it settles).
  if ((s.invoice_creation as { enabled?: boolean } | null)?.enabled) s.invoice = createInvoice(sd, s, customer).id;
  const event = emit(sd, 'checkout.session.completed', s, NO_REQUEST);
  save(sd);
  return { session: s, redirect: (s.success_url ?? '').replaceAll('{CHECKOUT_SESSION_ID}', s.id), events: [event] };
}

/** A delayed payment (a bank debit) succeeds or fails days later; here, when a test says so. */
export function settleAsync(sd: Standin, id: string, outcome: string): { session: CheckoutSession; payment_intent: PaymentIntent; events: StripeEvent[] } {
  if (outcome !== 'succeeded' && outcome !== 'failed') throw invalid('outcome', "outcome must be 'succeeded' or 'failed'");
  const s = requireSession(sd, id);
  const pi = s.payment_intent ? sd.state.paymentIntents[s.payment_intent] : undefined;
  if (s.status !== 'complete' || !pi || pi.status !== 'processing') {
    throw invalid('id', `Checkout Session ${id} has no delayed payment waiting to settle.`);
  }
  const charge = sd.state.charges[pi.latest_charge ?? '']!;
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
  const event = emit(sd, `checkout.session.async_payment_${outcome}`, s, NO_REQUEST);
  save(sd);
  return { session: s, payment_intent: pi, events: [event] };
}

export function createCustomer(sd: Standin, input: { email?: string | null; name?: string | null; metadata?: Metadata }): Customer {
  return track(sd, sd.state.customers, {
    id: randomId('cus_', 14),
    object: 'customer',
    address: null,
    balance: 0,
    created: now(sd),
    currency: null,
    default_source: null,
    delinquent: false,
    description: null,
    email: input.email ?? null,
    invoice_prefix: randomBytes(4).toString('hex').toUpperCase(),
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode: false,
    metadata: input.metadata ?? {},
    name: input.name ?? null,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  });
}
