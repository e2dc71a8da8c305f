// The Checkout Session parameters the tax settings ask for, and what a paid session's tax fields
// become in the store.
import { describe, expect, it } from 'vitest';
import { parseCheckoutTax, sessionTaxOf, taxSessionParams, type CheckoutTax } from './checkout-tax.ts';
import type { Stripe } from './stripe.ts';

const SITE = new URL('https://courses.example.fr');
const ALL_ON: CheckoutTax = {
  automaticTax: true,
  taxBehavior: 'inclusive',
  taxCode: 'txcd_10103000',
  taxIdCollection: true,
  billingAddress: 'required',
  invoices: true,
  consent: { termsUrl: '/cgv/', language: 'fr-FR' },
};

describe('taxSessionParams', () => {
  it('asks Checkout for Stripe Tax, tax IDs, an invoice and the consent in the site language, linking the terms on the site', () => {
    const { session, taxBehavior, taxCode } = taxSessionParams(ALL_ON, SITE, { course: 'c' });
    expect(session).toEqual({
      automatic_tax: { enabled: true },
      billing_address_collection: 'required',
      tax_id_collection: { enabled: true },
      invoice_creation: { enabled: true, invoice_data: { metadata: { course: 'c' } } },
      consent_collection: { terms_of_service: 'required' },
      custom_text: {
        terms_of_service_acceptance: {
          message: expect.stringMatching(/^Je demande l’accès immédiat[\s\S]*\[conditions de vente\]\(https:\/\/courses\.example\.fr\/cgv\/\)\.$/),
        },
      },
    });
    expect([taxBehavior, taxCode]).toEqual(['inclusive', 'txcd_10103000']);
  });

  it('sends no tax behaviour without Stripe Tax, English for a language it has no text in, and nothing at all without settings', () => {
    const { session, taxBehavior } = taxSessionParams(
      { ...ALL_ON, automaticTax: false, consent: { termsUrl: 'https://legal.example/terms', language: 'de-DE' } },
      SITE,
      {},
    );
    expect(session.automatic_tax).toBeUndefined();
    expect(session.billing_address_collection).toBeUndefined();
    expect(taxBehavior).toBeUndefined();
    expect(session.custom_text?.terms_of_service_acceptance).toMatchObject({
      message: expect.stringMatching(/^I ask for immediate access[\s\S]*\(https:\/\/legal\.example\/terms\)\.$/),
    });
    expect(taxSessionParams(null, SITE, {})).toEqual({ session: {} });
  });

  it('reads the store column back, and treats what it cannot read as no settings', () => {
    expect(parseCheckoutTax(JSON.stringify(ALL_ON))).toEqual(ALL_ON);
    expect(parseCheckoutTax(null)).toBeNull();
    expect(parseCheckoutTax('{not json')).toBeNull();
    expect(parseCheckoutTax(JSON.stringify({ ...ALL_ON, taxCode: 'general' }))).toBeNull();
  });
});

describe('sessionTaxOf', () => {
  it("records Stripe's tax, billing country, tax IDs, invoice and consent", () => {
    const session = {
      amount_subtotal: 4900,
      amount_total: 4900,
      total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 782 },
      customer_details: {
        address: { country: 'DE' },
        tax_ids: [
          { type: 'eu_vat', value: 'DE123456789' },
          { type: 'unknown', value: null },
        ],
      },
      invoice: 'in_123',
      consent: { promotions: null, terms_of_service: 'accepted' },
    } as unknown as Stripe.Checkout.Session;
    expect(sessionTaxOf(session)).toEqual({
      subtotalMinor: 4900,
      taxMinor: 782,
      taxCountry: 'DE',
      taxIds: 'eu_vat:DE123456789',
      invoiceId: 'in_123',
      consentGiven: true,
    });
    const plain = {
      amount_subtotal: 1000,
      amount_total: 1000,
      total_details: { amount_tax: 0 },
      customer_details: { address: null, tax_ids: [] },
      invoice: null,
      consent: null,
    } as unknown as Stripe.Checkout.Session;
    expect(sessionTaxOf(plain)).toEqual({ subtotalMinor: 1000, taxMinor: 0, taxCountry: null, taxIds: null, invoiceId: null, consentGiven: false });
  });
});
