// The pages a person sees: the hosted checkout page a buyer is sent to (`session.url`), which
// pays, applies a promotion code or cancels with plain HTML forms and no JavaScript, and asks for
// the billing country (its tax shown once known), a tax ID and the consent when the session
// wants them; an invoice's hosted page and PDF (`/i/<id>`, `/i/<id>/pdf`); and the
// overview page at `/` where someone running the demo sees sessions and events and refunds,
// disputes or resends with a button. The buttons post to the control API; the page offers only
// what the rules in refunds-and-disputes.ts allow.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { emailFor, getSession, pay } from './checkout.ts';
import { formatAmount, formatAmount as formatMoney } from './currencies.ts';
import { readBody, redirect, sendHtml } from './http.ts';
import { ApiError, isEmail } from './params.ts';
import { appliedCode, applyCode, isApplied } from './promotions.ts';
import { disputeOf, disputeRefusal, isClosed, isInquiry, refundRefusal } from './refunds-and-disputes.ts';
import {
  applyTax,
  asks,
  checkTaxId,
  COUNTRIES,
  creditNotePdf,
  invoicePage,
  invoicePdf,
  taxLabel,
  type BuyerTaxInput,
  type CreditNote,
  type Invoice,
} from './tax-and-invoices.ts';
import { newestFirst, type CheckoutSession, type LineItem, type Standin } from './state.ts';
import { dispatch } from './webhooks.ts';

function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

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

/**
 * The buyer's checkout page in the session's `locale`, as Stripe's follows it: English, and
 * French for sites written in French (the rest of the stand-in's pages are for developers).
 */
const WORDS = {
  en: {
    lang: 'en',
    locale: 'en-US',
    summary: 'Order summary',
    subtotal: 'Subtotal',
    promo: 'Promotion code',
    total: 'Total due',
    heading: 'Complete your purchase',
    email: 'Email',
    fixed: 'Set by the seller for this purchase.',
    receipt: 'Your receipt and access details are sent here.',
    test: 'Test checkout: no card is charged.',
    complete: 'Complete order',
    pay: (amount: string) => `Pay ${amount}`,
    delayed: 'Pay with a delayed method',
    cancel: 'Cancel',
    apply: 'Apply',
    testMode: 'Test mode',
  },
  fr: {
    lang: 'fr',
    locale: 'fr-FR',
    summary: 'Récapitulatif de la commande',
    subtotal: 'Sous-total',
    promo: 'Code promotionnel',
    total: 'Total à payer',
    heading: 'Finalisez votre achat',
    email: 'E-mail',
    fixed: 'Fixé par le vendeur pour cet achat.',
    receipt: 'Votre reçu et vos accès sont envoyés à cette adresse.',
    test: 'Paiement de test : aucune carte n’est débitée.',
    complete: 'Valider la commande',
    pay: (amount: string) => `Payer ${amount}`,
    delayed: 'Payer avec un moyen différé',
    cancel: 'Annuler',
    apply: 'Appliquer',
    testMode: 'Mode test',
  },
};
type Words = (typeof WORDS)['en'];
const wordsOf = (s: CheckoutSession): Words => (String(s.locale ?? '').split('-')[0] === 'fr' ? WORDS.fr : WORDS.en);

function layout(title: string, body: string, wide = false, lang = 'en'): string {
  return `<!doctype html>
<html lang="${esc(lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><main${wide ? ' class="wide"' : ''}>
${body}
</main></body></html>`;
}

function summary(sd: Standin, s: CheckoutSession, items: LineItem[], country?: string): string {
  const w = wordsOf(s);
  const formatAmount = (amount: number, currency: string) => formatMoney(amount, currency, w.locale);
  const rows = items
    .map((li) => {
      const description = sd.state.products[li.price.product]?.description;
      return `<li><div>${esc(li.description)}${li.quantity > 1 ? ` <span class="muted">× ${li.quantity}</span>` : ''}${
        typeof description === 'string' ? `<p class="muted">${esc(description)}</p>` : ''
      }</div><span>${esc(formatAmount(li.amount_total, li.currency))}</span></li>`;
    })
    .join('\n');
  const applied = appliedCode(sd, s);
  const discount = (s.total_details as { amount_discount?: number } | undefined)?.amount_discount ?? 0;
  const discountRow =
    applied && discount > 0
      ? `<p class="total"><span>${w.subtotal}</span> <span>${esc(formatAmount(s.amount_subtotal, s.currency))}</span></p>
<p class="total" id="discount"><span>${w.promo} <code>${esc(applied.code)}</code></span> <span>−${esc(formatAmount(discount, s.currency))}</span></p>`
      : '';
  const label = taxLabel(s, country);
  const inclusive = items[0]?.price.tax_behavior === 'inclusive';
  const taxRow = label
    ? `<p class="total" id="tax"><span>${esc(label)}${inclusive ? ' <span class="muted">included</span>' : ''}</span> <span>${esc(formatAmount((s.total_details as { amount_tax: number }).amount_tax, s.currency))}</span></p>`
    : (s.automatic_tax as { enabled?: boolean }).enabled
      ? '<p class="muted" id="tax">Tax is calculated from your billing country.</p>'
      : '';
  return `<h2 id="summary">${w.summary}</h2>
<ul class="items" aria-labelledby="summary">
${rows}
</ul>
${discountRow}${taxRow}<p class="total"><span>${w.total}</span> <strong>${esc(formatAmount(s.amount_total, s.currency))}</strong></p>`;
}

type PageInput = { error?: string; email?: string; code?: string; codeError?: string; taxError?: string; consentError?: string; buyer?: BuyerTaxInput };

/** The fields Stripe's page adds for tax and consent, when the session asks for them. */
function taxFields(s: CheckoutSession, opts: PageInput): string {
  const wants = asks(s);
  const buyer = opts.buyer ?? {};
  const parts: string[] = [];
  if (wants.address) {
    const options = Object.entries(COUNTRIES)
      .sort((a, b) => a[1].localeCompare(b[1]))
      .map(([code, name]) => `<option value="${code}"${buyer.country === code ? ' selected' : ''}>${esc(name)}</option>`)
      .join('');
    parts.push(`<label for="country">Billing country</label>
  <div class="actions" style="margin-top:0">
    <select id="country" name="country" required autocomplete="country" style="font:inherit;padding:.5rem;flex:1"><option value="">Choose…</option>${options}</select>
    <button type="submit" name="action" value="address" formnovalidate>Update total</button>
  </div>
  <label for="postal_code">Postal code</label>
  <input id="postal_code" name="postal_code" autocomplete="postal-code" value="${esc(buyer.postalCode ?? '')}">`);
  }
  if (wants.taxId) {
    parts.push(`<label for="tax_id">VAT or tax ID <span class="muted">(optional, for a business purchase)</span></label>
  <input id="tax_id" name="tax_id" autocomplete="off" value="${esc(buyer.taxId ?? '')}"${opts.taxError ? ' aria-invalid="true" aria-describedby="tax-error"' : ''}>
  ${opts.taxError ? `<p id="tax-error" class="error" role="alert">${esc(opts.taxError)}</p>` : ''}`);
  }
  if (wants.consent) {
    const message =
      (s.custom_text as { terms_of_service_acceptance: { message: string } | null }).terms_of_service_acceptance?.message ?? 'I agree to the terms of service.';
    // Stripe renders the custom text's Markdown links; so does this page, and nothing else of it.
    const html = esc(message).replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g, (_m, text: string, href: string) => `<a href="${href}">${text}</a>`);
    parts.push(`<p><label style="font-weight:400"><input type="checkbox" id="consent" name="consent" value="accepted" required style="width:auto"${buyer.consent ? ' checked' : ''}${opts.consentError ? ' aria-invalid="true" aria-describedby="consent-error"' : ''}> ${html}</label></p>
  ${opts.consentError ? `<p id="consent-error" class="error" role="alert">${esc(opts.consentError)}</p>` : ''}`);
  }
  return parts.join('\n  ');
}

function checkoutPage(sd: Standin, s: CheckoutSession, opts: PageInput = {}): string {
  const items = sd.state.lineItems[s.id] ?? [];
  const title = items[0]?.description ?? 'Checkout';
  if (s.status !== 'open') {
    const done = s.status === 'complete';
    const message = done
      ? 'This checkout session has already been completed. No further payment is needed.'
      : 'This checkout session has expired. Go back to the site to start a new purchase.';
    const back = !done && s.cancel_url ? `<p><a href="${esc(s.cancel_url)}">Return to the site</a></p>` : '';
    return layout(
      `${done ? 'Payment complete' : 'Checkout expired'} · ${title}`,
      `<p><span class="badge">Test mode</span></p>
<h1>${done ? 'Payment complete' : 'Checkout expired'}</h1>
<p role="status">${message}</p>
${summary(sd, s, items)}
${back}`,
    );
  }
  const fixedEmail = emailFor(sd, s);
  const emailValue = fixedEmail ?? opts.email ?? '';
  const describedBy = ['email-help', opts.error ? 'email-error' : ''].filter(Boolean).join(' ');
  const w = wordsOf(s);
  const pay = formatMoney(s.amount_total, s.currency, w.locale);
  // Like Stripe's page: the code field exists only when the session allows promotion codes.
  const codeField =
    s.allow_promotion_codes === true
      ? `<label for="promotion_code">${w.promo}</label>
  <div class="actions" style="margin-top:0">
    <input id="promotion_code" name="promotion_code" autocomplete="off" autocapitalize="characters" value="${esc(opts.code ?? appliedCode(sd, s)?.code ?? '')}" style="width:auto;flex:1"${opts.codeError ? ' aria-invalid="true" aria-describedby="code-error"' : ''}>
    <button type="submit" name="action" value="apply" formnovalidate>${w.apply}</button>
  </div>
  ${opts.codeError ? `<p id="code-error" class="error" role="alert">${esc(opts.codeError)}</p>` : ''}`
      : '';
  return layout(
    `${w.pay(pay)} · ${title}`,
    `<p><span class="badge">${w.testMode}</span></p>
<h1>${w.heading}</h1>
${summary(sd, s, items, opts.buyer?.country)}
<form method="post" action="/c/pay/${esc(s.id)}">
  <label for="email">${w.email}</label>
  <input id="email" name="email" type="email" autocomplete="email" required value="${esc(emailValue)}"${fixedEmail ? ' readonly' : ''} aria-describedby="${describedBy}"${opts.error ? ' aria-invalid="true"' : ''}>
  <p id="email-help" class="muted">${fixedEmail ? w.fixed : w.receipt}</p>
  ${opts.error ? `<p id="email-error" class="error" role="alert">${esc(opts.error)}</p>` : ''}
  ${codeField}
  ${taxFields(s, opts)}
  <p class="muted">${w.test}</p>
  <div class="actions">
    <button class="primary" type="submit" name="action" value="pay">${s.amount_total === 0 ? w.complete : esc(w.pay(pay))}</button>
    <button type="submit" name="action" value="pay_delayed">${w.delayed}</button>
    ${s.cancel_url ? `<button type="submit" name="action" value="cancel" formnovalidate>${w.cancel}</button>` : ''}
  </div>
</form>`,
    false,
    w.lang,
  );
}

export function indexPage(sd: Standin, query: URLSearchParams): string {
  const st = sd.state;
  const hidden = '<input type="hidden" name="_redirect" value="/">';
  const form = (action: string, fields: Record<string, string>, label: string, context: string, extra = '') =>
    `<form method="post" action="${esc(action)}">${hidden}${Object.entries(fields)
      .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
      .join('')}${extra}<button type="submit">${esc(label)}<span class="vh"> ${esc(context)}</span></button></form>`;
  const rows = newestFirst(sd, st.sessions)
    .slice(0, 50)
    .map((s) => {
      const items = (st.lineItems[s.id] ?? []).map((li) => esc(li.description) + (li.quantity > 1 ? ` × ${li.quantity}` : '')).join('<br>');
      const pi = s.payment_intent ? st.paymentIntents[s.payment_intent] : undefined;
      const charge = pi?.latest_charge ? st.charges[pi.latest_charge] : undefined;
      const dispute = charge ? disputeOf(sd, charge) : undefined;
      const ctx = `for ${s.id}`;
      const actions: string[] = [];
      const notes: string[] = [];
      const tax = (s.total_details as { amount_tax?: number } | undefined)?.amount_tax ?? 0;
      const country = (s.customer_details?.address as { country?: string } | null | undefined)?.country;
      if (tax > 0) notes.push(`Tax ${esc(formatAmount(tax, s.currency))}${country ? ` (${esc(country)})` : ''}`);
      const invoice = typeof s.invoice === 'string' ? st.invoices[s.invoice] : undefined;
      if (invoice) notes.push(`<a href="/i/${esc(invoice.id)}">Invoice ${esc(invoice.number)}</a>`);
      if (s.status === 'open' && s.url) actions.push(`<a class="button" href="/c/pay/${esc(s.id)}">Open checkout page<span class="vh"> ${esc(ctx)}</span></a>`);
      if (pi?.status === 'processing') {
        actions.push(form(`/_standin/checkout/${s.id}/async`, { outcome: 'succeeded' }, 'Settle payment', ctx));
        actions.push(form(`/_standin/checkout/${s.id}/async`, { outcome: 'failed' }, 'Fail payment', ctx));
      }
      if (charge) {
        if (charge.amount_refunded > 0) notes.push(`Refunded ${esc(formatAmount(charge.amount_refunded, charge.currency))}`);
        if (dispute) notes.push(`Dispute: ${esc(dispute.status.replace('_', ' '))}`);
        if (!refundRefusal(sd, charge)) {
          const inputId = `amount-${s.id}`;
          actions.push(
            form(
              '/_standin/refund',
              { payment_intent: charge.payment_intent },
              'Refund',
              ctx,
              `<div><label for="${esc(inputId)}">Refund amount (${esc(charge.currency.toUpperCase())})</label><input id="${esc(inputId)}" name="amount_major" inputmode="decimal" autocomplete="off" aria-describedby="${esc(inputId)}-hint"><span id="${esc(inputId)}-hint" class="muted">Blank refunds all ${esc(formatAmount(charge.amount - charge.amount_refunded, charge.currency))}</span></div>`,
            ),
          );
        }
        if (!disputeRefusal(sd, charge)) {
          actions.push(form('/_standin/dispute', { payment_intent: charge.payment_intent }, 'Dispute', ctx));
          actions.push(form('/_standin/dispute', { payment_intent: charge.payment_intent, inquiry: 'true' }, 'Inquiry', ctx));
        }
        if (dispute && !isClosed(dispute) && !isInquiry(dispute)) {
          actions.push(form(`/_standin/dispute/${dispute.id}/close`, { outcome: 'won' }, 'Close dispute as won', ctx));
          actions.push(form(`/_standin/dispute/${dispute.id}/close`, { outcome: 'lost' }, 'Close dispute as lost', ctx));
        }
        if (dispute && !isClosed(dispute) && isInquiry(dispute)) {
          actions.push(form(`/_standin/dispute/${dispute.id}/close`, { outcome: 'warning_closed' }, 'Close inquiry', ctx));
        }
        if (dispute?.status === 'lost') actions.push(form(`/_standin/dispute/${dispute.id}/reverse`, {}, 'Reverse dispute (won on appeal)', ctx));
        for (const refund of Object.values(st.refunds).filter((r) => r.charge === charge.id && r.status === 'succeeded')) {
          actions.push(form(`/_standin/refund/${refund.id}/fail`, {}, `Fail refund of ${formatAmount(refund.amount, charge.currency)}`, ctx));
        }
      }
      const when = new Date(s.created * 1000).toISOString().replace('T', ' ').slice(0, 16);
      return `<tr><td>${esc(when)}</td><td><code>${esc(s.id)}</code>${s.client_reference_id ? `<br><span class="muted">ref ${esc(s.client_reference_id)}</span>` : ''}</td><td>${items}</td><td>${esc(formatAmount(s.amount_total, s.currency))}</td><td>${esc(s.customer_details?.email ?? s.customer_email ?? '')}</td><td>${esc(s.status)}, ${esc(s.payment_status)}${notes.length ? `<br>${notes.join('<br>')}` : ''}</td><td>${actions.join(' ') || '—'}</td></tr>`;
    })
    .join('\n');
  const deliveriesFor = (id: string) =>
    sd.deliveryLog
      .filter((d) => d.event_id === id)
      .map((d) => d.status ?? 'failed')
      .join(', ');
  const events = newestFirst(sd, st.events)
    .slice(0, 30)
    .map(
      (e) =>
        `<tr><td>${esc(new Date(e.created * 1000).toISOString().slice(11, 19))}</td><td>${esc(e.type)}</td><td><code>${esc(e.id)}</code></td><td>${e.pending_webhooks}</td><td>${esc(deliveriesFor(e.id) || 'none')}</td><td>${sd.webhookUrls.length ? form(`/_standin/events/${e.id}/deliver`, {}, 'Resend', `event ${e.id}`) : '—'}</td></tr>`,
    )
    .join('\n');
  const notice = query.get('notice');
  const error = query.get('error');
  return layout(
    'Stripe stand-in',
    `<h1>Stripe stand-in</h1>
${notice ? `<p class="notice" role="status">${esc(notice)}</p>` : ''}${error ? `<p class="alert" role="alert">${esc(error)}</p>` : ''}
<p>API base: <code>${esc(sd.baseUrl)}</code> · set <code>STRIPE_API_BASE=${esc(sd.baseUrl)}</code> in the site's environment. Payments here are simulated; nothing reaches Stripe.</p>
<p>Webhook endpoints: ${sd.webhookUrls.length ? sd.webhookUrls.map((u) => `<code>${esc(u)}</code>`).join(', ') : 'none configured'}. Delivery is <strong>${sd.deliver ? 'on' : 'off (events are recorded, not sent)'}</strong>.</p>
${form('/_standin/config', { deliver: sd.deliver ? 'false' : 'true' }, sd.deliver ? 'Stop delivering webhooks' : 'Resume delivering webhooks', '')}
<h2 id="sessions">Checkout sessions</h2>
${
  rows
    ? `<table aria-labelledby="sessions"><thead><tr><th scope="col">Created (UTC)</th><th scope="col">Session</th><th scope="col">Items</th><th scope="col">Amount</th><th scope="col">Email</th><th scope="col">Status</th><th scope="col">Actions</th></tr></thead><tbody>
${rows}
</tbody></table>`
    : '<p>No checkout sessions yet. Start a purchase on the site.</p>'
}
<h2 id="events">Recent events</h2>
${
  events
    ? `<table aria-labelledby="events"><thead><tr><th scope="col">Time (UTC)</th><th scope="col">Type</th><th scope="col">Event</th><th scope="col">Pending webhooks</th><th scope="col">Delivery statuses</th><th scope="col">Actions</th></tr></thead><tbody>
${events}
</tbody></table>`
    : '<p>No events yet.</p>'
}`,
    true,
  );
}

/** An invoice's hosted page (`hosted_invoice_url`) or its PDF (`invoice_pdf`). */
export function serveInvoice(sd: Standin, res: ServerResponse, id: string, pdf: boolean): void {
  const invoice = sd.state.invoices[id] as Invoice | undefined;
  const note = sd.state.creditNotes[id] as CreditNote | undefined;
  if (!invoice && !(note && pdf)) {
    sendHtml(res, 404, notFoundPage());
    return;
  }
  if (!pdf) {
    sendHtml(res, 200, invoicePage(invoice!));
    return;
  }
  const body = invoice ? invoicePdf(invoice) : creditNotePdf(note!);
  res.writeHead(200, {
    'Content-Type': 'application/pdf',
    'Content-Length': String(body.length),
    'Content-Disposition': `inline; filename="${(invoice ?? note)!.number}.pdf"`,
  });
  res.end(body);
}

export const notFoundPage = (): string => layout('Not found', '<h1>Not found</h1><p><a href="/">Go to the stand-in overview</a></p>');

/** The hosted checkout page: shown on GET, and what its buttons do on POST. */
export async function handleCheckoutPage(sd: Standin, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const s = getSession(sd, id);
  if (!s)
    return sendHtml(
      res,
      404,
      layout(
        'Checkout not found',
        '<h1>Checkout not found</h1><p>There is no checkout session with this address. Go back to the site and start the purchase again.</p>',
      ),
    );
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
  const country = (form.get('country') ?? '').trim().toUpperCase();
  const buyer: BuyerTaxInput = {
    country: country in COUNTRIES ? country : undefined,
    postalCode: (form.get('postal_code') ?? '').trim() || undefined,
    taxId: (form.get('tax_id') ?? '').trim() || undefined,
    consent: form.get('consent') === 'accepted',
  };
  const again = (status: number, extra: PageInput = {}) => sendHtml(res, status, checkoutPage(sd, s, { email: typed, buyer, ...extra }));
  // A code typed but not applied yet is applied by Pay too, so the page works with one press.
  if (code && s.allow_promotion_codes === true && (action === 'apply' || !isApplied(sd, s, code))) {
    try {
      applyCode(sd, s, code);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      return sendHtml(res, 400, checkoutPage(sd, s, { email: typed, code, codeError: err.message }));
    }
    if (action === 'apply') return sendHtml(res, 200, checkoutPage(sd, s, { email: typed }));
  }
  if (action === 'apply') return sendHtml(res, 400, checkoutPage(sd, s, { email: typed, codeError: 'Enter a promotion code.' }));
  // The country shows its tax before the buyer pays, as Stripe's page updates its total.
  applyTax(sd, s, buyer.country);
  if (action === 'address') return again(buyer.country ? 200 : 400, buyer.country ? {} : { error: 'Choose your billing country.' });
  if (action !== 'pay' && action !== 'pay_delayed') return sendHtml(res, 400, checkoutPage(sd, s, { error: 'Choose Pay or Cancel.' }));
  if (!emailFor(sd, s) && !isEmail(typed)) {
    return again(400, { error: typed ? 'Enter a valid email address, like name@example.com.' : 'Enter your email address.' });
  }
  const wants = asks(s);
  if (wants.address && !buyer.country) return again(400, { error: 'Choose your billing country.' });
  if (wants.taxId && buyer.taxId && buyer.country) {
    try {
      checkTaxId(buyer.country, buyer.taxId);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      return again(400, { taxError: err.message });
    }
  }
  if (wants.consent && !buyer.consent) return again(400, { consentError: 'Tick the box to accept the terms before paying.' });
  const { redirect: to, events } = pay(sd, s.id, { email: typed, delayed: action === 'pay_delayed', ...buyer });
  // Awaited so that a browser reaching the success page implies the webhook was attempted.
  await dispatch(sd, events);
  redirect(res, to);
}
