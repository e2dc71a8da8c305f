import { describe, expect, it } from 'vitest';
import { csvField, minorToDecimal, purchasesCsv } from './csv.ts';
import { textTable } from './text-table.ts';

describe('csvField', () => {
  it('quotes fields with a comma, a quote or a line break, doubling quotes (RFC 4180)', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a, b')).toBe('"a, b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(42)).toBe('42');
  });

  it('defuses text that a spreadsheet would run as a formula', () => {
    expect(csvField('=HYPERLINK("http://x")', { text: true })).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvField('+1', { text: true })).toBe("'+1");
    expect(csvField('@sum', { text: true })).toBe("'@sum");
    expect(csvField('-5')).toBe('-5');
  });
});

describe('minorToDecimal', () => {
  it('writes amounts in the major unit exactly, by the currency’s minor unit', () => {
    expect(minorToDecimal(4900, 'USD')).toBe('49.00');
    expect(minorToDecimal(5, 'EUR')).toBe('0.05');
    expect(minorToDecimal(0, 'USD')).toBe('0.00');
    expect(minorToDecimal(4900, 'JPY')).toBe('4900');
    expect(minorToDecimal(1234, 'KWD')).toBe('1.234');
    expect(minorToDecimal(-250, 'USD')).toBe('-2.50');
    expect(minorToDecimal(99_999_999, 'USD')).toBe('999999.99');
  });
});

describe('textTable', () => {
  it('pads columns to their widest cell and right-aligns numbers when asked', () => {
    expect(
      textTable(
        ['>id', 'email'],
        [
          [1, 'a@example.com'],
          [12, 'b@x.io'],
        ],
      ),
    ).toBe(['id  email', '--  -------------', ' 1  a@example.com', '12  b@x.io'].join('\n'));
  });
});

describe('the excel-fr dialect', () => {
  it('starts with a UTF-8 byte order mark, separates with ; and writes amounts with a decimal comma', () => {
    const row = {
      id: 1,
      createdAt: Date.UTC(2026, 0, 2),
      userId: 3,
      email: 'zoé@example.com',
      courseSlug: 'python',
      courseTitle: 'Python; the basics',
      source: 'stripe',
      status: 'paid',
      access: 'active',
      accessReason: 'purchase',
      amountMinor: 4900,
      amountRefundedMinor: 0,
      currency: 'EUR',
      checkoutSessionId: 'cs_1',
      paymentIntentId: 'pi_1',
      livemode: false,
    } as Parameters<typeof purchasesCsv>[0][number];
    const french = purchasesCsv([row], 'excel-fr');
    expect(french.startsWith('\ufeffpurchase_id;created_at;email;')).toBe(true);
    expect(french).toContain(';zoé@example.com;python;"Python; the basics";stripe;paid;active;49,00;0,00;EUR;');
    const plain = purchasesCsv([row]);
    expect(plain.startsWith('purchase_id,created_at,')).toBe(true);
    expect(plain).toContain(',"Python; the basics",stripe,paid,active,49.00,0.00,EUR,');
  });
});
