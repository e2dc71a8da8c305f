// PBKDF2-HMAC-SHA256 with one 32-byte output block, under the constraint of Cloudflare Workers:
// WebCrypto there refuses more than 100,000 iterations in one call (local workerd does not, so a
// guard enforces it there and a test enforces it here). Calls up to the cap go to crypto.subtle,
// which runs off the event loop on Node. Larger counts, needed only to verify hashes imported from
// Django, are asked of crypto.subtle too (Node computes them natively, as fast as our own hashes,
// so an imported account costs what a native one costs), and computed here in JavaScript, in
// slices that yield between them, only when the runtime refuses them (Workers).

/** The most iterations any single crypto.subtle PBKDF2 call may ask for. */
export const MAX_SUBTLE_ITERATIONS = 100_000;

/** Iterations computed between two yields to the event loop (a few milliseconds of CPU). */
const SLICE = 4_000;

const encoder = new TextEncoder();

export async function pbkdf2Sha256(password: Uint8Array, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new RangeError(`invalid iteration count ${iterations}`);
  if (iterations <= MAX_SUBTLE_ITERATIONS) return pbkdf2Subtle(password, salt, iterations);
  try {
    return await pbkdf2Subtle(password, salt, iterations);
  } catch {
    // Workers refuse the call before doing any work (NotSupportedError): the refusal costs nothing.
    return pbkdf2Sha256Sliced(password, salt, iterations);
  }
}

async function pbkdf2Subtle(password: Uint8Array, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', password as BufferSource, 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations }, key, 256);
  return new Uint8Array(bits);
}

export function utf8(value: string): Uint8Array {
  return encoder.encode(value);
}

// ---- SHA-256 compression, enough for HMAC over 32-byte messages ----

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74,
  0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d,
  0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
  0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
  0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/** Compresses one 64-byte block `w[0..16)` into a copy of `state`, writing the result to `out`. */
function compress(state: Uint32Array, w: Uint32Array, out: Uint32Array): void {
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15]!;
    const b = w[i - 2]!;
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = state[0]!,
    b = state[1]!,
    c = state[2]!,
    d = state[3]!,
    e = state[4]!,
    f = state[5]!,
    g = state[6]!,
    h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[i]! + w[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  out[0] = (state[0]! + a) | 0;
  out[1] = (state[1]! + b) | 0;
  out[2] = (state[2]! + c) | 0;
  out[3] = (state[3]! + d) | 0;
  out[4] = (state[4]! + e) | 0;
  out[5] = (state[5]! + f) | 0;
  out[6] = (state[6]! + g) | 0;
  out[7] = (state[7]! + h) | 0;
}

/** The SHA-256 state after absorbing one 64-byte HMAC pad block (key XOR pad). */
function padState(key: Uint8Array, pad: number): Uint32Array {
  const w = new Uint32Array(64);
  for (let i = 0; i < 16; i++) {
    let word = 0;
    for (let j = 0; j < 4; j++) word = (word << 8) | ((key[i * 4 + j] ?? 0) ^ pad);
    w[i] = word;
  }
  const out = new Uint32Array(8);
  compress(IV, w, out);
  return out;
}

/** The same result computed in JavaScript, for runtimes whose WebCrypto refuses the count. */
export async function pbkdf2Sha256Sliced(password: Uint8Array, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  // HMAC keys longer than a block are hashed first (RFC 2104).
  const key = password.length > 64 ? new Uint8Array(await crypto.subtle.digest('SHA-256', password as BufferSource)) : password;
  const inner = padState(key, 0x36);
  const outer = padState(key, 0x5c);

  // U1 = HMAC(P, salt || INT(1)) has a message of any length: let WebCrypto compute it.
  const hmacKey = await crypto.subtle.importKey('raw', password as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const first = new Uint8Array(salt.length + 4);
  first.set(salt);
  first[salt.length + 3] = 1;
  const u1 = new Uint8Array(await crypto.subtle.sign('HMAC', hmacKey, first));

  const u = new Uint32Array(8);
  for (let i = 0; i < 8; i++) u[i] = (u1[i * 4]! << 24) | (u1[i * 4 + 1]! << 16) | (u1[i * 4 + 2]! << 8) | u1[i * 4 + 3]!;
  const t = u.slice();
  // Each later U is HMAC over the previous 32-byte U: one block for the inner hash (U, padding,
  // length of 64 + 32 bytes) and one for the outer hash, both from the precomputed pad states.
  const w = new Uint32Array(64);
  const innerOut = new Uint32Array(8);
  for (let done = 1; done < iterations; ) {
    const end = Math.min(iterations, done + SLICE);
    for (; done < end; done++) {
      w.set(u, 0);
      w[8] = 0x80000000;
      w.fill(0, 9, 15);
      w[15] = (64 + 32) * 8;
      compress(inner, w, innerOut);
      w.set(innerOut, 0);
      w[8] = 0x80000000;
      w.fill(0, 9, 15);
      w[15] = (64 + 32) * 8;
      compress(outer, w, u);
      for (let i = 0; i < 8; i++) t[i]! ^= u[i]!;
    }
    if (done < iterations) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  const result = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    result[i * 4] = t[i]! >>> 24;
    result[i * 4 + 1] = (t[i]! >>> 16) & 0xff;
    result[i * 4 + 2] = (t[i]! >>> 8) & 0xff;
    result[i * 4 + 3] = t[i]! & 0xff;
  }
  return result;
}
