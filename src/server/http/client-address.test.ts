import { describe, expect, test } from 'vitest';
import { clientAddressOf, forwardedHttps } from './client-address.ts';

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
