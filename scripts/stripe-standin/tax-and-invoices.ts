// Stripe Tax, tax IDs, the terms-of-service consent and Checkout's invoices, as much as a site that
// sells across borders sees of them: a tax from a small rate table by the billing country typed on
// the hosted page (inclusive or exclusive per the price's tax_behavior), the buyer's tax ID, the
// consent Checkout requires, and an invoice (`in_...`) with a hosted page and a PDF served here.
// Stripe Tax decides far more (registrations, reverse charge, thresholds, states' rates); the
// stand-in does not: it shows the site the fields and shapes a real session would carry.
import { randomId, save, track, now, type CheckoutSession, type Standin } from './state.ts';
import { formatAmount } from './currencies.ts';
import { ApiError, bool, allowOnly, metadata, obj, oneOf, str, type Json, type ParamObject } from './params.ts';

/** Standard rates for digital services to consumers, in percent (US: no tax on e-learning here). */
export const TAX_RATES: Record<string, { rate: number; name: string }> = {
  DE: { rate: 19, name: 'VAT' },
  FR: { rate: 20, name: 'VAT' },
  GB: { rate: 20, name: 'VAT' },
  IT: { rate: 22, name: 'VAT' },
  ES: { rate: 21, name: 'VAT' },
  NL: { rate: 21, name: 'VAT' },
  BE: { rate: 21, name: 'VAT' },
  AT: { rate: 20, name: 'VAT' },
  IE: { rate: 23, name: 'VAT' },
  CA: { rate: 5, name: 'GST' },
  US: { rate: 0, name: 'Sales tax' },
};

/** The countries the hosted page offers, by name. */
export const COUNTRIES: Record<string, string> = {
  AT: 'Austria',
  BE: 'Belgium',
  CA: 'Canada',
  DE: 'Germany',
  ES: 'Spain',
  FR: 'France',
  IE: 'Ireland',
  IT: 'Italy',
  NL: 'Netherlands',
  GB: 'United Kingdom',
  US: 'United States',
  CH: 'Switzerland',
  JP: 'Japan',
  AU: 'Australia',
};

const EU = new Set(['AT', 'BE', 'DE', 'ES', 'FR', 'IE', 'IT', 'NL']);

// ---------------------------------------------------------------- the session's parameters

/** The tax, consent and invoice parameters of a Checkout Session, checked as Stripe checks them. */
export function taxParams(p: ParamObject): Json {
  const at = obj(p, 'automatic_tax');
  if (at) allowOnly(at, ['enabled', 'liability'], 'automatic_tax');
  const automatic = at ? (bool(at, 'enabled', 'automatic_tax') ?? false) : false;
  const tid = obj(p, 'tax_id_collection');
  if (tid) allowOnly(tid, ['enabled', 'required'], 'tax_id_collection');
  const cc = obj(p, 'consent_collection');
  if (cc) allowOnly(cc, ['payment_method_reuse_agreement', 'promotions', 'terms_of_service'], 'consent_collection');
  const ct = obj(p, 'custom_text');
  if (ct) allowOnly(ct, ['after_submit', 'shipping_address', 'submit', 'terms_of_service_acceptance'], 'custom_text');
  const customText: Json = { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null };
  for (const key of Object.keys(ct ?? {})) {
    const part = obj(ct!, key, 'custom_text');
    if (!part) continue;
    allowOnly(part, ['message'], `custom_text[${key}]`);
    const message = str(part, 'message', `custom_text[${key}]`, true)!;
    if (message.length > 1200)
      throw new ApiError(400, `custom_text[${key}][message] can be at most 1200 characters.`, { param: `custom_text[${key}][message]` });
    customText[key] = { message };
  }
  const terms = cc ? oneOf(cc, 'terms_of_service', ['none', 'required'], 'consent_collection') : undefined;
  const ic = obj(p, 'invoice_creation');
  let invoiceCreation: Json | null = null;
  if (ic) {
    allowOnly(ic, ['enabled', 'invoice_data'], 'invoice_creation');
    const data = obj(ic, 'invoice_data', 'invoice_creation') ?? {};
    allowOnly(data, ['account_tax_ids', 'custom_fields', 'description', 'footer', 'issuer', 'metadata', 'rendering_options'], 'invoice_creation[invoice_data]');
    invoiceCreation = {
      enabled: bool(ic, 'enabled', 'invoice_creation') ?? false,
      invoice_data: {
        account_tax_ids: null,
        custom_fields: null,
        description: str(data, 'description', 'invoice_creation[invoice_data]') ?? null,
        footer: str(data, 'footer', 'invoice_creation[invoice_data]') ?? null,
        issuer: null,
        metadata: metadata(data, 'metadata', 'invoice_creation[invoice_data]'),
        rendering_options: null,
      },
    };
  }
  return {
    automatic_tax: {
      enabled: automatic,
      liability: automatic ? { type: 'self' } : null,
      provider: automatic ? 'stripe' : null,
      status: automatic ? 'requires_location_inputs' : null,
    },
    billing_address_collection: oneOf(p, 'billing_address_collection', ['auto', 'required']) ?? null,
    tax_id_collection: {
      enabled: tid ? (bool(tid, 'enabled', 'tax_id_collection') ?? false) : false,
      required: (tid && oneOf(tid, 'required', ['if_supported', 'never'], 'tax_id_collection')) ?? 'never',
    },
    consent_collection: cc
      ? {
          payment_method_reuse_agreement: null,
          promotions: oneOf(cc, 'promotions', ['auto', 'none'], 'consent_collection') ?? null,
          terms_of_service: terms ?? null,
        }
      : null,
    custom_text: customText,
    invoice_creation: invoiceCreation,
  };
}

/** What the hosted page must ask for before it can take the payment. */
export function asks(s: CheckoutSession): { address: boolean; taxId: boolean; consent: boolean } {
  const automatic = (s.automatic_tax as { enabled?: boolean } | undefined)?.enabled === true;
  return {
    address: automatic || s.billing_address_collection === 'required',
    taxId: (s.tax_id_collection as { enabled?: boolean } | undefined)?.enabled === true,
    consent: (s.consent_collection as { terms_of_service?: string } | null)?.terms_of_service === 'required',
  };
}

// ---------------------------------------------------------------- the buyer's input

export type BuyerTaxInput = { country?: string; postalCode?: string; taxId?: string; consent?: boolean };

/** The tax ID type Stripe would give a number typed by a buyer in `country`. */
function taxIdType(country: string): string {
  if (EU.has(country)) return 'eu_vat';
  return { GB: 'gb_vat', CA: 'ca_gst_hst', US: 'us_ein', CH: 'ch_vat', AU: 'au_abn', JP: 'jp_trn' }[country] ?? 'unknown';
}

/** Refuses what Stripe's page refuses: a tax ID in the wrong shape for the country. */
export function checkTaxId(country: string, raw: string): { type: string; value: string } {
  const value = raw.replace(/[\s.-]/g, '').toUpperCase();
  const type = taxIdType(country);
  const prefix = country === 'GB' ? 'GB' : country;
  if (type === 'eu_vat' || type === 'gb_vat') {
    if (!new RegExp(`^${prefix}[0-9A-Z]{8,12}$`).test(value)) {
      throw new ApiError(400, `Enter a valid VAT number for ${COUNTRIES[country] ?? country}, such as ${prefix}123456789.`, {
        code: 'tax_id_invalid',
        param: 'tax_id',
      });
    }
  } else if (!/^[0-9A-Z]{5,20}$/.test(value)) {
    throw new ApiError(400, 'Enter a valid tax ID.', { code: 'tax_id_invalid', param: 'tax_id' });
  }
  return { type, value };
}

/**
 * The tax for the billing country, as Stripe Tax would add it to the session: inclusive prices
 * keep their total and carry the tax inside; exclusive ones add it on top (after any discount).
 */
export function applyTax(sd: Standin, s: CheckoutSession, country: string | undefined): void {
  if ((s.automatic_tax as { enabled?: boolean }).enabled !== true || !country) return;
  const rate = TAX_RATES[country]?.rate ?? 0;
  const items = sd.state.lineItems[s.id] ?? [];
  let tax = 0;
  let total = 0;
  for (const li of items) {
    const net = (li.amount_subtotal as number) - ((li.amount_discount as number) ?? 0);
    const inclusive = li.price.tax_behavior === 'inclusive';
    const itemTax = inclusive ? Math.round((net * rate) / (100 + rate)) : Math.round((net * rate) / 100);
    li.amount_tax = itemTax;
    li.amount_total = inclusive ? net : net + itemTax;
    tax += itemTax;
    total += li.amount_total;
  }
  const discount = (s.total_details as { amount_discount?: number }).amount_discount ?? 0;
  s.total_details = { amount_discount: discount, amount_shipping: 0, amount_tax: tax };
  s.amount_total = total;
  (s.automatic_tax as Json).status = 'complete';
  save(sd);
}

/** The tax row the page shows once the country is known. */
export function taxLabel(s: CheckoutSession, country: string | undefined): string | null {
  if ((s.automatic_tax as { enabled?: boolean }).enabled !== true || !country) return null;
  const entry = TAX_RATES[country] ?? { rate: 0, name: 'Tax' };
  return `${entry.name} (${country} ${entry.rate}%)`;
}

/** The session's customer_details and consent as Stripe fills them when the buyer pays. */
export function buyerDetails(s: CheckoutSession, input: BuyerTaxInput): { address: Json | null; tax_ids: Json[]; consent: Json | null } {
  const wants = asks(s);
  const address = input.country ? { city: null, country: input.country, line1: null, line2: null, postal_code: input.postalCode || null, state: null } : null;
  const tax_ids = wants.taxId && input.taxId && input.country ? [checkTaxId(input.country, input.taxId)] : [];
  const consent = s.consent_collection ? { promotions: null, terms_of_service: wants.consent && input.consent ? 'accepted' : null } : null;
  return { address, tax_ids, consent };
}

// ---------------------------------------------------------------- invoices

export interface Invoice extends Json {
  id: string;
  object: 'invoice';
  hosted_invoice_url: string;
  invoice_pdf: string;
  number: string;
  total: number;
  currency: string;
}

/** The paid invoice Checkout makes when invoice_creation is enabled, finalized with the payment. */
export function createInvoice(sd: Standin, s: CheckoutSession, customer: string | null): Invoice {
  const id = randomId('in_1', 24);
  const t = now(sd);
  const details = (s.customer_details ?? {}) as Json;
  const data = ((s.invoice_creation as Json | null)?.invoice_data ?? {}) as Json;
  const items = sd.state.lineItems[s.id] ?? [];
  const count = Object.keys(sd.state.invoices).length + 1;
  const invoice: Invoice = {
    id,
    object: 'invoice',
    account_country: 'FR',
    account_name: 'Stand-in seller',
    amount_due: s.amount_total,
    amount_paid: s.amount_total,
    amount_remaining: 0,
    attempt_count: 0,
    attempted: true,
    auto_advance: false,
    automatic_tax: {
      enabled: (s.automatic_tax as Json).enabled,
      liability: (s.automatic_tax as Json).liability,
      provider: (s.automatic_tax as Json).provider ?? null,
      status: 'complete',
    },
    billing_reason: 'manual',
    collection_method: 'charge_automatically',
    created: t,
    currency: s.currency,
    customer,
    customer_address: details.address ?? null,
    customer_email: details.email ?? null,
    customer_name: null,
    customer_tax_exempt: 'none',
    customer_tax_ids: (details.tax_ids as Json[] | undefined) ?? [],
    description: data.description ?? null,
    footer: data.footer ?? null,
    hosted_invoice_url: `${sd.baseUrl}/i/${id}`,
    invoice_pdf: `${sd.baseUrl}/i/${id}/pdf`,
    lines: {
      object: 'list',
      data: items.map((li) => ({
        id: randomId('il_1'),
        object: 'line_item',
        amount: li.amount_total,
        currency: li.currency,
        description: li.description,
        quantity: li.quantity,
      })),
      has_more: false,
      url: `/v1/invoices/${id}/lines`,
    },
    livemode: false,
    metadata: (data.metadata as Json | undefined) ?? {},
    number: `STANDIN-${String(count).padStart(4, '0')}`,
    paid: true,
    status: 'paid',
    status_transitions: { finalized_at: t, paid_at: t, marked_uncollectible_at: null, voided_at: null },
    subtotal: s.amount_subtotal,
    total: s.amount_total,
    total_taxes: [
      {
        amount: (s.total_details as { amount_tax: number }).amount_tax,
        tax_behavior: items[0]?.price.tax_behavior ?? 'exclusive',
        taxability_reason: 'standard_rated',
      },
    ],
  };
  track(sd, sd.state.invoices, invoice);
  return invoice;
}

export interface CreditNote extends Json {
  id: string;
  object: 'credit_note';
  invoice: string;
  number: string;
  total: number;
  currency: string;
  pdf: string;
}

/**
 * A refund of an invoiced payment comes with a credit note for that invoice, as the Dashboard
 * issues one when the author refunds an invoice's payment there.
 */
export function creditNoteForRefund(sd: Standin, paymentIntent: string, refund: { id: string; amount: number }): CreditNote | null {
  const session = Object.values(sd.state.sessions).find((s) => s.payment_intent === paymentIntent);
  const invoice = typeof session?.invoice === 'string' ? (sd.state.invoices[session.invoice] as Invoice | undefined) : undefined;
  if (!invoice) return null;
  const id = randomId('cn_1', 24);
  const count = Object.values(sd.state.creditNotes).filter((c) => c.invoice === invoice.id).length + 1;
  const note: CreditNote = {
    id,
    object: 'credit_note',
    amount: refund.amount,
    created: now(sd),
    currency: invoice.currency,
    customer: invoice.customer ?? null,
    invoice: invoice.id,
    livemode: false,
    memo: null,
    metadata: {},
    number: `${invoice.number}-CN-${String(count).padStart(2, '0')}`,
    pdf: `${sd.baseUrl}/i/${id}/pdf`,
    reason: 'order_change',
    refunds: [{ amount_refunded: refund.amount, refund: refund.id }],
    status: 'issued',
    subtotal: refund.amount,
    total: refund.amount,
    type: 'post_payment',
  };
  track(sd, sd.state.creditNotes, note);
  return note;
}

/** A credit note's PDF: the same one-page document as an invoice's. */
export function creditNotePdf(note: CreditNote): Buffer {
  return pdfOf([`Credit note ${note.number}`, `For invoice ${note.invoice}`, `Credited: ${formatAmount(note.total, note.currency)}`]);
}

function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The invoice's lines a person reads, on its page and in its PDF. */
function invoiceLines(invoice: Invoice): string[] {
  const ids = (invoice.customer_tax_ids as { type: string; value: string }[]).map((t) => `${t.type.toUpperCase()} ${t.value}`);
  const tax = (invoice.total_taxes as { amount: number }[]).reduce((sum, t) => sum + t.amount, 0);
  const address = invoice.customer_address as { country?: string } | null;
  return [
    `Invoice ${invoice.number}`,
    `Billed to ${String(invoice.customer_email ?? '')}${address?.country ? `, ${address.country}` : ''}`,
    ...(ids.length ? [`Tax ID: ${ids.join(', ')}`] : []),
    ...(invoice.lines as { data: { description: string; amount: number }[] }).data.map((l) => `${l.description}: ${formatAmount(l.amount, invoice.currency)}`),
    `Tax: ${formatAmount(tax, invoice.currency)}`,
    `Total paid: ${formatAmount(invoice.total, invoice.currency)}`,
  ];
}

export function invoicePage(invoice: Invoice): string {
  const lines = invoiceLines(invoice);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(lines[0])}</title></head>
<body><main><p>Test mode</p><h1>${esc(lines[0])}</h1>${lines
    .slice(1)
    .map((l) => `<p>${esc(l)}</p>`)
    .join('\n')}
<p><a href="${esc(invoice.invoice_pdf)}">Download PDF</a></p></main></body></html>`;
}

/** A one-page PDF with the invoice's lines: enough for a browser and a test to open it. */
export function invoicePdf(invoice: Invoice): Buffer {
  return pdfOf(invoiceLines(invoice));
}

function pdfOf(lines: string[]): Buffer {
  const text = lines
    .map((l, i) => `BT /F1 12 Tf 56 ${780 - i * 18} Td (${l.replace(/[()\\]/g, (c) => `\\${c}`).replace(/[^\x20-\x7e]/g, '?')}) Tj ET`)
    .join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(text)} >>\nstream\n${text}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(Buffer.byteLength(body));
    body += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body);
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}
