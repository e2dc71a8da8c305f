import { describe, expect, test } from 'vitest';
import { clientAddressOf, forwardedHttps, rateLimitSubjectOf } from './client-address.ts';

describe('clientAddressOf', () => {
  const proxy = ['127.0.0.1'];
  test('without a trusted proxy, the socket peer, whatever the headers say', () => {
    expect(clientAddressOf('203.0.113.9', '198.51.100.1', [])).toBe('203.0.113.9');
    expect(clientAddressOf('203.0.113.9', '198.51.100.1', proxy)).toBe('203.0.113.9');
  });
  test('behind a trusted proxy, the address the proxy saw', () => {
    expect(clientAddressOf('127.0.0.1', '198.51.100.1', proxy)).toBe('198.51.100.1');
    expect(clientAddressOf('::ffff:127.0.0.1', '198.51.100.1', proxy)).toBe('198.51.100.1');
  });
  test('addresses a client wrote itself (left of the proxy’s entry) are ignored', () => {
    expect(clientAddressOf('127.0.0.1', '10.0.0.1, 6.6.6.6, 198.51.100.1', proxy)).toBe('198.51.100.1');
  });
  test('chained trusted proxies are skipped; garbage falls back to the peer', () => {
    expect(clientAddressOf('127.0.0.1', '198.51.100.1, 10.0.0.2', ['127.0.0.1', '10.0.0.2'])).toBe('198.51.100.1');
    expect(clientAddressOf('127.0.0.1', 'not-an-address', proxy)).toBe('127.0.0.1');
    expect(clientAddressOf('127.0.0.1', '', proxy)).toBe('127.0.0.1');
  });
  test('https only when a trusted proxy says so', () => {
    expect(forwardedHttps('127.0.0.1', 'https', proxy)).toBe(true);
    expect(forwardedHttps('203.0.113.9', 'https', proxy)).toBe(false);
    expect(forwardedHttps('127.0.0.1', 'http', proxy)).toBe(false);
  });
});

describe('rateLimitSubjectOf', () => {
  test('IPv4 by its address, also when it arrives inside IPv6', () => {
    expect(rateLimitSubjectOf('203.0.113.9')).toBe('203.0.113.9');
    expect(rateLimitSubjectOf('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(rateLimitSubjectOf('::FFFF:cb00:7109')).toBe('203.0.113.9');
  });
  test('IPv6 by its /64, however the address is written', () => {
    const block = '2001:db8:aa:bb::/64';
    for (const address of [
      '2001:db8:aa:bb::1',
      '2001:0db8:00aa:00bb:ffff:ffff:ffff:fffe',
      '2001:DB8:AA:BB:1:2:3:4',
      '[2001:db8:aa:bb::9]',
      '2001:db8:aa:bb::1%eth0',
    ]) {
      expect(rateLimitSubjectOf(address), address).toBe(block);
    }
    expect(rateLimitSubjectOf('2001:db8:aa:bc::1')).not.toBe(block);
    expect(rateLimitSubjectOf('::1')).toBe('0:0:0:0::/64');
    expect(rateLimitSubjectOf('2001:db8::')).toBe('2001:db8:0:0::/64');
  });
  test('what is not an address is counted as it is', () => {
    expect(rateLimitSubjectOf('')).toBe('');
    expect(rateLimitSubjectOf('1:2:3')).toBe('1:2:3');
    expect(rateLimitSubjectOf('1::2::3')).toBe('1::2::3');
  });
});
