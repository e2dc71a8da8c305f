// Stripe's currencies as the stand-in needs them: which exist, how many minor units each has, the
// smallest Checkout total Stripe accepts, and how an amount reads on a page. A mispriced course
// (a fraction of a yen, a total under Stripe's minimum) must fail here as it would live.

const ZERO_DECIMAL = new Set('bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf'.split(' '));
const THREE_DECIMAL = new Set('bhd jod kwd omr tnd'.split(' '));

export const CURRENCIES = new Set(
  `usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd
  bwp byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd
  hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd
  mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf
  sar sbd scr sek sgd shp sle sos srd std szl thb tjs tnd top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd
  xof xpf yer zar zmw`.split(/\s+/),
);

// Stripe refuses Checkout totals below these (minor units); currencies not listed accept any total.
const MIN_TOTAL: Record<string, number> = {
  usd: 50,
  eur: 50,
  gbp: 30,
  cad: 50,
  aud: 50,
  nzd: 50,
  chf: 50,
  sgd: 50,
  brl: 50,
  inr: 50,
  jpy: 50,
  hkd: 400,
  dkk: 250,
  nok: 300,
  sek: 300,
  pln: 200,
  czk: 1500,
  huf: 17500,
  mxn: 1000,
  ron: 200,
  aed: 200,
};

export const minimumTotal = (currency: string): number => MIN_TOTAL[currency] ?? 1;

export const isThreeDecimal = (currency: string): boolean => THREE_DECIMAL.has(currency);

function minorExponent(currency: string): number {
  return ZERO_DECIMAL.has(currency) ? 0 : THREE_DECIMAL.has(currency) ? 3 : 2;
}

/** Formats an amount in minor units (Stripe's convention) for display. */
export function formatAmount(amount: number, currency: string, locale = 'en-US'): string {
  const exp = minorExponent(currency);
  const major = amount / 10 ** exp;
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency: currency.toUpperCase(), maximumFractionDigits: exp }).format(major);
  } catch {
    return `${major.toFixed(exp)} ${currency.toUpperCase()}`;
  }
}

/** "12.5" in major units -> minor units, without floating point. */
export function parseMajorAmount(text: string, currency: string): number | null {
  const exp = minorExponent(currency);
  const m = /^(\d+)(?:[.,](\d+))?$/.exec(text.trim());
  if (!m || (m[2] ?? '').length > exp) return null;
  return Number(m[1]) * 10 ** exp + Number((m[2] ?? '').padEnd(exp, '0') || '0');
}
