// Drives the Stripe stand-in with the real `stripe` SDK, a plain-fetch "browser" and a
// real webhook receiver, so the stand-in is held to what the site will actually see.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from './support/processes.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { formatAmount, startStripeStandin } from '../scripts/stripe-standin.ts';
import type { StripeStandin } from '../scripts/stripe-standin.ts';

const SECRET = 'whsec_standin_test_secret';
const KEY = 'sk_test_standin';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}
let received: Received[] = [];
let respondWith = 200;
let receiverDelayMs = 0;
let inFlight = 0;
let maxInFlight = 0;
let receiver: Server;
let receiverUrl: string;

let clockMs = Date.UTC(2030, 0, 15, 12, 0, 0);
let standin: StripeStandin;
let stripe: Stripe;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      setTimeout(() => {
        inFlight--;
        res.writeHead(respondWith, { 'Content-Type': 'application/json' });
        res.end('{"received":true}');
      }, receiverDelayMs);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/api/stripe/webhook`;
  standin = await startStripeStandin({ port: 0, webhookUrls: [receiverUrl], webhookSecret: SECRET, now: () => clockMs });
  stripe = new Stripe(KEY, { host: '127.0.0.1', port: standin.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });
});

afterAll(async () => {
  await standin?.close();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
});

beforeEach(async () => {
  await standin.idle();
  await control('/_standin/reset', {});
  received = [];
  respondWith = 200;
  receiverDelayMs = 0;
  maxInFlight = 0;
  clockMs += 60_000;
});

// ---------------------------------------------------------------- helpers

async function control(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${standin.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const json: any = await res.json();
  if (!res.ok) throw new Error(`${path} -> ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

function sessionParams(overrides: Record<string, unknown> = {}): Stripe.Checkout.SessionCreateParams {
  return {
    mode: 'payment',
    line_items: [
      {
        price_data: { currency: 'usd', unit_amount: 1500, product_data: { name: 'Git internals', description: 'Twelve lessons on the object store' } },
        quantity: 2,
      },
    ],
    client_reference_id: 'order_42',
    metadata: { course: 'git-internals' },
    payment_intent_data: { metadata: { course: 'git-internals', buyer: 'u_1' } },
    success_url: 'http://127.0.0.1:4321/thanks?session_id={CHECKOUT_SESSION_ID}',
    cancel_url: 'http://127.0.0.1:4321/courses/git-internals',
    ...overrides,
  } as Stripe.Checkout.SessionCreateParams;
}

const createSession = (overrides: Record<string, unknown> = {}) => stripe.checkout.sessions.create(sessionParams(overrides));

/** Reads the hosted page the way a browser would and returns its form. */
async function loadCheckoutForm(pageUrl: string) {
  const res = await fetch(pageUrl);
  const html = await res.text();
  const form = /<form[^>]*method="post"[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
  const inputs = [...(form?.[2] ?? '').matchAll(/<input\b([^>]*)>/g)].map((m) => ({
    name: /name="([^"]*)"/.exec(m[1]!)?.[1],
    value: /value="([^"]*)"/.exec(m[1]!)?.[1] ?? '',
    attrs: m[1]!,
  }));
  const buttons = [...(form?.[2] ?? '').matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/g)].map((m) => ({
    value: /value="([^"]*)"/.exec(m[1]!)?.[1],
    text: m[2]!.replace(/<[^>]+>/g, '').trim(),
    attrs: m[1]!,
  }));
  return { status: res.status, html, action: form ? new URL(form[1]!, pageUrl).href : null, inputs, buttons };
}

async function submitCheckout(pageUrl: string, action: string, email?: string) {
  const page = await loadCheckoutForm(pageUrl);
  expect(page.action, 'the page has a POST form').toBeTruthy();
  const fields = new URLSearchParams();
  for (const input of page.inputs)
    if (input.name) fields.set(input.name, input.name === 'email' && email !== undefined && !/readonly/.test(input.attrs) ? email : input.value);
  fields.set('action', action);
  return fetch(page.action!, { method: 'POST', body: fields, redirect: 'manual' });
}

const verify = (r: Received) =>
  stripe.webhooks.constructEventAsync(r.body, String(r.headers['stripe-signature']), SECRET, undefined, Stripe.createSubtleCryptoProvider());

async function waitFor<T>(check: () => T | undefined | false, ms = 3000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function paidSession(overrides: Record<string, unknown> = {}) {
  const session = await createSession(overrides);
  const paid = await control(`/_standin/checkout/${session.id}/pay`, { email: 'buyer@example.com' });
  return { session: paid.session as Stripe.Checkout.Session, paymentIntent: paid.session.payment_intent as string };
}

// Intl puts a no-break space between a currency code and the number
const plain = (s: string) => s.replaceAll('\u00a0', ' ');

async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

// ---------------------------------------------------------------- tests

describe('authentication and errors', () => {
  it('answers 401 in Stripe shape without a secret key, and the SDK raises StripeAuthenticationError', async () => {
    const res = await fetch(`${standin.url}/v1/checkout/sessions`);
    expect(res.status).toBe(401);
    const body: any = await res.json();
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/API key/);

    const publishable = new Stripe('pk_test_nope', { host: '127.0.0.1', port: standin.port, protocol: 'http', maxNetworkRetries: 0 });
    const err = await rejection(publishable.checkout.sessions.list());
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(err.statusCode).toBe(401);
  });

  it('answers 404 for an unknown id in Stripe error shape and the SDK raises StripeInvalidRequestError', async () => {
    const res = await fetch(`${standin.url}/v1/checkout/sessions/cs_test_nope`, { headers: { Authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(404);
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    expect(await res.json()).toMatchObject({
      error: { type: 'invalid_request_error', code: 'resource_missing', param: 'session', message: "No such checkout.session: 'cs_test_nope'" },
    });
    for (const call of [
      stripe.checkout.sessions.retrieve('cs_test_nope'),
      stripe.paymentIntents.retrieve('pi_nope'),
      stripe.charges.retrieve('ch_nope'),
      stripe.events.retrieve('evt_nope'),
    ]) {
      const err = await rejection(call);
      expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err.statusCode).toBe(404);
      expect(err.code).toBe('resource_missing');
    }
  });

  it('survives malformed percent-encoding in paths', async () => {
    const page = await fetch(`${standin.url}/c/pay/%E0%A4%A`);
    expect(page.status).toBe(404);
    const api = await fetch(`${standin.url}/v1/checkout/sessions/%E0%A4%A`, { headers: { Authorization: `Bearer ${KEY}` } });
    expect(api.status).toBe(404);
    expect((await fetch(`${standin.url}/_standin/health`)).status).toBe(200);
  });

  it('answers 404 for an unknown endpoint', async () => {
    const res = await fetch(`${standin.url}/v1/subscriptions`, { headers: { Authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.message).toMatch(/Unrecognized request URL \(GET: \/v1\/subscriptions\)/);
  });
});

describe('creating checkout sessions', () => {
  it('returns a checkout.session in Stripe shape', async () => {
    const s = await createSession();
    expect(s.id).toMatch(/^cs_test_/);
    expect(s).toMatchObject({
      object: 'checkout.session',
      mode: 'payment',
      status: 'open',
      payment_status: 'unpaid',
      amount_total: 3000,
      amount_subtotal: 3000,
      currency: 'usd',
      livemode: false,
      payment_intent: null,
      customer_details: null,
      client_reference_id: 'order_42',
      metadata: { course: 'git-internals' },
      cancel_url: 'http://127.0.0.1:4321/courses/git-internals',
    });
    expect(s.url).toBe(`${standin.url}/c/pay/${s.id}`);
    expect(s.created).toBe(Math.floor(clockMs / 1000));
    expect(s.expires_at).toBe(s.created + 86400);
    expect(s).not.toHaveProperty('line_items');
  });

  it('rejects invalid parameters like Stripe, as StripeInvalidRequestError with the offending param', async () => {
    const item = (price: Record<string, unknown>) => [
      { price_data: { currency: 'usd', unit_amount: 1000, product_data: { name: 'X' }, ...price }, quantity: 1 },
    ];
    const cases: [Record<string, unknown>, string, string | undefined][] = [
      [{ success_url: undefined }, 'success_url', 'parameter_missing'],
      [{ line_items: item({ currency: 'xyz' }) }, 'line_items[0][price_data][currency]', undefined],
      [{ line_items: item({ unit_amount: 12.5 }) }, 'line_items[0][price_data][unit_amount]', 'parameter_invalid_integer'],
      [{ line_items: item({ unit_amount: -100 }) }, 'line_items[0][price_data][unit_amount]', 'parameter_invalid_integer'],
      [{ line_items: [{ price_data: { currency: 'usd', unit_amount: 1000, product_data: { name: 'X' } } }] }, 'line_items[0][quantity]', 'parameter_missing'],
      [{ success_url: 'not a url' }, 'success_url', 'url_invalid'],
      [{ customer_email: 'nope' }, 'customer_email', 'email_invalid'],
      [{ colour: 'blue' }, 'colour', 'parameter_unknown'],
      // Not a parameter at the pinned API version (the SDK's SessionCreateParams has no such key).
      [{ payment_method_types: ['card'] }, 'payment_method_types', 'parameter_unknown'],
      // The pinned SDK's UiMode is elements | embedded_page | form | hosted_page.
      [{ ui_mode: 'hosted' }, 'ui_mode', 'parameter_invalid'],
      [{ billing_address_collection: 'always' }, 'billing_address_collection', 'parameter_invalid'],
      [{ consent_collection: { terms_of_service: 'yes' } }, 'consent_collection[terms_of_service]', 'parameter_invalid'],
      [{ automatic_tax: { enabled: true, rate: 19 } }, 'automatic_tax[rate]', 'parameter_unknown'],
      [{ line_items: item({ tax_behavior: 'included' }) }, 'line_items[0][price_data][tax_behavior]', 'parameter_invalid'],
      [{ expires_at: Math.floor(clockMs / 1000) + 60 }, 'expires_at', undefined],
      [{ line_items: item({ unit_amount: 10 }) }, 'line_items', 'amount_too_small'],
    ];
    for (const [overrides, param, code] of cases) {
      const err = await rejection(createSession(overrides));
      expect(err, param).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err.statusCode, param).toBe(400);
      expect(err.param, JSON.stringify(overrides)).toBe(param);
      if (code) expect(err.code, param).toBe(code);
    }
    expect((await stripe.checkout.sessions.list()).data).toHaveLength(0);
  });

  it('replays a request with the same Idempotency-Key and rejects the key with other parameters', async () => {
    const first = await stripe.checkout.sessions.create(sessionParams(), { idempotencyKey: 'order-42-attempt-1' });
    const again = await stripe.checkout.sessions.create(sessionParams(), { idempotencyKey: 'order-42-attempt-1' });
    expect(again.id).toBe(first.id);
    expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();

    const err = await rejection(stripe.checkout.sessions.create(sessionParams({ client_reference_id: 'order_43' }), { idempotencyKey: 'order-42-attempt-1' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(err.type).toBe('StripeIdempotencyError');
    expect(err.raw.type).toBe('idempotency_error');
    expect(err.statusCode).toBe(400);

    const other = await stripe.checkout.sessions.create(sessionParams(), { idempotencyKey: 'order-42-attempt-2' });
    expect(other.id).not.toBe(first.id);
    expect((await stripe.checkout.sessions.list()).data.map((s) => s.id)).toEqual([other.id, first.id]);
  });

  it('creates a customer on payment with customer_creation=always and accepts an existing customer', async () => {
    const s = await createSession({ customer_creation: 'always' });
    const paid = await control(`/_standin/checkout/${s.id}/pay`, { email: 'new@example.com' });
    expect(paid.session.customer).toMatch(/^cus_/);
    const customer = await stripe.customers.retrieve(paid.session.customer);
    expect(customer).toMatchObject({ object: 'customer', email: 'new@example.com' });

    const existing = await stripe.customers.create({ email: 'known@example.com' });
    const again = await createSession({ customer: existing.id });
    const page = await loadCheckoutForm(again.url!);
    expect(page.inputs.find((i) => i.name === 'email')).toMatchObject({ value: 'known@example.com' });
    await expect(createSession({ customer: 'cus_missing' })).rejects.toMatchObject({ code: 'resource_missing', param: 'customer' });
    await expect(createSession({ customer: existing.id, customer_email: 'x@example.com' })).rejects.toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });

  it('retrieves with expand[]=line_items and expand[]=payment_intent', async () => {
    const s = await createSession();
    const before = await stripe.checkout.sessions.retrieve(s.id, { expand: ['line_items', 'payment_intent'] });
    expect(before.payment_intent).toBeNull();
    expect(before.line_items?.object).toBe('list');
    const li = before.line_items!.data[0]!;
    expect(li).toMatchObject({ object: 'item', description: 'Git internals', quantity: 2, amount_total: 3000, currency: 'usd' });
    expect(li.price?.unit_amount).toBe(1500);

    await control(`/_standin/checkout/${s.id}/pay`, { email: 'a@example.com' });
    const after = await stripe.checkout.sessions.retrieve(s.id, { expand: ['payment_intent.latest_charge'] });
    const pi = after.payment_intent as Stripe.PaymentIntent;
    expect(pi.id).toMatch(/^pi_/);
    expect(pi).toMatchObject({
      object: 'payment_intent',
      status: 'succeeded',
      amount: 3000,
      amount_received: 3000,
      metadata: { course: 'git-internals', buyer: 'u_1' },
    });
    const charge = pi.latest_charge as Stripe.Charge;
    expect(charge).toMatchObject({ object: 'charge', paid: true, amount: 3000, amount_refunded: 0, refunded: false, disputed: false, payment_intent: pi.id });
    expect(charge.id).toMatch(/^ch_/);

    const items = await stripe.checkout.sessions.listLineItems(s.id);
    expect(items.data.map((x) => x.description)).toEqual(['Git internals']);
    const err = await rejection(stripe.checkout.sessions.retrieve(s.id, { expand: ['colour'] }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });
});

describe('hosted checkout page and webhooks', () => {
  it('is a labelled form with Pay and Cancel, and paying redirects 303 to success_url after a signed webhook', async () => {
    const s = await createSession();
    const page = await loadCheckoutForm(s.url!);
    expect(page.status).toBe(200);
    expect(page.html).toMatch(/<html lang="en">/);
    expect(page.html).toMatch(/<h1>[^<]+<\/h1>/);
    expect(page.html).toContain('Git internals');
    expect(page.html).toContain('$30.00');
    expect(page.html).toMatch(/<label for="email">/);
    const email = page.inputs.find((i) => i.name === 'email')!;
    expect(email.attrs).toMatch(/id="email"/);
    expect(email.attrs).toMatch(/required/);
    expect(email.attrs).not.toMatch(/readonly/);
    expect(page.buttons.map((b) => b.value)).toEqual(['pay', 'pay_delayed', 'cancel']);
    expect(page.buttons[0]!.text).toBe('Pay $30.00');
    expect(page.buttons[2]!.text).toBe('Cancel');

    const res = await submitCheckout(s.url!, 'pay', 'learner@example.com');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`http://127.0.0.1:4321/thanks?session_id=${s.id}`);

    // no waiting: delivery happens before the redirect
    expect(received).toHaveLength(1);
    const hook = received[0]!;
    expect(hook.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(hook.headers['user-agent']).toBe('Stripe/1.0 (+https://stripe.com/docs/webhooks)');
    expect(String(hook.headers['stripe-signature'])).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const event = await verify(hook);
    expect(event.type).toBe('checkout.session.completed');
    expect(event.id).toMatch(/^evt_/);
    expect(event).toMatchObject({ object: 'event', livemode: false, request: { id: null, idempotency_key: null } });
    const completed = event.data.object as Stripe.Checkout.Session;
    expect(completed).toMatchObject({
      id: s.id,
      status: 'complete',
      payment_status: 'paid',
      client_reference_id: 'order_42',
      customer_details: { email: 'learner@example.com' },
    });
    expect(completed.payment_intent).toMatch(/^pi_/);

    const stored = await stripe.events.retrieve(event.id);
    expect(stored.type).toBe('checkout.session.completed');
    expect(stored.pending_webhooks).toBe(0);
    expect(standin.deliveries()).toMatchObject([{ event_id: event.id, url: receiverUrl, status: 200, ok: true }]);

    const after = await loadCheckoutForm(s.url!);
    expect(after.html).toMatch(/already been completed/);
    expect(after.html).not.toMatch(/<button/);
    expect(await submitCheckout(s.url!, 'pay').catch(() => null)).toBeNull(); // no form left to submit
  });

  it('rejects a tampered body or a wrong secret when verifying the webhook', async () => {
    const s = await createSession();
    await submitCheckout(s.url!, 'pay', 'learner@example.com');
    const hook = received[0]!;
    const sig = String(hook.headers['stripe-signature']);
    const tampered = hook.body.replace('"amount_total": 3000', '"amount_total": 1');
    expect(tampered).not.toBe(hook.body);
    const provider = Stripe.createSubtleCryptoProvider();
    await expect(stripe.webhooks.constructEventAsync(tampered, sig, SECRET, undefined, provider)).rejects.toBeInstanceOf(
      Stripe.errors.StripeSignatureVerificationError,
    );
    await expect(stripe.webhooks.constructEventAsync(hook.body, sig, 'whsec_other', undefined, provider)).rejects.toBeInstanceOf(
      Stripe.errors.StripeSignatureVerificationError,
    );
    await expect(verify(hook)).resolves.toBeTruthy();
  });

  it('prefills a read-only email from customer_email and keeps customer_email as given', async () => {
    const s = await createSession({ customer_email: 'fixed@example.com' });
    const page = await loadCheckoutForm(s.url!);
    const email = page.inputs.find((i) => i.name === 'email')!;
    expect(email.value).toBe('fixed@example.com');
    expect(email.attrs).toMatch(/readonly/);
    await submitCheckout(s.url!, 'pay', 'someone-else@example.com');
    const done = await stripe.checkout.sessions.retrieve(s.id);
    expect(done.customer_details?.email).toBe('fixed@example.com');
    expect(done.customer_email).toBe('fixed@example.com');
  });

  it('re-renders with an accessible error when the email is missing, without completing', async () => {
    const s = await createSession();
    const res = await submitCheckout(s.url!, 'pay', '');
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toMatch(/role="alert"/);
    expect(html).toMatch(/aria-invalid="true"/);
    expect(html).toMatch(/aria-describedby="email-help email-error"/);
    expect((await stripe.checkout.sessions.retrieve(s.id)).status).toBe('open');
    expect(received).toHaveLength(0);
  });

  it('Cancel redirects 303 to cancel_url and leaves the session open', async () => {
    const s = await createSession();
    const res = await submitCheckout(s.url!, 'cancel');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('http://127.0.0.1:4321/courses/git-internals');
    expect((await stripe.checkout.sessions.retrieve(s.id)).status).toBe('open');
    expect(received).toHaveLength(0);
  });

  it('a delayed method completes unpaid, then settles through the control API', async () => {
    const ok = await createSession();
    expect((await submitCheckout(ok.url!, 'pay_delayed', 'slow@example.com')).status).toBe(303);
    const completed = await verify(received[0]!);
    expect(completed.type).toBe('checkout.session.completed');
    expect((completed.data.object as Stripe.Checkout.Session).payment_status).toBe('unpaid');
    const pending = await stripe.checkout.sessions.retrieve(ok.id, { expand: ['payment_intent'] });
    expect((pending.payment_intent as Stripe.PaymentIntent).status).toBe('processing');

    const settled = await control(`/_standin/checkout/${ok.id}/async`, { outcome: 'succeeded' });
    expect(settled.session.payment_status).toBe('paid');
    const success = await verify(received[1]!);
    expect(success.type).toBe('checkout.session.async_payment_succeeded');
    expect((await stripe.paymentIntents.retrieve(settled.payment_intent.id)).status).toBe('succeeded');

    const bad = await createSession();
    await control(`/_standin/checkout/${bad.id}/pay`, { delayed: true });
    await control(`/_standin/checkout/${bad.id}/async`, { outcome: 'failed' });
    const failed = await verify(received.at(-1)!);
    expect(failed.type).toBe('checkout.session.async_payment_failed');
    const after = await stripe.checkout.sessions.retrieve(bad.id, { expand: ['payment_intent'] });
    expect(after.payment_status).toBe('unpaid');
    expect((after.payment_intent as Stripe.PaymentIntent).status).toBe('requires_payment_method');
    await expect(control(`/_standin/checkout/${bad.id}/async`, { outcome: 'succeeded' })).rejects.toThrow(/400/);
  });

  it('control pay returns the session and the redirect, and can skip delivery', async () => {
    const s = await createSession();
    const paid = await control(`/_standin/checkout/${s.id}/pay`, { email: 'c@example.com', deliver: false });
    expect(paid.redirect).toBe(`http://127.0.0.1:4321/thanks?session_id=${s.id}`);
    expect(paid.session).toMatchObject({ id: s.id, status: 'complete', payment_status: 'paid' });
    expect(received).toHaveLength(0);
    await expect(control(`/_standin/checkout/${s.id}/pay`, {})).rejects.toThrow(/400/);
  });

  it('redelivers one event 20 times concurrently, each signed and recorded', async () => {
    const s = await createSession();
    await submitCheckout(s.url!, 'pay', 'learner@example.com');
    const original = await verify(received[0]!);
    receiverDelayMs = 100;
    const result = await control(`/_standin/events/${original.id}/deliver`, { times: 20, concurrent: true });
    expect(result.statuses).toEqual(Array(20).fill(200));
    expect(maxInFlight).toBeGreaterThan(1);
    expect(received).toHaveLength(21);
    const events = await Promise.all(received.map(verify));
    expect(new Set(events.map((e) => e.id))).toEqual(new Set([original.id]));
    const logged = (await (await fetch(`${standin.url}/_standin/deliveries?event=${original.id}`)).json()) as any;
    expect(logged.deliveries).toHaveLength(21);
    expect(logged.deliveries.filter((d: any) => d.redelivery)).toHaveLength(20);
  });

  it('drops deliveries when told to, keeps the event pending, and delivers it later on request', async () => {
    await control('/_standin/config', { deliver: false });
    const s = await createSession();
    const res = await submitCheckout(s.url!, 'pay', 'learner@example.com');
    expect(res.status).toBe(303);
    expect(received).toHaveLength(0);
    expect(standin.deliveries()).toHaveLength(0);
    const undelivered = await stripe.events.list({ delivery_success: false });
    expect(undelivered.data.map((e) => e.type)).toEqual(['checkout.session.completed']);
    expect(undelivered.data[0]!.pending_webhooks).toBe(1);

    await control(`/_standin/events/${undelivered.data[0]!.id}/deliver`, {});
    expect(received).toHaveLength(1);
    expect((await stripe.events.retrieve(undelivered.data[0]!.id)).pending_webhooks).toBe(0);
  });

  it('records a failing endpoint with its status code and leaves the event pending', async () => {
    respondWith = 500;
    const s = await createSession();
    await submitCheckout(s.url!, 'pay', 'learner@example.com');
    expect(received).toHaveLength(1);
    const [d] = standin.deliveries();
    expect(d).toMatchObject({ status: 500, ok: false, event_type: 'checkout.session.completed' });
    expect((await stripe.events.retrieve(d!.event_id)).pending_webhooks).toBe(1);
  });

  it('expires sessions through the API and when expires_at passes, with checkout.session.expired', async () => {
    const s = await createSession();
    const expired = await stripe.checkout.sessions.expire(s.id);
    expect(expired).toMatchObject({ status: 'expired', url: null });
    const page = await loadCheckoutForm(s.url!);
    expect(page.html).toMatch(/has expired/);
    expect(page.html).not.toMatch(/<button/);
    await expect(control(`/_standin/checkout/${s.id}/pay`, {})).rejects.toThrow(/400/);
    await expect(stripe.checkout.sessions.expire(s.id)).rejects.toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    const apiEvent = await verify(await waitFor(() => received[0]));
    expect(apiEvent.type).toBe('checkout.session.expired');
    expect(apiEvent.request?.id).toMatch(/^req_/);

    const later = await createSession();
    clockMs += 25 * 3600 * 1000;
    expect((await stripe.checkout.sessions.retrieve(later.id)).status).toBe('expired');
    const types = (await stripe.events.list({ type: 'checkout.session.expired' })).data.map((e) => (e.data.object as any).id);
    expect(types).toEqual([later.id, s.id]);
  });
});

describe('tax, tax IDs, consent and invoices', () => {
  const taxed = (behavior: 'inclusive' | 'exclusive', extra: Record<string, unknown> = {}) =>
    createSession({
      line_items: [
        {
          price_data: { currency: 'eur', unit_amount: 4900, tax_behavior: behavior, product_data: { name: 'Git internals', tax_code: 'txcd_10103000' } },
          quantity: 1,
        },
      ],
      automatic_tax: { enabled: true },
      billing_address_collection: 'required',
      tax_id_collection: { enabled: true },
      invoice_creation: { enabled: true, invoice_data: { metadata: { course: 'git-internals' } } },
      consent_collection: { terms_of_service: 'required' },
      custom_text: { terms_of_service_acceptance: { message: 'I ask for immediate access. See the [terms](https://courses.test/terms/).' } },
      ...extra,
    });

  it('carves the VAT out of an inclusive price, by the billing country, and records the tax ID, consent and invoice as Stripe does', async () => {
    const s = await taxed('inclusive');
    expect(s).toMatchObject({
      ui_mode: 'hosted_page',
      automatic_tax: { enabled: true, status: 'requires_location_inputs' },
      tax_id_collection: { enabled: true },
      consent_collection: { terms_of_service: 'required' },
    });
    const paid = (await control(`/_standin/checkout/${s.id}/pay`, { email: 'b2b@example.com', country: 'DE', tax_id: 'DE123456789', consent: true })).session;
    // 4900 inclusive of 19%: 4900 * 19 / 119 = 782.35
    expect(paid).toMatchObject({
      amount_subtotal: 4900,
      amount_total: 4900,
      total_details: { amount_tax: 782 },
      automatic_tax: { status: 'complete' },
      customer_details: { address: { country: 'DE' }, tax_ids: [{ type: 'eu_vat', value: 'DE123456789' }] },
      consent: { terms_of_service: 'accepted' },
    });
    const invoice = await stripe.invoices.retrieve(paid.invoice);
    expect(invoice).toMatchObject({
      id: expect.stringMatching(/^in_/),
      status: 'paid',
      total: 4900,
      customer_tax_ids: [{ type: 'eu_vat', value: 'DE123456789' }],
    });
    const page = await fetch(invoice.hosted_invoice_url!);
    expect(await page.text()).toContain('DE123456789');
    const pdf = await fetch(invoice.invoice_pdf!);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(
      Buffer.from(await pdf.arrayBuffer())
        .subarray(0, 5)
        .toString(),
    ).toBe('%PDF-');
    // The overview page shows the tax and links the invoice, for someone running the demo.
    const overview = plain(await (await fetch(`${standin.url}/`)).text());
    expect(overview).toContain('Tax €7.82 (DE)');
    expect(overview).toContain(`<a href="/i/${invoice.id}">Invoice ${invoice.number}</a>`);
  });

  it('adds the tax on top of an exclusive price, and none for a country without one', async () => {
    const ca = (await control(`/_standin/checkout/${(await taxed('exclusive')).id}/pay`, { email: 'ca@example.com', country: 'CA', consent: true })).session;
    expect(ca).toMatchObject({ amount_subtotal: 4900, amount_total: 5145, total_details: { amount_tax: 245 } });
    const us = (await control(`/_standin/checkout/${(await taxed('exclusive')).id}/pay`, { email: 'us@example.com', country: 'US', consent: true })).session;
    expect(us).toMatchObject({ amount_total: 4900, total_details: { amount_tax: 0 } });
  });

  it('will not take the payment without the consent, the billing country or with a malformed VAT number', async () => {
    const s = await taxed('inclusive');
    await expect(control(`/_standin/checkout/${s.id}/pay`, { email: 'x@example.com', country: 'DE' })).rejects.toThrow(/terms_of_service_not_accepted/);
    await expect(control(`/_standin/checkout/${s.id}/pay`, { email: 'x@example.com', consent: true })).rejects.toThrow(/billing_address_required/);
    await expect(control(`/_standin/checkout/${s.id}/pay`, { email: 'x@example.com', country: 'DE', consent: true, tax_id: 'FR12' })).rejects.toThrow(
      /tax_id_invalid/,
    );
    // The hosted page says so too, and shows the VAT once the country is chosen.
    const form = (extra: Record<string, string>) => new URLSearchParams({ email: 'x@example.com', country: 'DE', ...extra });
    const shown = await fetch(s.url!, { method: 'POST', body: form({ action: 'address' }) });
    expect(plain(await shown.text())).toMatch(/VAT \(DE 19%\)[\s\S]*€7\.82/);
    const refused = await fetch(s.url!, { method: 'POST', body: form({ action: 'pay' }), redirect: 'manual' });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('Tick the box to accept the terms');
    expect((await stripe.checkout.sessions.retrieve(s.id)).status).toBe('open');
    const ok = await fetch(s.url!, { method: 'POST', body: form({ action: 'pay', consent: 'accepted' }), redirect: 'manual' });
    expect(ok.status).toBe(303);
    expect((await stripe.checkout.sessions.retrieve(s.id)).consent?.terms_of_service).toBe('accepted');
  });
});

describe('lists', () => {
  it('lists sessions newest first with auto-pagination, created[gte], status and payment_intent', async () => {
    const early: string[] = [];
    for (let i = 0; i < 3; i++) early.push((await createSession()).id);
    clockMs += 3600_000;
    const since = Math.floor(clockMs / 1000);
    const late: string[] = [];
    for (let i = 0; i < 4; i++) late.push((await createSession()).id);

    const seen: string[] = [];
    for await (const s of stripe.checkout.sessions.list({ limit: 2 })) seen.push(s.id);
    expect(seen).toEqual([...late].reverse().concat([...early].reverse()));

    const firstPage = await stripe.checkout.sessions.list({ limit: 3 });
    expect(firstPage.has_more).toBe(true);
    expect(firstPage.data).toHaveLength(3);
    const recent = await stripe.checkout.sessions.list({ created: { gte: since }, limit: 100 });
    expect(recent.data.map((s) => s.id)).toEqual([...late].reverse());
    expect(recent.has_more).toBe(false);

    const paid = await control(`/_standin/checkout/${early[1]}/pay`, {});
    expect((await stripe.checkout.sessions.list({ status: 'complete' })).data.map((s) => s.id)).toEqual([early[1]]);
    expect((await stripe.checkout.sessions.list({ payment_intent: paid.session.payment_intent })).data.map((s) => s.id)).toEqual([early[1]]);
    await expect(stripe.checkout.sessions.list({ limit: 101 })).rejects.toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });

  it('lists events with type, types[], created[gte] and pagination', async () => {
    const { paymentIntent } = await paidSession();
    clockMs += 600_000;
    const since = Math.floor(clockMs / 1000);
    await control('/_standin/refund', { payment_intent: paymentIntent, amount: 100 });
    const all = await stripe.events.list();
    expect(all.data.map((e) => e.type)).toEqual(['refund.created', 'charge.refunded', 'checkout.session.completed']);
    expect((await stripe.events.list({ type: 'charge.refunded' })).data).toHaveLength(1);
    expect((await stripe.events.list({ type: 'charge.*' })).data).toHaveLength(1);
    expect((await stripe.events.list({ types: ['refund.created', 'checkout.session.completed'] })).data.map((e) => e.type)).toEqual([
      'refund.created',
      'checkout.session.completed',
    ]);
    expect((await stripe.events.list({ created: { gte: since } })).data).toHaveLength(2);
    const ids: string[] = [];
    for await (const e of stripe.events.list({ limit: 1 })) ids.push(e.id);
    expect(ids).toEqual(all.data.map((e) => e.id));
  });
});

describe('currencies', () => {
  it('keeps amounts in minor units and formats zero- and three-decimal currencies', async () => {
    const jpy = await createSession({ line_items: [{ price_data: { currency: 'JPY', unit_amount: 2000, product_data: { name: 'Git 入門' } }, quantity: 2 }] });
    expect(jpy).toMatchObject({ currency: 'jpy', amount_total: 4000, amount_subtotal: 4000 });
    const page = await loadCheckoutForm(jpy.url!);
    expect(page.html).toContain('¥4,000');
    expect(page.html).not.toContain('¥40.00');
    expect(page.html).toContain('Git 入門');

    const kwd = await createSession({ line_items: [{ price_data: { currency: 'kwd', unit_amount: 12500, product_data: { name: 'K' } }, quantity: 1 }] });
    expect(plain((await loadCheckoutForm(kwd.url!)).html)).toContain('KWD 12.500');
    const odd = await rejection(
      createSession({ line_items: [{ price_data: { currency: 'kwd', unit_amount: 12345, product_data: { name: 'K' } }, quantity: 1 }] }),
    );
    expect(odd).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);

    expect(formatAmount(1999, 'usd')).toBe('$19.99');
    expect(formatAmount(500, 'krw')).toBe('₩500');
    expect(plain(formatAmount(1005, 'bhd'))).toBe('BHD 1.005');
  });
});

describe('refunds', () => {
  it('refunds in full through the API and sends charge.refunded and refund.created', async () => {
    const { paymentIntent } = await paidSession();
    const refund = await stripe.refunds.create({ payment_intent: paymentIntent });
    expect(refund.id).toMatch(/^re_/);
    expect(refund).toMatchObject({ object: 'refund', amount: 3000, status: 'succeeded', payment_intent: paymentIntent, currency: 'usd' });
    const charge = await stripe.charges.retrieve(refund.charge as string);
    expect(charge).toMatchObject({ amount_refunded: 3000, refunded: true, payment_intent: paymentIntent });
    expect((await stripe.refunds.retrieve(refund.id)).amount).toBe(3000);

    const hooks = await waitFor(() => received.length >= 3 && received);
    const types = (await Promise.all(hooks.map(verify))).map((e) => e.type);
    expect(types).toEqual(['checkout.session.completed', 'charge.refunded', 'refund.created']);
    const refunded = await verify(hooks[1]!);
    expect(refunded.data.previous_attributes).toEqual({ amount_refunded: 0, refunded: false });
    expect(refunded.request?.id).toMatch(/^req_/);
  });

  it('refunds partially and refuses more than what remains', async () => {
    const { paymentIntent } = await paidSession();
    const pi = await stripe.paymentIntents.retrieve(paymentIntent);
    const chargeId = pi.latest_charge as string;
    await stripe.refunds.create({ charge: chargeId, amount: 500 });
    let charge = await stripe.charges.retrieve(chargeId);
    expect(charge).toMatchObject({ amount_refunded: 500, refunded: false });

    const over = await rejection(stripe.refunds.create({ payment_intent: paymentIntent, amount: 2501 }));
    expect(over).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(over).toMatchObject({ statusCode: 400, code: 'amount_too_large', param: 'amount' });

    await stripe.refunds.create({ payment_intent: paymentIntent });
    charge = await stripe.charges.retrieve(chargeId);
    expect(charge).toMatchObject({ amount_refunded: 3000, refunded: true });
    const again = await rejection(stripe.refunds.create({ payment_intent: paymentIntent }));
    expect(again.code).toBe('charge_already_refunded');
    const none = await rejection(stripe.refunds.create({ payment_intent: 'pi_unknown' }));
    expect(none).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'payment_intent' });
  });

  it('control refund delivers its events before answering', async () => {
    const { paymentIntent } = await paidSession();
    received = [];
    const result = await control('/_standin/refund', { payment_intent: paymentIntent, amount: 1000 });
    expect(result.refund.amount).toBe(1000);
    expect(result.charge).toMatchObject({ amount_refunded: 1000, refunded: false });
    expect((await Promise.all(received.map(verify))).map((e) => e.type)).toEqual(['charge.refunded', 'refund.created']);
    await expect(control('/_standin/refund', { payment_intent: paymentIntent, amount: 5000 })).rejects.toThrow(/amount_too_large/);
  });
});

describe('refunds that give nothing back', () => {
  it('a refund that fails later lowers amount_refunded again, lists as failed, and sends the refund events', async () => {
    const { paymentIntent } = await paidSession();
    const { refund } = await control('/_standin/refund', { payment_intent: paymentIntent });
    received = [];
    const failed = await control(`/_standin/refund/${refund.id}/fail`, { failure_reason: 'lost_or_stolen_card' });
    expect(failed.refund).toMatchObject({ status: 'failed', failure_reason: 'lost_or_stolen_card' });
    expect(failed.charge).toMatchObject({ amount_refunded: 0, refunded: false });
    const events = await Promise.all(received.map(verify));
    expect(events.map((e) => e.type)).toEqual(['charge.refund.updated', 'refund.updated', 'refund.failed']);
    expect(events[0]!.data.previous_attributes).toEqual({ status: 'succeeded' });
    const listed = await stripe.refunds.list({ payment_intent: paymentIntent });
    expect(listed.data.map((r) => [r.id, r.status])).toEqual([[refund.id, 'failed']]);
    // Stripe refuses what cannot happen: a failed refund does not fail again, nor is it cancelled.
    await expect(control(`/_standin/refund/${refund.id}/fail`, {})).rejects.toThrow(/only a pending or succeeded refund can fail/);
    await expect(stripe.refunds.cancel(refund.id)).rejects.toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/only cancel refunds with a status of requires_action/),
    });
    await expect(control('/_standin/refund/re_unknown/fail', {})).rejects.toThrow(/No such refund/);
    // The money is the merchant's again: it can be refunded anew.
    expect((await stripe.refunds.create({ payment_intent: paymentIntent })).amount).toBe(3000);
  });

  it('a refund waiting for the customer can be cancelled through the API, and only then', async () => {
    const { paymentIntent } = await paidSession();
    const { refund, charge } = await control('/_standin/refund', { payment_intent: paymentIntent, requires_action: true });
    expect(refund.status).toBe('requires_action');
    expect(charge.amount_refunded).toBe(3000);
    const cancelled = await stripe.refunds.cancel(refund.id);
    expect(cancelled.status).toBe('canceled');
    expect(await stripe.charges.retrieve(charge.id)).toMatchObject({ amount_refunded: 0, refunded: false });
    await standin.idle();
    const types = (await Promise.all(received.map(verify))).map((e) => e.type);
    expect(types.slice(-2)).toEqual(['charge.refund.updated', 'refund.updated']);
    await expect(stripe.refunds.cancel(refund.id)).rejects.toMatchObject({ statusCode: 400 });
  });

  it('counts every API call it answers, for tests that measure Stripe calls', async () => {
    await fetch(`${standin.url}/_standin/reset`, { method: 'POST' });
    await stripe.checkout.sessions.retrieve('cs_test_unknown').catch(() => {});
    await createSession();
    const { requests } = await (await fetch(`${standin.url}/_standin/requests`)).json();
    expect(requests.map((r: { method: string; path: string; status: number }) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'GET /v1/checkout/sessions/cs_test_unknown 404',
      'POST /v1/checkout/sessions 200',
    ]);
  });
});

describe('disputes', () => {
  it('opens a dispute and closes it as won; refunds stay possible', async () => {
    const { paymentIntent } = await paidSession();
    received = [];
    const opened = await control('/_standin/dispute', { payment_intent: paymentIntent });
    expect(opened.dispute.id).toMatch(/^dp_/);
    expect(opened.dispute).toMatchObject({ object: 'dispute', status: 'needs_response', amount: 3000, payment_intent: paymentIntent });
    expect((await stripe.charges.retrieve(opened.charge.id)).disputed).toBe(true);
    expect((await verify(received[0]!)).type).toBe('charge.dispute.created');
    await expect(stripe.refunds.create({ payment_intent: paymentIntent })).rejects.toMatchObject({ code: 'charge_disputed' });

    await control(`/_standin/dispute/${opened.dispute.id}/close`, { outcome: 'won' });
    const dispute = await stripe.disputes.retrieve(opened.dispute.id);
    expect(dispute.status).toBe('won');
    const closed = await verify(received[1]!);
    expect(closed.type).toBe('charge.dispute.closed');
    expect((closed.data.object as Stripe.Dispute).status).toBe('won');
    expect(closed.data.previous_attributes).toEqual({ status: 'needs_response' });
    expect((await stripe.refunds.create({ payment_intent: paymentIntent })).amount).toBe(3000);
  });

  it('closes a dispute as lost: the charge stays disputed and cannot be refunded', async () => {
    const { paymentIntent } = await paidSession();
    const opened = await control('/_standin/dispute', { payment_intent: paymentIntent });
    const closed = await control(`/_standin/dispute/${opened.dispute.id}/close`, { outcome: 'lost' });
    expect(closed.dispute.status).toBe('lost');
    expect((await verify(received.at(-1)!)).type).toBe('charge.dispute.closed');
    const charge = await stripe.charges.retrieve(opened.charge.id);
    expect(charge).toMatchObject({ disputed: true, refunded: false, amount_refunded: 0 });
    await expect(stripe.refunds.create({ charge: charge.id })).rejects.toMatchObject({ code: 'charge_disputed' });
    await expect(control(`/_standin/dispute/${opened.dispute.id}/close`, { outcome: 'won' })).rejects.toThrow(/already closed/);
    await expect(control('/_standin/dispute', { payment_intent: paymentIntent })).rejects.toThrow(/already has a dispute/);
  });

  it('reverses a lost dispute to won (an appeal), and only a lost one', async () => {
    const { paymentIntent } = await paidSession();
    const opened = await control('/_standin/dispute', { payment_intent: paymentIntent });
    await expect(control(`/_standin/dispute/${opened.dispute.id}/reverse`, {})).rejects.toThrow(/only a lost dispute can be reversed/);
    await control(`/_standin/dispute/${opened.dispute.id}/close`, { outcome: 'lost' });
    received = [];
    const reversed = await control(`/_standin/dispute/${opened.dispute.id}/reverse`, {});
    expect(reversed.dispute.status).toBe('won');
    const events = await Promise.all(received.map(verify));
    expect(events.map((e) => e.type)).toEqual(['charge.dispute.updated', 'charge.dispute.funds_reinstated']);
    expect(events[0]!.data.previous_attributes).toEqual({ status: 'lost' });
    expect((await stripe.disputes.retrieve(opened.dispute.id)).status).toBe('won');
    await expect(control(`/_standin/dispute/${opened.dispute.id}/reverse`, {})).rejects.toThrow(/is won/);
  });

  it('an inquiry takes no money: the charge stays refundable, and it closes only as warning_closed', async () => {
    const { paymentIntent } = await paidSession();
    const opened = await control('/_standin/dispute', { payment_intent: paymentIntent, inquiry: true });
    expect(opened.dispute.status).toBe('warning_needs_response');
    await expect(control(`/_standin/dispute/${opened.dispute.id}/close`, { outcome: 'lost' })).rejects.toThrow(/is an inquiry/);
    expect((await stripe.refunds.create({ payment_intent: paymentIntent, amount: 100 })).status).toBe('succeeded');
    const closed = await control(`/_standin/dispute/${opened.dispute.id}/close`, { outcome: 'warning_closed' });
    expect(closed.dispute.status).toBe('warning_closed');
  });
});

describe('index page', () => {
  it('lists sessions and refunds through a plain HTML form', async () => {
    const { session, paymentIntent } = await paidSession();
    const html = await (await fetch(`${standin.url}/`)).text();
    expect(html).toContain(session.id);
    expect(html).toMatch(/<label for="amount-[^"]+">Refund amount \(USD\)/);
    const res = await fetch(`${standin.url}/_standin/refund`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ _redirect: '/', payment_intent: paymentIntent, amount_major: '5.00' }),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/\?notice=Refunded/);
    const pi = await stripe.paymentIntents.retrieve(paymentIntent, { expand: ['latest_charge'] });
    expect((pi.latest_charge as Stripe.Charge).amount_refunded).toBe(500);
    const bad = await fetch(`${standin.url}/_standin/refund`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ _redirect: '/', payment_intent: paymentIntent, amount_major: '99' }),
    });
    expect(bad.headers.get('location')).toMatch(/^\/\?error=Refund%20amount/);
  });
});

describe('process lifecycle', () => {
  it('keeps purchases across restarts with a state file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'standin-'));
    try {
      const statePath = join(dir, 'nested', 'state.json');
      const first = await startStripeStandin({ port: 0, statePath });
      const client = new Stripe(KEY, { host: '127.0.0.1', port: first.port, protocol: 'http', maxNetworkRetries: 0 });
      const s = await client.checkout.sessions.create(sessionParams());
      await fetch(`${first.url}/_standin/checkout/${s.id}/pay`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
      await first.close();

      const second = await startStripeStandin({ port: 0, statePath });
      const client2 = new Stripe(KEY, { host: '127.0.0.1', port: second.port, protocol: 'http', maxNetworkRetries: 0 });
      const again = await client2.checkout.sessions.retrieve(s.id, { expand: ['payment_intent'] });
      expect(again.status).toBe('complete');
      expect((again.payment_intent as Stripe.PaymentIntent).status).toBe('succeeded');
      expect((await client2.events.list()).data.map((e) => e.type)).toEqual(['checkout.session.completed']);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses webhook URLs without a secret', async () => {
    await expect(startStripeStandin({ port: 0, webhookUrls: ['http://127.0.0.1:1/hook'] })).rejects.toThrow(/secret/);
  });

  it('runs as a CLI: prints one ready line and exits cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, ['scripts/stripe-standin.ts', '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        out += c;
      });
      const line = await waitFor(() => /stripe stand-in listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out) ?? undefined, 10_000);
      const health = await fetch(`${line[1]}/_standin/health`);
      expect(await health.json()).toEqual({ ok: true });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out.trim().split('\n')).toHaveLength(1);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 20_000);
});
