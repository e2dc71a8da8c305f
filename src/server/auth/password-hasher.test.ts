import { afterEach, describe, expect, test, vi } from 'vitest';
import { MAX_SUBTLE_ITERATIONS, pbkdf2Sha256, utf8 } from './pbkdf2.ts';
import { hashPassword, needsRehash, roundsFor, verifyPassword } from './password-hasher.ts';

// Reference values from Python's hashlib.pbkdf2_hmac, which is what Django's PBKDF2PasswordHasher
// computes: base64(pbkdf2_hmac('sha256', password, salt, iterations)).
const DJANGO = {
  at100k: 'pbkdf2_sha256$100000$seasalt$BNZ6eyaNc8qFTJPjrAq99hSYb73EgAdytAtdBg2Sdcc=',
  at260k: 'pbkdf2_sha256$260000$KxJ3sF9qLm2p$ZggYDH1twWi9Y6EIGXgF2KC8H0Vhzc3g4mg2ALHlxo8=',
};

/** Behaves like WebCrypto on Cloudflare Workers in production: refuses large iteration counts. */
function enforceWorkersLimit() {
  const original = crypto.subtle.deriveBits.bind(crypto.subtle);
  const counts: number[] = [];
  vi.spyOn(crypto.subtle, 'deriveBits').mockImplementation((algorithm, key, length) => {
    const iterations = (algorithm as Pbkdf2Params).iterations;
    counts.push(iterations);
    if (iterations > 100_000) return Promise.reject(new DOMException('iteration counts above 100000 are not supported', 'NotSupportedError'));
    return original(algorithm, key, length);
  });
  return counts;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Django hashes', () => {
  test('verify with the right password and not with a wrong one', async () => {
    expect(await verifyPassword('lètmein', DJANGO.at100k)).toBe(true);
    expect(await verifyPassword('letmein', DJANGO.at100k)).toBe(false);
    expect(await verifyPassword('correct horse battery staple', DJANGO.at260k)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', DJANGO.at260k)).toBe(false);
  });

  test('always need rehashing into our format', () => {
    expect(needsRehash(DJANGO.at260k, { iterations: 600_000 })).toBe(true);
  });

  test('above 100,000 iterations verify without any WebCrypto call over the Workers limit', async () => {
    const counts = enforceWorkersLimit();
    expect(await verifyPassword('correct horse battery staple', DJANGO.at260k)).toBe(true);
    expect(Math.max(0, ...counts)).toBeLessThanOrEqual(MAX_SUBTLE_ITERATIONS);
  });
});

describe('our hashes', () => {
  test('the production cost is split into rounds of at most 100,000 iterations', () => {
    expect(roundsFor(600_000)).toEqual({ perRound: 100_000, rounds: 6 });
    expect(roundsFor(250_000)).toEqual({ perRound: 83_334, rounds: 3 });
    expect(roundsFor(2_000)).toEqual({ perRound: 2_000, rounds: 1 });
  });

  test('hash and verify at the production cost with no call above the limit', async () => {
    const counts = enforceWorkersLimit();
    const hash = await hashPassword('a long enough passphrase', { iterations: 600_000 });
    expect(hash).toMatch(/^pbkdf2_sha256_chain\$100000\$6\$[\w-]{22}\$[A-Za-z0-9+/]{43}=$/);
    expect(await verifyPassword('a long enough passphrase', hash)).toBe(true);
    expect(await verifyPassword('a long enough passphrasE', hash)).toBe(false);
    expect(counts).toEqual(Array(18).fill(100_000));
  });

  test('a chain equals PBKDF2 applied round after round, so each round depends on the last', async () => {
    const hash = await hashPassword('pass phrase', { iterations: 210_000 });
    const [, perRound, rounds, salt, encoded] = hash.split('$');
    expect([perRound, rounds]).toEqual(['70000', '3']);
    let key = utf8('pass phrase');
    for (let round = 0; round < 3; round++) key = await pbkdf2Sha256(key, utf8(salt!), 70_000);
    expect(btoa(String.fromCharCode(...key))).toBe(encoded);
  });

  test('salts differ, and a cheaper hash than configured asks to be rehashed', async () => {
    const one = await hashPassword('same password', { iterations: 2_000 });
    const two = await hashPassword('same password', { iterations: 2_000 });
    expect(one).not.toBe(two);
    expect(needsRehash(one, { iterations: 2_000 })).toBe(false);
    expect(needsRehash(one, { iterations: 600_000 })).toBe(true);
  });

  test('malformed or unknown hashes never verify', async () => {
    for (const stored of ['', 'plaintext', 'pbkdf2_sha256$abc$salt$hash', 'pbkdf2_sha256_chain$200000$1$salt$AAAA', 'bcrypt$2b$12$x', 'pbkdf2_sha256$1000$$AAAA']) {
      expect(await verifyPassword('anything', stored)).toBe(false);
    }
  });
});

test('the JavaScript PBKDF2 used above the limit matches WebCrypto', async () => {
  const password = utf8('k'.repeat(70)); // longer than a SHA-256 block: the key is hashed first
  const salt = utf8('salt');
  const reference = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations: 100_001 },
      await crypto.subtle.importKey('raw', password as BufferSource, 'PBKDF2', false, ['deriveBits']),
      256,
    ),
  );
  expect(await pbkdf2Sha256(password, salt, 100_001)).toEqual(reference);
});
