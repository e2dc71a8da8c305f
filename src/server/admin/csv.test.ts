import { describe, expect, it } from 'vitest';
import { csvField, minorToDecimal } from './csv.ts';
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
    expect(textTable(['>id', 'email'], [[1, 'a@example.com'], [12, 'b@x.io']])).toBe(
      ['id  email', '--  -------------', ' 1  a@example.com', '12  b@x.io'].join('\n'),
    );
  });
});
