// Selling across borders with Stripe's own features: the tax, invoice and consent settings a course
// sells with (from `tax:` and `withdrawal_consent` in courses/site.yaml, resolved per course at
// build time and synced into the store), turned into Checkout Session parameters. The site
// computes no tax: Stripe Tax does, from the buyer's billing address, and Stripe makes the invoice.
import { z } from 'zod';
import type { Stripe } from './stripe.ts';
import { messagesFor } from '../i18n/index.ts';

/** Stripe's product tax code for e-learning ("Digital Products - Online courses / e-learning"). */
export const DEFAULT_TAX_CODE = 'txcd_10103000';
export const TAX_CODE = /^txcd_\d{8}$/;

/** The settings a course sells with; null in the store means none (no `tax:` in site.yaml). */
export const checkoutTaxSchema = z.strictObject({
  /** Stripe Tax computes the tax from the buyer's billing address. */
  automaticTax: z.boolean(),
  /** The price includes the tax (EU consumers expect it) or the tax is added on top. */
  taxBehavior: z.enum(['inclusive', 'exclusive']),
  taxCode: z.string().regex(TAX_CODE),
  /** Business buyers may enter their VAT or other tax ID, which their invoice carries. */
  taxIdCollection: z.boolean(),
  billingAddress: z.enum(['auto', 'required']),
  /** Stripe makes a numbered invoice with a PDF for each purchase, and emails it. */
  invoices: z.boolean(),
  /** The EU consumer's request for immediate access and waiver of withdrawal; null when off. */
  consent: z.strictObject({ termsUrl: z.string().min(1), language: z.string().min(2) }).nullable(),
});

export type CheckoutTax = z.infer<typeof checkoutTaxSchema>;

/** The store's JSON column read back; anything unreadable counts as "no settings". */
export function parseCheckoutTax(json: string | null): CheckoutTax | null {
  if (!json) return null;
  try {
    const parsed = checkoutTaxSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

type SessionParams = Stripe.Checkout.SessionCreateParams;

/**
 * The Checkout Session parameters of the settings, merged into the session the site creates, and
 * what goes into its line item's price (tax behaviour, product tax code). The terms page may be a
 * path on the site.
 */
export function taxSessionParams(
  tax: CheckoutTax | null,
  siteUrl: URL,
  metadata: Record<string, string>,
): { session: Partial<SessionParams>; taxBehavior?: 'inclusive' | 'exclusive'; taxCode?: string } {
  if (!tax) return { session: {} };
  const session: Partial<SessionParams> = {};
  if (tax.automaticTax) {
    session.automatic_tax = { enabled: true };
    session.billing_address_collection = tax.billingAddress;
  }
  if (tax.taxIdCollection) session.tax_id_collection = { enabled: true };
  if (tax.invoices) session.invoice_creation = { enabled: true, invoice_data: { metadata } };
  if (tax.consent) {
    const termsUrl = new URL(tax.consent.termsUrl, siteUrl).href;
    session.consent_collection = { terms_of_service: 'required' };
    session.custom_text = { terms_of_service_acceptance: { message: messagesFor(tax.consent.language).checkout.withdrawalConsent(termsUrl) } };
  }
  return { session, taxCode: tax.taxCode, ...(tax.automaticTax ? { taxBehavior: tax.taxBehavior } : {}) };
}

/** What a paid session says about its tax, invoice and consent, as the purchase records it. */
export type SessionTax = {
  subtotalMinor: number;
  taxMinor: number;
  taxCountry: string | null;
  /** The buyer's tax IDs as `type:value`, comma-separated; null when none. */
  taxIds: string | null;
  invoiceId: string | null;
  consentGiven: boolean;
};

export function sessionTaxOf(session: Stripe.Checkout.Session): SessionTax {
  const ids = (session.customer_details?.tax_ids ?? []).filter((id) => id.value).map((id) => `${id.type}:${id.value}`);
  const invoice = session.invoice;
  return {
    subtotalMinor: session.amount_subtotal ?? session.amount_total ?? 0,
    taxMinor: session.total_details?.amount_tax ?? 0,
    taxCountry: session.customer_details?.address?.country ?? null,
    taxIds: ids.length ? ids.join(',') : null,
    invoiceId: invoice ? (typeof invoice === 'string' ? invoice : invoice.id) : null,
    consentGiven: session.consent?.terms_of_service === 'accepted',
  };
}
