// The JavaScript PBKDF2 (for the counts Workers' WebCrypto refuses) against WebCrypto's own, which
// Node computes for any count: passwords on both sides of the 64-byte HMAC block (longer keys are
// hashed first), salts of several lengths, counts on both sides of a slice boundary. The RFC 7914
// vector (PBKDF2-HMAC-SHA256, "passwd", "salt", 1 iteration) pins both to the standard.
import { describe, expect, test } from 'vitest';
import { pbkdf2Sha256Sliced, utf8 } from './pbkdf2.ts';

async function webCrypto(password: Uint8Array, salt: Uint8Array, iterations: number): Promise<string> {
  const key = await crypto.subtle.importKey('raw', password as BufferSource, 'PBKDF2', false, ['deriveBits']);
  return Buffer.from(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations }, key, 256)).toString('hex');
}

const hex = async (bytes: Promise<Uint8Array>) => Buffer.from(await bytes).toString('hex');

describe('pbkdf2Sha256Sliced', () => {
  test('gives the RFC 7914 vector', async () => {
    expect(await hex(pbkdf2Sha256Sliced(utf8('passwd'), utf8('salt'), 1))).toBe('55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc');
  });

  test.each([
    [1, 0, 1],
    [10, 12, 2],
    [63, 16, 1000],
    [64, 22, 4000],
    [65, 22, 4001],
    [200, 64, 8002],
  ])('a %i-byte password, a %i-byte salt, %i iterations: the same bytes as WebCrypto', async (passwordBytes, saltBytes, iterations) => {
    const password = Uint8Array.from({ length: passwordBytes }, (_, i) => (i * 7 + 1) & 0xff);
    const salt = Uint8Array.from({ length: saltBytes }, (_, i) => (i * 13 + 5) & 0xff);
    expect(await hex(pbkdf2Sha256Sliced(password, salt, iterations))).toBe(await webCrypto(password, salt, iterations));
  });
});
