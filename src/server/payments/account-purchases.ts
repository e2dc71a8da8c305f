// GET /account/purchases: what a member paid, when, the tax in it, what came back, and the paper
// for it: Stripe's hosted invoice when the site has invoices on, otherwise a printable receipt
// built from the store (GET /account/receipt?purchase=N, the member's own purchases only).
import { and, desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext, Client } from '../context.ts';
import { requireMember } from '../auth/session.ts';
import { formatDay, formatMoney, messagesOf, type Texts } from '../i18n/index.ts';
import { courses, purchases, type Purchase } from '../db/schema.ts';
import { html, type SafeHtml } from '../http/html.ts';
import { pageResponse, refusePageMethod } from '../http/page-shell.ts';

const money = (t: Texts, minor: number, currency: string) => formatMoney(t, minor, currency);

/**
 * A purchase's number as the buyer sees it on the receipt and in the purchase email: the store's
 * purchase id, which the admin's purchase tables show, behind the site's host so that a buyer of
 * several sites can tell whose it is. Short enough to read out, unlike Stripe's session id.
 */
export function orderNumber(siteUrl: URL, purchaseId: number): string {
  return `${siteUrl.host}-${purchaseId}`;
}

type Row = Purchase & { title: string | null };

async function paidPurchasesOf(ctx: AppContext, userId: number): Promise<Row[]> {
  const rows = await ctx.db
    .select({ purchase: purchases, title: courses.title })
    .from(purchases)
    .leftJoin(courses, eq(courses.slug, purchases.courseSlug))
    .where(and(eq(purchases.userId, userId), eq(purchases.source, 'stripe')))
    .orderBy(desc(purchases.createdAt), desc(purchases.id))
    .all();
  return rows.map(({ purchase, title }) => ({ ...purchase, title }));
}

const creditNoteSchema = z.array(z.object({ number: z.string(), pdf: z.url() }));

/** The credit notes the store keeps for a purchase (payments/fulfil.ts), or none if unreadable. */
function creditNotesOf(row: Row): { number: string; pdf: string }[] {
  if (!row.creditNotes) return [];
  try {
    const parsed = creditNoteSchema.safeParse(JSON.parse(row.creditNotes));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

function paperLink(t: Texts, row: Row): SafeHtml {
  const T = t.purchases;
  if (row.invoiceUrl) {
    return html`<a href="${row.invoiceUrl}" data-invoice>${T.invoice}</a>${row.invoicePdfUrl ? html` · <a href="${row.invoicePdfUrl}">${T.invoicePdf}</a>` : ''}${creditNotesOf(
      row,
    ).map((note) => html`<br /><a href="${note.pdf}" data-credit-note>${T.creditNote(note.number)}</a>`)}`;
  }
  // An invoice Stripe made but whose address it could not give when the purchase was recorded.
  if (row.invoiceId) return html`${T.noInvoice}`;
  return html`<a href="/account/receipt?purchase=${row.id}" data-receipt>${T.receipt}</a>`;
}

export async function handlePurchasesPage(request: Request, ctx: AppContext, _client: Client): Promise<Response> {
  const t = await messagesOf(ctx);
  const refused = refusePageMethod(request, t);
  if (refused) return refused;
  const visitor = await requireMember(request, ctx, '/account/purchases');
  if (visitor instanceof Response) return visitor;
  const { member, setCookies } = visitor;
  const rows = await paidPurchasesOf(ctx, member.id);
  const T = t.purchases;
  const list =
    rows.length === 0
      ? html`<p data-purchases>${T.none}</p>`
      : html`<table class="purchases" data-purchases>
      <thead><tr>${T.head.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
      <tbody>${rows.map(
        (row) => html`<tr data-purchase="${row.id}">
          <td>${formatDay(t, row.createdAt)}</td>
          <td><a href="/courses/${row.courseSlug}/">${row.title ?? row.courseSlug}</a></td>
          <td data-amount>${money(t, row.amountMinor, row.currency)}</td>
          <td data-tax>${row.taxMinor > 0 ? html`${money(t, row.taxMinor, row.currency)}${row.taxCountry ? ` (${row.taxCountry})` : ''}` : '—'}</td>
          <td data-refunded>${row.amountRefundedMinor > 0 ? money(t, row.amountRefundedMinor, row.currency) : '—'}${T.status[row.status] ? html` <span class="muted">${T.status[row.status]}</span>` : ''}</td>
          <td>${paperLink(t, row)}</td>
        </tr>`,
      )}</tbody>
    </table>`;
  return pageResponse(ctx, {
    title: T.title,
    description: T.description,
    setCookies,
    main: html`<section class="wrap account">
    <h1>${T.title}</h1>
    ${list}
    <p><a href="/account">${t.account.title}</a></p>
  </section>`,
  });
}

const receiptQuery = z.object({ purchase: z.coerce.number().int().positive() });

export async function handleReceiptPage(request: Request, ctx: AppContext, _client: Client): Promise<Response> {
  const t = await messagesOf(ctx);
  const refused = refusePageMethod(request, t);
  if (refused) return refused;
  const url = new URL(request.url);
  const visitor = await requireMember(request, ctx, url.pathname + url.search);
  if (visitor instanceof Response) return visitor;
  const { member, setCookies } = visitor;
  const query = receiptQuery.safeParse({ purchase: url.searchParams.get('purchase') ?? undefined });
  // Another member's purchase is answered exactly like one that does not exist.
  const row = query.success ? (await paidPurchasesOf(ctx, member.id)).find((purchase) => purchase.id === query.data.purchase) : undefined;
  const T = t.purchases;
  if (!row) {
    return pageResponse(ctx, {
      status: 404,
      title: T.notFoundTitle,
      description: T.notFoundDescription,
      setCookies,
      main: html`<section class="wrap account"><h1>${T.notFoundTitle}</h1><p>${T.notFound} <a href="/account/purchases">${T.back}</a></p></section>`,
    });
  }
  const R = T.receiptRows;
  const subtotal = row.amountMinor - row.taxMinor;
  const line = (label: string, value: SafeHtml | string) => html`<tr><th scope="row">${label}</th><td>${value}</td></tr>`;
  const title = row.title ?? row.courseSlug;
  return pageResponse(ctx, {
    title: T.receiptTitle(title),
    description: T.receiptIntro,
    setCookies,
    main: html`<section class="wrap account receipt" data-receipt>
    <h1>${T.receiptTitle(title)}</h1>
    <p>${T.receiptIntro}</p>
    <table>
      ${line(R.number, orderNumber(ctx.config.siteUrl, row.id))}
      ${line(R.date, formatDay(t, row.createdAt))}
      ${line(R.course, title)}
      ${line(R.billedTo, member.email)}
      ${row.taxMinor > 0 ? line(R.subtotal, money(t, subtotal, row.currency)) : ''}
      ${row.taxMinor > 0 ? line(R.tax, money(t, row.taxMinor, row.currency)) : ''}
      ${row.taxCountry ? line(R.taxCountry, row.taxCountry) : ''}
      ${
        row.buyerTaxIds
          ? line(
              R.taxIds,
              row.buyerTaxIds
                .split(',')
                .map((id) => id.slice(id.indexOf(':') + 1))
                .join(', '),
            )
          : ''
      }
      ${line(R.total, money(t, row.amountMinor, row.currency))}
      ${row.amountRefundedMinor > 0 ? line(R.refunded, money(t, row.amountRefundedMinor, row.currency)) : ''}
      ${row.consentGiven ? line(R.consent, R.consentGiven) : ''}
    </table>
    <p class="muted">${T.print}</p>
    <p><a href="/account/purchases">${T.back}</a></p>
  </section>`,
  });
}
