// Prices are written by authors as decimal strings ("49.00", "4900" for JPY) and handed to Stripe
// in the currency's minor unit. Both directions go through this file so that no float ever
// touches an amount.

const SUPPORTED = new Set(Intl.supportedValuesOf('currency'));

// ISO 4217 minor units as Stripe applies them. ICU's data is mostly right, but Stripe treats some
// currencies as zero-decimal where ICU does not (and HUF/TWD/UGX with special rules we keep simple).
const STRIPE_ZERO_DECIMAL = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
const STRIPE_THREE_DECIMAL = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);

/** Largest amount Stripe accepts for a Checkout line item, in minor units. */
export const MAX_MINOR_AMOUNT = 99_999_999;

export function isCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && SUPPORTED.has(code);
}

export function minorUnitDigits(currency: string): number {
  const code = currency.toUpperCase();
  if (STRIPE_ZERO_DECIMAL.has(code)) return 0;
  if (STRIPE_THREE_DECIMAL.has(code)) return 3;
  return 2;
}

export type PriceProblem = { message: string };

/**
 * Parses an author's decimal price into minor units, or explains what is wrong with it.
 * "49", "49.0" and "49.00" are all 4900 in USD; "49.001" is not a USD price.
 */
export function parsePrice(price: string, currency: string): { minor: number } | PriceProblem {
  const digits = minorUnitDigits(currency);
  const match = /^(\d{1,9})(?:\.(\d+))?$/.exec(price.trim());
  if (!match) {
    return { message: `"${price}" is not a price: write digits with an optional decimal point, e.g. "${example(digits)}"` };
  }
  const [, whole = '0', fraction = ''] = match;
  if (fraction.length > digits) {
    return digits === 0
      ? { message: `${currency} has no minor unit: write a whole number such as "4900", not "${price}"` }
      : { message: `${currency} has ${digits} decimal places: "${price}" has ${fraction.length}` };
  }
  const minor = Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
  if (minor <= 0) return { message: `the price must be more than zero (mark lessons "preview: true" to give them away)` };
  if (minor > MAX_MINOR_AMOUNT) return { message: `"${price}" ${currency} is above what Stripe accepts for one payment` };
  return { minor };
}

function example(digits: number): string {
  return digits === 0 ? '4900' : `49.${'0'.repeat(digits)}`;
}

/** Formats an amount in minor units for people, e.g. 4900 USD in en-US is "$49". */
export function formatMinor(minor: number, currency: string, locale: string): string {
  const digits = minorUnitDigits(currency);
  const value = minor / 10 ** digits;
  const whole = minor % 10 ** digits === 0;
  return new Intl.NumberFormat(locale, {
    style: 'currency',
    currency,
    minimumFractionDigits: whole ? 0 : digits,
    maximumFractionDigits: digits,
  }).format(value);
}
