// The `/_standin/` control API: what a test (or the overview page's buttons) does that in real
// life a buyer, a bank or time would do: pay, settle a delayed payment, refund, fail a refund,
// dispute and decide a dispute, resend an event, switch delivery off, reset. JSON in and out for
// tests; a form post from the overview page is answered with a redirect back to it. It has no
// authentication, which is why the stand-in listens on loopback.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pay, settleAsync } from './checkout.ts';
import { formatAmount, parseMajorAmount } from './currencies.ts';
import { decodeSegment, readBody, redirect, sendJson } from './http.ts';
import { ApiError, errorBody, invalid, type Json } from './params.ts';
import { seedPromotionCodes } from './promotions.ts';
import { chargeFrom, closeDispute, endRefund, openDispute, refund, reverseDispute } from './refunds-and-disputes.ts';
import { forget, NO_REQUEST, save, type Standin, type StripeEvent } from './state.ts';
import { dispatch, idle, redeliver } from './webhooks.ts';

/** Back to the state it started in: no objects, no logs, its own webhook settings, its seeded codes. */
export function resetStandin(sd: Standin): void {
  forget(sd);
  seedPromotionCodes(sd);
  save(sd);
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

/** A switch in either body: JSON's true or a form's 'true'. */
const flag = (v: unknown, fallback: boolean): boolean => (v === undefined || v === '' ? fallback : v === true || v === 'true');
const optStr = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export async function handleControl(sd: Standin, req: IncomingMessage, res: ServerResponse, u: URL): Promise<void> {
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
    const finish = async (events: StripeEvent[]) => {
      if (deliverNow) await dispatch(sd, events);
    };
    let m: RegExpExecArray | null;
    let result: Json;
    let notice: string;
    if ((m = /^\/_standin\/checkout\/([^/]+)\/pay$/.exec(path))) {
      const {
        session,
        redirect: to,
        events,
      } = pay(sd, decodeSegment(m[1]!), {
        email: optStr(b.email),
        delayed: flag(b.delayed, false),
        promotionCode: optStr(b.promotion_code),
        country: optStr(b.country)?.toUpperCase(),
        postalCode: optStr(b.postal_code),
        taxId: optStr(b.tax_id),
        consent: flag(b.consent, false),
      });
      await finish(events);
      result = { session, redirect: to };
      notice = `Paid ${session.id}.`;
    } else if ((m = /^\/_standin\/checkout\/([^/]+)\/async$/.exec(path))) {
      const { session, payment_intent, events } = settleAsync(sd, decodeSegment(m[1]!), String(b.outcome ?? ''));
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
        const charge = chargeFrom(sd, refs);
        amount = parseMajorAmount(String(b.amount_major), charge.currency) ?? undefined;
        if (amount === undefined) throw invalid('amount', `"${String(b.amount_major)}" is not an amount in ${charge.currency.toUpperCase()}.`);
      }
      const {
        refund: made,
        charge,
        events,
      } = refund(
        sd,
        { ...refs, amount, reason: optStr(b.reason), requiresAction: flag(b.requires_action, false), pending: flag(b.pending, false) },
        NO_REQUEST,
      );
      await finish(events);
      result = { refund: made, charge };
      notice = `Refunded ${formatAmount(made.amount, made.currency as string)} of ${charge.id}.`;
    } else if ((m = /^\/_standin\/refund\/([^/]+)\/fail$/.exec(path))) {
      const { refund: failed, charge, events } = endRefund(sd, decodeSegment(m[1]!), 'failed', NO_REQUEST, optStr(b.failure_reason));
      await finish(events);
      result = { refund: failed, charge };
      notice = `Refund ${failed.id} failed.`;
    } else if ((m = /^\/_standin\/dispute\/([^/]+)\/reverse$/.exec(path))) {
      const { dispute, charge, events } = reverseDispute(sd, decodeSegment(m[1]!));
      await finish(events);
      result = { dispute, charge };
      notice = `Dispute ${dispute.id} reversed: won.`;
    } else if (path === '/_standin/dispute') {
      const { dispute, charge, events } = openDispute(sd, {
        payment_intent: optStr(b.payment_intent),
        charge: optStr(b.charge),
        reason: optStr(b.reason),
        inquiry: flag(b.inquiry, false),
      });
      await finish(events);
      result = { dispute, charge };
      notice = `Opened dispute ${dispute.id} on ${charge.id}.`;
    } else if ((m = /^\/_standin\/dispute\/([^/]+)\/close$/.exec(path))) {
      const { dispute, charge, events } = closeDispute(sd, decodeSegment(m[1]!), String(b.outcome ?? ''));
      await finish(events);
      result = { dispute, charge };
      notice = `Dispute ${dispute.id} closed as ${dispute.status}.`;
    } else if ((m = /^\/_standin\/events\/([^/]+)\/deliver$/.exec(path))) {
      const times = b.times === undefined || b.times === '' ? 1 : Number(b.times);
      if (!Number.isInteger(times) || times < 1 || times > 100) throw invalid('times', 'times must be an integer from 1 to 100.');
      const deliveries = await redeliver(sd, decodeSegment(m[1]!), times, flag(b.concurrent, false));
      result = { event_id: m[1], statuses: deliveries.map((d) => d.status), deliveries };
      notice = `Resent ${m[1]}: ${deliveries.map((d) => d.status ?? 'failed').join(', ')}.`;
    } else if (path === '/_standin/config') {
      if (b.deliver !== undefined) sd.deliver = flag(b.deliver, true);
      if (b.webhook_urls !== undefined) {
        const urls = b.webhook_urls;
        if (!Array.isArray(urls) || !urls.every((x) => typeof x === 'string' && URL.canParse(x)))
          throw invalid('webhook_urls', 'webhook_urls must be an array of URLs.');
        if (urls.length > 0 && !sd.secret) throw invalid('webhook_urls', 'Start the stand-in with a webhook secret to deliver webhooks.');
        sd.webhookUrls = urls as string[];
      }
      result = { deliver: sd.deliver, webhook_urls: sd.webhookUrls };
      notice = sd.deliver ? 'Webhook delivery is on.' : 'Webhook delivery is off: events are recorded but not sent.';
    } else if (path === '/_standin/reset') {
      await idle(sd); // a late delivery from before the reset would confuse the next test
      resetStandin(sd);
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
