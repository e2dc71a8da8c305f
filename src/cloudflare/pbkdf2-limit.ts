// Cloudflare Workers in production refuse a PBKDF2 deriveBits above 100,000 iterations; local
// workerd (wrangler dev) computes any count. The Worker installs this guard so that local
// runs fail the way production would: a hashing change that asks for more in one call breaks
// `npm run cf:dev` and tests/cloudflare.test.ts instead of every sign-in after a deploy. In
// production the guard refuses nothing the runtime would have accepted.
import { MAX_SUBTLE_ITERATIONS } from '../server/auth/pbkdf2.ts';

const GUARDED = Symbol.for('course-store.pbkdf2-limit');

/** Installs the guard; true when the runtime's deriveBits is now the guarded one. */
export function enforceWorkersPbkdf2Limit(subtle: SubtleCrypto = crypto.subtle): boolean {
  const target = subtle as SubtleCrypto & { [GUARDED]?: true };
  if (target[GUARDED]) return true;
  const deriveBits = subtle.deriveBits.bind(subtle);
  target.deriveBits = (algorithm, baseKey, length) => {
    const iterations = typeof algorithm === 'object' && algorithm.name.toUpperCase() === 'PBKDF2' ? (algorithm as Pbkdf2Params).iterations : 0;
    if (iterations > MAX_SUBTLE_ITERATIONS) {
      // The text production gives.
      return Promise.reject(
        new DOMException(`Pbkdf2 failed: iteration counts above ${MAX_SUBTLE_ITERATIONS} are not supported (requested ${iterations}).`, 'NotSupportedError'),
      );
    }
    return deriveBits(algorithm, baseKey, length ?? null);
  };
  const guarded = target.deriveBits;
  target[GUARDED] = true;
  return subtle.deriveBits === guarded;
}
