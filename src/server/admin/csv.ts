// Purchases as CSV for a spreadsheet or an accountant: RFC 4180 (comma-separated, CRLF, fields
// with a comma, quote or line break quoted, quotes doubled), amounts in the currency's major unit
// as plain decimals, times in UTC ISO 8601. The `excel-fr` dialect is what a French Excel opens
// by double-click: a UTF-8 byte order mark (else it reads Windows-1252), `;` between fields and a
// decimal comma (else every amount is text).
import { minorUnitDigits } from '../money.ts';
import type { PurchaseSummary, UserSummary } from './queries.ts';

/**
 * One field. Text a person typed (an email, a course title) that starts like a formula gets a
 * leading apostrophe, so that a spreadsheet shows it instead of running it (CSV injection).
 */
export function csvField(value: string | number | boolean | null | undefined, options: { text?: boolean } = {}): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (options.text && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  // Quoted also for a `;`, so that a field stays one field in either dialect.
  return /[",;\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export type CsvDialect = 'rfc4180' | 'excel-fr';

const DIALECTS: Record<CsvDialect, { separator: string; bom: string; decimal: string }> = {
  rfc4180: { separator: ',', bom: '', decimal: '.' },
  'excel-fr': { separator: ';', bom: '\ufeff', decimal: ',' },
};

export function csvRow(fields: string[], dialect: CsvDialect = 'rfc4180'): string {
  return `${fields.join(DIALECTS[dialect].separator)}\r\n`;
}

/** An amount in the dialect's decimal notation: digits, a sign and the decimal mark never need quotes there. */
function amountField(minor: number, currency: string, dialect: CsvDialect): string {
  return minorToDecimal(minor, currency).replace('.', DIALECTS[dialect].decimal);
}

/** 4900 USD → "49.00", 4900 JPY → "4900", 1234 KWD → "1.234"; exact, without floating point. */
export function minorToDecimal(minor: number, currency: string): string {
  const digits = minorUnitDigits(currency);
  const negative = minor < 0;
  const whole = String(Math.abs(minor));
  if (digits === 0) return `${negative ? '-' : ''}${whole}`;
  const padded = whole.padStart(digits + 1, '0');
  return `${negative ? '-' : ''}${padded.slice(0, -digits)}.${padded.slice(-digits)}`;
}

export const PURCHASE_CSV_COLUMNS = [
  'purchase_id',
  'created_at',
  'email',
  'course',
  'course_title',
  'source',
  'status',
  'access',
  'amount',
  'amount_refunded',
  'currency',
  'tax',
  'net_of_tax',
  'tax_country',
  'buyer_tax_ids',
  'invoice_id',
  'checkout_session_id',
  'payment_intent_id',
  'livemode',
] as const;

export function purchasesCsv(rows: PurchaseSummary[], dialect: CsvDialect = 'rfc4180'): string {
  let out = DIALECTS[dialect].bom + csvRow([...PURCHASE_CSV_COLUMNS], dialect);
  for (const row of rows) {
    // A grant moved no money: its amount and currency stay empty rather than "0.00 XXX".
    const paid = row.source === 'stripe';
    out += csvRow(
      [
        csvField(row.id),
        csvField(new Date(row.createdAt).toISOString()),
        csvField(row.email, { text: true }),
        csvField(row.courseSlug),
        csvField(row.courseTitle, { text: true }),
        csvField(row.source),
        csvField(row.status),
        csvField(row.access),
        paid ? amountField(row.amountMinor, row.currency, dialect) : '',
        paid ? amountField(row.amountRefundedMinor, row.currency, dialect) : '',
        csvField(paid ? row.currency : null),
        csvField(paid ? minorToDecimal(row.taxMinor, row.currency) : null),
        csvField(paid ? minorToDecimal(row.amountMinor - row.taxMinor, row.currency) : null),
        csvField(row.taxCountry),
        csvField(row.buyerTaxIds, { text: true }),
        csvField(row.invoiceId),
        csvField(row.checkoutSessionId),
        csvField(row.paymentIntentId),
        csvField(row.livemode),
      ],
      dialect,
    );
  }
  return out;
}

export const MEMBER_CSV_COLUMNS = ['user_id', 'created_at', 'email', 'role', 'has_password', 'email_verified', 'active_courses', 'purchases'] as const;

export function membersCsv(rows: UserSummary[], dialect: CsvDialect = 'rfc4180'): string {
  let out = DIALECTS[dialect].bom + csvRow([...MEMBER_CSV_COLUMNS], dialect);
  for (const row of rows) {
    out += csvRow(
      [
        csvField(row.id),
        csvField(new Date(row.createdAt).toISOString()),
        csvField(row.email, { text: true }),
        csvField(row.role),
        csvField(row.hasPassword),
        csvField(row.emailVerified),
        csvField(row.activeCourses),
        csvField(row.purchases),
      ],
      dialect,
    );
  }
  return out;
}
