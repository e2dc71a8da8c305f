// Where a form may send someone afterwards, as a table: paths on this site pass, anything a
// browser could read as another host falls back.
import { describe, expect, test } from 'vitest';
import { safeNext } from './safe-next.ts';

const KEPT: [string, string][] = [
  ['/courses/python/', '/courses/python/'],
  ['/courses/python/why-python/?x=1#part', '/courses/python/why-python/?x=1#part'],
  ['/account', '/account'],
  ['/a/../b', '/b'],
  ['/caf%C3%A9', '/caf%C3%A9'],
];

const REFUSED: unknown[] = [
  undefined,
  null,
  42,
  ['/'],
  '',
  'courses',
  'https://evil.example/',
  'http:/evil.example',
  '//evil.example',
  '///evil.example',
  '/\\evil.example',
  '\\\\evil.example',
  '/%2F%2Fevil.example',
  '/%252F%252Fevil.example',
  '/%5Cevil.example',
  '/ /evil.example',
  '/\t/evil.example',
  '/\n/evil.example',
  '/..//evil.example',
  '/%2e%2e//evil.example',
  'javascript:alert(1)',
  '/%ZZ',
  `/${'a'.repeat(2001)}`,
  '/\u0000',
];

describe('safeNext', () => {
  test.each(KEPT)('keeps %s as %s', (value, expected) => {
    expect(safeNext(value)).toBe(expected);
  });

  test.each(REFUSED.map((value) => [value]))('refuses %j', (value) => {
    expect(safeNext(value)).toBe('/account');
    expect(safeNext(value, '/signup')).toBe('/signup');
  });
});
