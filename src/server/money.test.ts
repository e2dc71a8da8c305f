import { describe, expect, it } from 'vitest';
import { formatMinor, isCurrency, minorUnitDigits, parsePrice } from './money.ts';

describe('parsePrice', () => {
  it('reads decimal strings into minor units without floating point', () => {
    expect(parsePrice('49.00', 'USD')).toEqual({ minor: 4900 });
    expect(parsePrice('49', 'USD')).toEqual({ minor: 4900 });
    expect(parsePrice('19.5', 'EUR')).toEqual({ minor: 1950 });
    expect(parsePrice('0.29', 'USD')).toEqual({ minor: 29 });
    expect(parsePrice('4900', 'JPY')).toEqual({ minor: 4900 });
    expect(parsePrice('12.345', 'KWD')).toEqual({ minor: 12345 });
    expect(parsePrice('999999.99', 'USD')).toEqual({ minor: 99999999 });
  });

  it('explains what is wrong with a bad price', () => {
    expect(parsePrice('49.001', 'USD')).toEqual({ message: 'USD has 2 decimal places: "49.001" has 3' });
    expect(parsePrice('49.5', 'JPY')).toEqual({ message: 'JPY has no minor unit: write a whole number such as "4900", not "49.5"' });
    expect(parsePrice('$49', 'USD')).toMatchObject({ message: expect.stringContaining('is not a price') });
    expect(parsePrice('49,00', 'EUR')).toMatchObject({ message: expect.stringContaining('is not a price') });
    expect(parsePrice('-1', 'USD')).toMatchObject({ message: expect.stringContaining('is not a price') });
    expect(parsePrice('1e3', 'USD')).toMatchObject({ message: expect.stringContaining('is not a price') });
    expect(parsePrice('0.00', 'USD')).toMatchObject({ message: expect.stringContaining('more than zero') });
    expect(parsePrice('1000000', 'USD')).toMatchObject({ message: expect.stringContaining('above what Stripe accepts') });
  });
});

describe('currencies', () => {
  it('knows ISO 4217 codes and Stripe minor units', () => {
    expect(isCurrency('USD')).toBe(true);
    expect(isCurrency('usd')).toBe(false);
    expect(isCurrency('XYZ')).toBe(false);
    expect(minorUnitDigits('JPY')).toBe(0);
    expect(minorUnitDigits('krw')).toBe(0);
    expect(minorUnitDigits('KWD')).toBe(3);
    expect(minorUnitDigits('EUR')).toBe(2);
  });

  it('formats minor units for a locale', () => {
    expect(formatMinor(4900, 'USD', 'en-US')).toBe('$49');
    expect(formatMinor(1950, 'EUR', 'en-US')).toBe('€19.50');
    expect(formatMinor(1950, 'EUR', 'de-DE')).toBe('19,50\u00a0€');
    expect(formatMinor(4900, 'JPY', 'en-US')).toBe('¥4,900');
    expect(formatMinor(12345, 'KWD', 'en-US')).toBe('KWD\u00a012.345');
  });
});
