// Selling across borders, end to end on the built server of a fixture site (tests/fixtures/
// courses-tax: Stripe Tax on with prices including tax, tax IDs, invoices and the EU consent), with
// the real `stripe` SDK against the stand-in, a real store and the SMTP sink: what Checkout is
// asked for, a German buyer who sees VAT, must consent, enters a VAT ID and finds the invoice (and, after a
// refund, its credit note) on /account/purchases, and the admin's revenue net of that tax.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeAdmin } from '../src/server/admin/commands.ts';
import { buildSite } from './support/build.ts';
import { signedUpVisitor, sitePath, startPaymentsSite, type PaymentsSite } from './support/payments.ts';
import { createVisitor, type Visitor } from './support/visitor.ts';

const FIXTURE = 'tests/fixtures/courses-tax';
const ADMIN_EMAIL = 'author@courses.test';
const ADMIN_PASSWORD = 'a long admin passphrase';
const VAT_ID = 'DE123456789';

let site: PaymentsSite;
let admin: Visitor;

beforeAll(async () => {
  const build = await buildSite({ coursesDir: FIXTURE });
  if (build.code !== 0) throw new Error(`the tax fixture does not build:\n${build.output}`);
  site = await startPaymentsSite(build.outDir);
  await makeAdmin(
    { db: site.store.db, clock: { now: () => Date.now() } },
    { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, iterations: 2000, actor: { userId: null, via: 'cli' } },
  );
  admin = createVisitor(site.server.url);
  expect((await admin.post('/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).status).toBe(303);
});
afterAll(async () => {
  await site?.stop();
});

async function query<T = Record<string, unknown>>(sql: string, args: (string | number)[] = []): Promise<T[]> {
  return (await site.store.client.execute({ sql, args })).rows as T[];
}

/** Everything a refused checkout or a refused receipt must leave as it was. */
async function written(): Promise<string> {
  return JSON.stringify([await query('SELECT * FROM purchases ORDER BY id'), await query('SELECT * FROM access_ledger ORDER BY id')]);
}

async function startCheckout(visitor: Visitor, course: string): Promise<string> {
  const response = await visitor.post('/api/checkout', { course });
  expect(response.status).toBe(303);
  return response.headers.get('location')!;
}

const text = async (response: Response) => (await response.text()).replaceAll('\u00a0', ' ');

/** A cell of the page by its data attribute, as a person reads it. */
function cell(html: string, attribute: string): string | undefined {
  const match = new RegExp(`<td[^>]*${attribute}[^>]*>([\\s\\S]*?)</td>`).exec(html);
  return match?.[1]
    ?.replace(/<[^>]+>/g, '')
    .replaceAll('\u00a0', ' ')
    .trim();
}

describe('what the site asks Stripe Checkout for', () => {
  test('Stripe Tax with inclusive prices and the e-learning tax code, tax IDs, billing address, invoices and the consent with a link to the terms', async () => {
    const visitor = await signedUpVisitor(site, 'asks@example.com');
    const sessionId = (await startCheckout(visitor, 'vat-course')).split('/').pop()!;
    const session = await site.stripe.checkout.sessions.retrieve(sessionId);
    expect(session).toMatchObject({
      automatic_tax: { enabled: true },
      billing_address_collection: 'required',
      tax_id_collection: { enabled: true },
      invoice_creation: { enabled: true, invoice_data: { metadata: { course: 'vat-course' } } },
      consent_collection: { terms_of_service: 'required' },
      currency: 'eur',
      amount_total: 4900,
    });
    expect(session.custom_text.terms_of_service_acceptance?.message).toMatch(
      /immediate access[\s\S]*14-day right of withdrawal[\s\S]*\(https:\/\/courses\.test\/terms\/\)/,
    );
    const [item] = (await site.stripe.checkout.sessions.listLineItems(sessionId, { expand: ['data.price.product'] })).data;
    expect(item!.price).toMatchObject({ tax_behavior: 'inclusive', unit_amount: 4900 });
    expect((item!.price!.product as { tax_code: string }).tax_code).toBe('txcd_10103000');
  });

  test("a course's own tax_code wins over the site's", async () => {
    const visitor = await signedUpVisitor(site, 'coded@example.com');
    const sessionId = (await startCheckout(visitor, 'coded-course')).split('/').pop()!;
    const [item] = (await site.stripe.checkout.sessions.listLineItems(sessionId, { expand: ['data.price.product'] })).data;
    expect((item!.price!.product as { tax_code: string }).tax_code).toBe('txcd_10103001');
  });
});

describe('a buyer from Germany', () => {
  const email = 'kaeufer@example.de';
  let visitor: Visitor;
  let checkoutUrl: string;
  let purchaseId: number;

  test('sees VAT on the checkout page once the billing country is Germany', async () => {
    visitor = await signedUpVisitor(site, email);
    checkoutUrl = await startCheckout(visitor, 'vat-course');
    const page = await text(await fetch(checkoutUrl));
    expect(page).toContain('Tax is calculated from your billing country');
    expect(page).toMatch(/name="consent"[^>]*required/);
    expect(page).toContain('href="https://courses.test/terms/"');
    const withCountry = await fetch(checkoutUrl, { method: 'POST', body: new URLSearchParams({ country: 'DE', action: 'address' }) });
    expect(withCountry.status).toBe(200);
    // €49.00 includes 19% German VAT: 49 × 19 / 119 = €7.82.
    expect(await text(withCountry)).toMatch(/VAT \(DE 19%\) <span class="muted">included<\/span><\/span> <span>€7\.82<\/span>/);
  });

  test('cannot pay without ticking the consent: nothing is charged or recorded', async () => {
    const before = await written();
    const refused = await fetch(checkoutUrl, {
      method: 'POST',
      body: new URLSearchParams({ country: 'DE', tax_id: VAT_ID, action: 'pay' }),
      redirect: 'manual',
    });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('Tick the box to accept the terms');
    const sessionId = checkoutUrl.split('/').pop()!;
    expect((await site.stripe.checkout.sessions.retrieve(sessionId)).status).toBe('open');
    expect(await written()).toBe(before);
  });

  test('pays with a VAT ID and the consent; the purchase records the tax, the VAT ID, the invoice and the consent', async () => {
    const paid = await fetch(checkoutUrl, {
      method: 'POST',
      body: new URLSearchParams({ country: 'DE', postal_code: '10115', tax_id: 'de 123 456 789', consent: 'accepted', action: 'pay' }),
      redirect: 'manual',
    });
    expect(paid.status).toBe(303);
    const success = await visitor.get(sitePath(paid.headers.get('location')!));
    // The confirmation page after paying.
    expect(success.status).toBe(200);
    const [purchase] = await query<Record<string, any>>('SELECT p.* FROM purchases p JOIN users u ON u.id = p.user_id WHERE u.email = ?', [email]);
    expect(purchase).toMatchObject({
      amount_minor: 4900,
      subtotal_minor: 4900,
      tax_minor: 782,
      currency: 'EUR',
      tax_country: 'DE',
      buyer_tax_ids: `eu_vat:${VAT_ID}`,
      consent_given: 1,
      status: 'paid',
    });
    expect(purchase!.invoice_id).toMatch(/^in_/);
    expect(purchase!.invoice_url).toBe(`${site.standin.url}/i/${purchase!.invoice_id}`);
    expect(purchase!.invoice_pdf_url).toBe(`${site.standin.url}/i/${purchase!.invoice_id}/pdf`);
    purchaseId = Number(purchase!.id);
  });

  test('finds the purchase with its tax and a link to its invoice on /account/purchases', async () => {
    const response = await visitor.get('/account/purchases');
    expect(response.status).toBe(200);
    const page = await text(response);
    const row = new RegExp(`<tr data-purchase="${purchaseId}">[\\s\\S]*?</tr>`).exec(page)![0];
    expect(cell(row, 'data-amount')).toBe('€49');
    expect(cell(row, 'data-tax')).toBe('€7.82 (DE)');
    const invoiceUrl = /<a href="([^"]+)" data-invoice>Invoice<\/a>/.exec(row)![1]!;
    const invoice = await text(await fetch(invoiceUrl));
    expect(invoice).toContain(VAT_ID);
    expect(invoice).toContain('Tax: €7.82');
  });

  test('the admin shows revenue net of that tax, and the tax per country', async () => {
    const page = await text(await admin.get('/admin/'));
    expect(cell(page, 'data-tax="EUR"')).toBe('€7.82');
    expect(cell(page, 'data-revenue="EUR"')).toBe('€41.18');
    expect(cell(page, 'data-country-tax="EUR DE"')).toBe('€7.82');
    expect(cell(page, 'data-country-revenue="EUR DE"')).toBe('€41.18');
    const csv = await (await admin.get('/admin/purchases.csv')).text();
    const line = csv.split('\r\n').find((l) => l.includes(email))!;
    expect(line).toContain(`,49.00,0.00,EUR,7.82,41.18,DE,eu_vat:${VAT_ID},in_`);
  });

  test('a partial refund shows on the page, and gives back its share of the tax in the admin', async () => {
    const [purchase] = await query<{ payment_intent_id: string }>('SELECT payment_intent_id FROM purchases WHERE id = ?', [purchaseId]);
    await site.stripe.refunds.create({ payment_intent: purchase!.payment_intent_id, amount: 2450 });
    await site.standin.idle();
    const page = await text(await visitor.get('/account/purchases'));
    expect(cell(page, 'data-refunded')).toBe('€24.50 partly refunded');
    // The refund of an invoiced payment comes with a credit note, linked beside the invoice.
    const [note] = (
      await site.stripe.creditNotes.list({
        invoice: (await query<{ invoice_id: string }>('SELECT invoice_id FROM purchases WHERE id = ?', [purchaseId]))[0]!.invoice_id,
      })
    ).data;
    expect(note).toMatchObject({ total: 2450, status: 'issued' });
    const link = new RegExp(`<a href="([^"]+)" data-credit-note>Credit note ${note!.number}</a>`).exec(page);
    expect(link?.[1]).toBe(note!.pdf);
    const pdf = await fetch(note!.pdf!);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    // Half refunded: half the tax (391) is kept; revenue is 4900 - 2450 - 391.
    const dashboard = await text(await admin.get('/admin/'));
    expect(cell(dashboard, 'data-tax="EUR"')).toBe('€3.91');
    expect(cell(dashboard, 'data-revenue="EUR"')).toBe('€20.59');
  });

  test('another member cannot open this purchase as a receipt, nor see it: the page is the same as for no purchase', async () => {
    const stranger = await signedUpVisitor(site, 'stranger@example.com');
    const before = await written();
    const theirs = await stranger.get(`/account/receipt?purchase=${purchaseId}`);
    const none = await stranger.get('/account/receipt?purchase=999999');
    expect(theirs.status).toBe(404);
    expect(none.status).toBe(404);
    const body = await theirs.text();
    expect(body).not.toContain(VAT_ID);
    expect(body).toBe(await none.text());
    expect(await text(await stranger.get('/account/purchases'))).not.toContain('VAT Course');
    expect((await stranger.get('/account/receipt?purchase=abc')).status).toBe(404);
    // Signed out: the sign-in page, nothing else.
    const anonymous = await createVisitor(site.server.url).get(`/account/receipt?purchase=${purchaseId}`);
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toMatch(/^\/login\?next=/);
    expect(await written()).toBe(before);
  });

  test('its owner can print a receipt from the store too', async () => {
    const receipt = await visitor.get(`/account/receipt?purchase=${purchaseId}`);
    expect(receipt.status).toBe(200);
    const page = await text(receipt);
    expect(page).toContain('Receipt: VAT Course');
    expect(page).toContain('€41.18');
    expect(page).toContain(VAT_ID);
    expect(page).toContain('Requested, with the loss of the withdrawal right acknowledged');
  });
});

describe('a refund that stays pending and then fails', () => {
  test('revokes access while pending and restores it when it fails; /account/purchases shows each step', async () => {
    const email = 'pending-refund@example.com';
    const visitor = await signedUpVisitor(site, email);
    const sessionId = (await startCheckout(visitor, 'vat-course')).split('/').pop()!;
    const { redirect } = await site.control(`/_standin/checkout/${sessionId}/pay`, { country: 'FR', consent: true });
    expect((await visitor.get(sitePath(redirect))).status).toBe(200);
    const lesson = '/courses/vat-course/paid-part/';
    expect((await visitor.get(lesson)).status).toBe(200);
    const [purchase] = await query<{ id: number; payment_intent_id: string }>(
      'SELECT p.id, p.payment_intent_id FROM purchases p JOIN users u ON u.id = p.user_id WHERE u.email = ?',
      [email],
    );
    const ledger = async () =>
      (await query<{ e: string }>("SELECT action || ':' || reason AS e FROM access_ledger WHERE purchase_id = ? ORDER BY seq", [purchase!.id])).map(
        (row) => row.e,
      );

    const { refund } = await site.control('/_standin/refund', { payment_intent: purchase!.payment_intent_id, pending: true });
    expect(refund.status).toBe('pending');
    expect(await ledger()).toEqual(['grant:purchase', 'revoke:refund']);
    expect((await visitor.get(lesson)).status).not.toBe(200);
    const row = (page: string) => new RegExp(`<tr data-purchase="${purchase!.id}">[\\s\\S]*?</tr>`).exec(page)![0];
    expect(cell(row(await text(await visitor.get('/account/purchases'))), 'data-refunded')).toBe('€49 refunded');

    await site.control(`/_standin/refund/${refund.id}/fail`, { failure_reason: 'declined' });
    expect((await site.stripe.refunds.retrieve(refund.id)).status).toBe('failed');
    expect(await ledger()).toEqual(['grant:purchase', 'revoke:refund', 'restore:refund_failed']);
    expect((await visitor.get(lesson)).status).toBe(200);
    expect(cell(row(await text(await visitor.get('/account/purchases'))), 'data-refunded')).toBe('—');
  });
});
