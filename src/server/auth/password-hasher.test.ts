import { afterEach, describe, expect, test, vi } from 'vitest';
import { MAX_SUBTLE_ITERATIONS, pbkdf2Sha256, pbkdf2Sha256Sliced, utf8 } from './pbkdf2.ts';
import { hashPassword, needsRehash, roundsFor, verifyPassword, wrapDjangoHash } from './password-hasher.ts';

// Reference values from Python's hashlib.pbkdf2_hmac, which is what Django's PBKDF2PasswordHasher
// computes: base64(pbkdf2_hmac('sha256', password, salt, iterations)).
const DJANGO = {
  at100k: 'pbkdf2_sha256$100000$seasalt$BNZ6eyaNc8qFTJPjrAq99hSYb73EgAdytAtdBg2Sdcc=',
  at260k: 'pbkdf2_sha256$260000$KxJ3sF9qLm2p$ZggYDH1twWi9Y6EIGXgF2KC8H0Vhzc3g4mg2ALHlxo8=',
};

/** Behaves like WebCrypto on Cloudflare Workers in production: refuses large iteration counts. Returns the counts it computed. */
function enforceWorkersLimit() {
  const original = crypto.subtle.deriveBits.bind(crypto.subtle);
  const counts: number[] = [];
  vi.spyOn(crypto.subtle, 'deriveBits').mockImplementation((algorithm, key, length) => {
    const iterations = (algorithm as Pbkdf2Params).iterations;
    if (iterations > 100_000) return Promise.reject(new DOMException('iteration counts above 100000 are not supported', 'NotSupportedError'));
    counts.push(iterations);
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

  test('above 100,000 iterations verify where WebCrypto refuses the count (Workers), in JavaScript', async () => {
    const counts = enforceWorkersLimit();
    expect(await verifyPassword('correct horse battery staple', DJANGO.at260k)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', DJANGO.at260k)).toBe(false);
    expect(Math.max(0, ...counts)).toBeLessThanOrEqual(MAX_SUBTLE_ITERATIONS);
  });
});

describe('Django hashes wrapped in ours at import', () => {
  test("verify with the old password and cost the site's iterations in all", async () => {
    const wrapped = (await wrapDjangoHash(DJANGO.at260k, { iterations: 600_000 }))!;
    const [prefix, djangoIterations, djangoSalt, perRound, rounds] = wrapped.split('$');
    expect([prefix, djangoIterations, djangoSalt]).toEqual(['pbkdf2_sha256_django_chain', '260000', 'KxJ3sF9qLm2p']);
    expect(260_000 + Number(perRound) * Number(rounds)).toBe(600_000);
    expect(wrapped).not.toContain(DJANGO.at260k.split('$')[3]);
    expect(await verifyPassword('correct horse battery staple', wrapped)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', wrapped)).toBe(false);
    expect(needsRehash(wrapped, { iterations: 600_000 })).toBe(true);
  });

  test('are our chain keyed by the bytes of the Django hash', async () => {
    const wrapped = (await wrapDjangoHash(DJANGO.at100k, { iterations: 150_000 }))!;
    const [, , , perRound, rounds, salt, encoded] = wrapped.split('$');
    expect([perRound, rounds]).toEqual(['50000', '1']);
    const djangoBytes = Uint8Array.from(atob(DJANGO.at100k.split('$')[3]!), (char) => char.charCodeAt(0));
    const key = await pbkdf2Sha256(djangoBytes, utf8(salt!), 50_000);
    expect(btoa(String.fromCharCode(...key))).toBe(encoded);
  });

  test("keep at least one iteration of ours when Django's reach the site's cost, and wrap nothing else", async () => {
    const wrapped = (await wrapDjangoHash(DJANGO.at260k, { iterations: 2_000 }))!;
    expect(wrapped).toMatch(/^pbkdf2_sha256_django_chain\$260000\$KxJ3sF9qLm2p\$1\$1\$/);
    expect(await verifyPassword('correct horse battery staple', wrapped)).toBe(true);
    const ours = await hashPassword('x'.repeat(12), { iterations: 2_000 });
    for (const stored of [ours, wrapped, '!unusable', '', 'argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA'])
      expect(await wrapDjangoHash(stored, { iterations: 2_000 })).toBeNull();
  });

  test('verify on Workers: the Django part in JavaScript, our rounds within the limit', async () => {
    const wrapped = (await wrapDjangoHash(DJANGO.at260k, { iterations: 600_000 }))!;
    const counts = enforceWorkersLimit();
    expect(await verifyPassword('correct horse battery staple', wrapped)).toBe(true);
    expect(Math.max(...counts)).toBeLessThanOrEqual(MAX_SUBTLE_ITERATIONS);
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
    for (const stored of [
      '',
      'pbkdf2_sha256_django_chain$1000$salt$1000$1$salt',
      'pbkdf2_sha256_django_chain$1000$salt$200000$1$salt$AAAA',
      'plaintext',
      'pbkdf2_sha256$abc$salt$hash',
      'pbkdf2_sha256_chain$200000$1$salt$AAAA',
      'bcrypt$2b$12$x',
      'pbkdf2_sha256$1000$$AAAA',
    ]) {
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
  expect(await pbkdf2Sha256Sliced(password, salt, 100_001)).toEqual(reference);
  expect(await pbkdf2Sha256(password, salt, 100_001)).toEqual(reference);
});
