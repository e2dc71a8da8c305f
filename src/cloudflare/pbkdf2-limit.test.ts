// The guard refuses what Workers production refuses, and our hashes stay within it at any cost.
import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../server/auth/password-hasher.ts';
import { pbkdf2Sha256, utf8 } from '../server/auth/pbkdf2.ts';
import { enforceWorkersPbkdf2Limit } from './pbkdf2-limit.ts';

describe('the Workers PBKDF2 limit', () => {
  it('refuses one call above 100,000 iterations and lets the hasher work at 600,000', async () => {
    const subtle = Object.create(crypto.subtle, { deriveBits: { value: crypto.subtle.deriveBits.bind(crypto.subtle), writable: true } }) as SubtleCrypto;
    enforceWorkersPbkdf2Limit(subtle);
    const key = await crypto.subtle.importKey('raw', utf8('pw') as BufferSource, 'PBKDF2', false, ['deriveBits']);
    await expect(subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(16), iterations: 100_001 }, key, 256)).rejects.toThrow(
      /above 100000/,
    );
    expect((await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(16), iterations: 100_000 }, key, 256)).byteLength).toBe(32);
  });

  it('guards the global crypto the hasher uses', async () => {
    const original = crypto.subtle.deriveBits;
    try {
      enforceWorkersPbkdf2Limit();
      const stored = await hashPassword('correct horse', { iterations: 600_000 });
      expect(stored).toMatch(/^pbkdf2_sha256_chain\$100000\$6\$/);
      expect(await verifyPassword('correct horse', stored)).toBe(true);
      // A Django hash above the limit is computed in JavaScript, never in one call.
      expect((await pbkdf2Sha256(utf8('pw'), utf8('salt'), 120_000)).byteLength).toBe(32);
      const key = await crypto.subtle.importKey('raw', utf8('pw') as BufferSource, 'PBKDF2', false, ['deriveBits']);
      await expect(crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(16), iterations: 200_000 }, key, 256)).rejects.toThrow(
        /not supported/,
      );
    } finally {
      (crypto.subtle as SubtleCrypto & Record<symbol, unknown>)[Symbol.for('course-store.pbkdf2-limit')] = undefined;
      crypto.subtle.deriveBits = original;
    }
  });
});
