// Events and their delivery: every change the site must hear about becomes a Stripe `event`,
// stored for `GET /v1/events` and POSTed to each webhook URL signed exactly as Stripe signs it, so
// the site's real verification (`constructEvent`) is what the tests exercise. Each attempt is
// logged for the control API, since "the webhook failed, or never came" is what tests set up.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createHmac } from 'node:crypto';
import { invalid, noSuch, type Json } from './params.ts';
import { appendCapped, clone, now, randomId, save, track, type Delivery, type RequestContext, type Standin, type StripeEvent } from './state.ts';

/** Records an event; the caller decides when it is sent (see dispatch and dispatchInBackground). */
export function emit(sd: Standin, type: string, object: Json, ctx: RequestContext, previous?: Json): StripeEvent {
  const event: StripeEvent = {
    id: randomId('evt_1'),
    object: 'event',
    api_version: sd.apiVersion,
    created: now(sd),
    data: previous ? { object: clone(object), previous_attributes: previous } : { object: clone(object) },
    livemode: false,
    pending_webhooks: sd.webhookUrls.length,
    request: { id: ctx.requestId, idempotency_key: ctx.idempotencyKey },
    type,
  };
  track(sd, sd.state.events, event);
  sd.state.acked[event.id] = [];
  return event;
}

/** Stripe's `Stripe-Signature`: `t=<unix>,v1=<HMAC-SHA256 of "<t>.<body>" keyed with the whole secret>`. */
function signPayload(payload: string, secret: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

function postWebhook(
  target: string,
  payload: string,
  secret: string,
  timeoutMs: number,
): Promise<{ status: number | null; ms: number; error: string | null; body: string | null }> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let u: URL;
    try {
      u = new URL(target);
    } catch {
      return resolve({ status: null, ms: 0, error: `invalid URL ${target}`, body: null });
    }
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    // Signed with the wall clock even when tests fake `now`: receivers check the timestamp against their own clock.
    const signature = signPayload(payload, secret, Math.floor(Date.now() / 1000));
    const req = send(
      u,
      {
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
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          if (chunks.length < 16) chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? null, ms: ms(), error: null, body: Buffer.concat(chunks).toString('utf8').slice(0, 1000) }));
        res.on('error', (err) => resolve({ status: res.statusCode ?? null, ms: ms(), error: err.message, body: null }));
      },
    );
    req.on('error', (err) =>
      resolve({
        status: null,
        ms: ms(),
        error: err.name === 'TimeoutError' || err.name === 'AbortError' ? `timed out after ${timeoutMs} ms` : err.message,
        body: null,
      }),
    );
    req.end(payload);
  });
}

/** One attempt; a 2xx counts the endpoint off the event's `pending_webhooks`, once. */
async function deliverOne(sd: Standin, event: StripeEvent, target: string, redelivery: boolean): Promise<Delivery> {
  const payload = JSON.stringify(event, null, 2);
  const r = await postWebhook(target, payload, sd.secret ?? '', sd.timeoutMs);
  const ok = r.status !== null && r.status >= 200 && r.status < 300;
  const d: Delivery = {
    id: randomId('dlv_', 16),
    event_id: event.id,
    event_type: event.type,
    url: target,
    status: r.status,
    ok,
    ms: r.ms,
    error: r.error,
    response_body: r.body,
    attempted_at: Date.now(),
    redelivery,
  };
  appendCapped(sd.deliveryLog, d);
  const acked = (sd.state.acked[event.id] ??= []);
  const stored = sd.state.events[event.id];
  if (ok && stored && !acked.includes(target)) {
    acked.push(target);
    stored.pending_webhooks = Math.max(0, stored.pending_webhooks - 1);
    save(sd);
  }
  if (!ok) sd.log(`webhook ${event.type} ${event.id} -> ${target} failed: ${r.status ?? r.error}`);
  return d;
}

/** Sends events in order, each to every endpoint at once; honours the "drop deliveries" switch. */
export async function dispatch(sd: Standin, events: StripeEvent[]): Promise<Delivery[]> {
  if (!sd.deliver) return [];
  const done: Delivery[] = [];
  for (const e of events) done.push(...(await Promise.all(sd.webhookUrls.map((u) => deliverOne(sd, e, u, false)))));
  return done;
}

/** Like Stripe, API-triggered events arrive after the API response, not before it. */
export function dispatchInBackground(sd: Standin, events: StripeEvent[]): void {
  if (events.length === 0) return;
  const p = dispatch(sd, events)
    .catch(() => [])
    .finally(() => sd.inflight.delete(p));
  sd.inflight.add(p);
}

/** Resolves once the deliveries started in the background have finished. */
export async function idle(sd: Standin): Promise<void> {
  while (sd.inflight.size > 0) await Promise.allSettled([...sd.inflight]);
}

/** Sends a stored event again, even while delivery is off: how a test makes a late or repeated webhook arrive. */
export async function redeliver(sd: Standin, eventId: string, times: number, concurrent: boolean): Promise<Delivery[]> {
  const event = sd.state.events[eventId];
  if (!event) throw noSuch('event', eventId, 'id');
  if (sd.webhookUrls.length === 0) throw invalid('id', 'No webhook URL is configured, so there is nowhere to deliver to.');
  const once = () => Promise.all(sd.webhookUrls.map((u) => deliverOne(sd, event, u, true)));
  const out: Delivery[] = [];
  if (concurrent) for (const batch of await Promise.all(Array.from({ length: times }, once))) out.push(...batch);
  else for (let i = 0; i < times; i++) out.push(...(await once()));
  return out;
}
