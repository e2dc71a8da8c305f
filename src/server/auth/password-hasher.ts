// Password hashes, with their parameters stored beside them so the cost can rise later:
//
//   pbkdf2_sha256_chain$<iterations per round>$<rounds>$<salt>$<base64 hash>   (ours)
//   pbkdf2_sha256$<iterations>$<salt>$<base64 hash>                             (Django's)
//
// Ours chains rounds of at most 100,000 PBKDF2 iterations, each round keyed by the previous
// round's output, because Cloudflare Workers refuse larger single calls; the work is the sum of
// the rounds and cannot be shortcut. See docs/decisions/0001-password-hashing.md.
import { MAX_SUBTLE_ITERATIONS, pbkdf2Sha256, utf8 } from './pbkdf2.ts';

const OURS = 'pbkdf2_sha256_chain';
const DJANGO = 'pbkdf2_sha256';
const MAX_ROUNDS = 1_000;

export type HashParameters = { iterations: number };

/** Splits a total iteration count into equal rounds that each stay under the per-call cap. */
export function roundsFor(totalIterations: number): { perRound: number; rounds: number } {
  const rounds = Math.max(1, Math.ceil(totalIterations / MAX_SUBTLE_ITERATIONS));
  return { perRound: Math.ceil(totalIterations / rounds), rounds };
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(value: string): Uint8Array | null {
  try {
    return Uint8Array.from(atob(value), (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}

function randomSalt(): string {
  // 16 random bytes as base64url: no `$`, like Django's alphanumeric salts.
  return toBase64(crypto.getRandomValues(new Uint8Array(16))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

async function chain(password: string, salt: string, perRound: number, rounds: number): Promise<Uint8Array> {
  const saltBytes = utf8(salt);
  let key = utf8(password);
  for (let round = 0; round < rounds; round++) key = await pbkdf2Sha256(key, saltBytes, perRound);
  return key;
}

export async function hashPassword(password: string, parameters: HashParameters): Promise<string> {
  const { perRound, rounds } = roundsFor(parameters.iterations);
  const salt = randomSalt();
  const hash = await chain(password, salt, perRound, rounds);
  return `${OURS}$${perRound}$${rounds}$${salt}$${toBase64(hash)}`;
}

type Parsed =
  | { kind: 'ours'; perRound: number; rounds: number; salt: string; hash: Uint8Array }
  | { kind: 'django'; iterations: number; salt: string; hash: Uint8Array };

function parse(stored: string): Parsed | null {
  const parts = stored.split('$');
  const count = (value: string | undefined) => (value && /^[1-9]\d{0,8}$/.test(value) ? Number(value) : null);
  if (parts[0] === OURS && parts.length === 5) {
    const perRound = count(parts[1]);
    const rounds = count(parts[2]);
    const hash = fromBase64(parts[4]!);
    if (!perRound || perRound > MAX_SUBTLE_ITERATIONS || !rounds || rounds > MAX_ROUNDS || !parts[3] || !hash) return null;
    return { kind: 'ours', perRound, rounds, salt: parts[3], hash };
  }
  if (parts[0] === DJANGO && parts.length === 4) {
    const iterations = count(parts[1]);
    const hash = fromBase64(parts[3]!);
    if (!iterations || !parts[2] || !hash) return null;
    return { kind: 'django', iterations, salt: parts[2], hash };
  }
  return null;
}

/** True when `password` matches `stored`; false for a mismatch or a hash in no known format. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed) return false;
  const computed =
    parsed.kind === 'ours'
      ? await chain(password, parsed.salt, parsed.perRound, parsed.rounds)
      : await pbkdf2Sha256(utf8(password), utf8(parsed.salt), parsed.iterations);
  return equalBytes(computed, parsed.hash);
}

/** True when `stored` should be replaced by a fresh hash at the next successful sign-in. */
export function needsRehash(stored: string, parameters: HashParameters): boolean {
  const parsed = parse(stored);
  if (!parsed || parsed.kind !== 'ours') return true;
  return parsed.perRound * parsed.rounds < parameters.iterations;
}

/** Finished hashes only: a promise begun in one request must not be awaited by another (workerd). */
const dummies = new Map<number, string>();

/**
 * A hash with the current cost to verify against when there is no account, so that an unknown
 * email takes as long to refuse as a wrong password.
 */
export async function dummyHash(parameters: HashParameters): Promise<string> {
  const known = dummies.get(parameters.iterations);
  if (known) return known;
  const dummy = await hashPassword(randomSalt(), parameters);
  dummies.set(parameters.iterations, dummy);
  return dummy;
}
