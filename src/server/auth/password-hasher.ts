// Password hashes, with their parameters stored beside them so the cost can rise later:
//
//   pbkdf2_sha256_chain$<iterations per round>$<rounds>$<salt>$<base64 hash>   (ours)
//   pbkdf2_sha256$<iterations>$<salt>$<base64 hash>                             (Django's)
//   pbkdf2_sha256_django_chain$<Django iterations>$<Django salt>$<iterations per round>$<rounds>$<salt>$<base64 hash>
//                                                    (a Django hash wrapped in ours at import)
//
// Ours chains rounds of at most 100,000 PBKDF2 iterations, each round keyed by the previous
// round's output, because Cloudflare Workers refuse larger single calls; the work is the sum of
// the rounds and cannot be shortcut. A wrapped Django hash is the same chain keyed by Django's
// PBKDF2 output instead of the password, with as many iterations as make the total the site's
// cost: a wrong password costs the same on an imported account as on any other. See
// docs/decisions/0001-password-hashing.md.
import { MAX_SUBTLE_ITERATIONS, pbkdf2Sha256, utf8 } from './pbkdf2.ts';

const OURS = 'pbkdf2_sha256_chain';
const DJANGO = 'pbkdf2_sha256';
const WRAPPED = 'pbkdf2_sha256_django_chain';
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
  return toBase64(crypto.getRandomValues(new Uint8Array(16)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

async function chain(start: Uint8Array, salt: string, perRound: number, rounds: number): Promise<Uint8Array> {
  const saltBytes = utf8(salt);
  let key = start;
  for (let round = 0; round < rounds; round++) key = await pbkdf2Sha256(key, saltBytes, perRound);
  return key;
}

export async function hashPassword(password: string, parameters: HashParameters): Promise<string> {
  const { perRound, rounds } = roundsFor(parameters.iterations);
  const salt = randomSalt();
  const hash = await chain(utf8(password), salt, perRound, rounds);
  return `${OURS}$${perRound}$${rounds}$${salt}$${toBase64(hash)}`;
}

/**
 * Wraps a Django `pbkdf2_sha256$...` hash in our chain, keyed by the hash's own bytes, so that
 * verifying it costs Django's iterations plus ours, `parameters.iterations` in all (at least one
 * iteration of ours when Django's alone reach it). Null for anything that is not a Django PBKDF2
 * hash. Verifying needs the password, as before: the member signs in with their old one.
 */
export async function wrapDjangoHash(stored: string, parameters: HashParameters): Promise<string | null> {
  const parsed = parse(stored);
  if (!parsed || parsed.kind !== 'django') return null;
  const { perRound, rounds } = roundsFor(Math.max(1, parameters.iterations - parsed.iterations));
  const salt = randomSalt();
  const hash = await chain(parsed.hash, salt, perRound, rounds);
  return `${WRAPPED}$${parsed.iterations}$${parsed.salt}$${perRound}$${rounds}$${salt}$${toBase64(hash)}`;
}

type Parsed =
  | { kind: 'ours'; perRound: number; rounds: number; salt: string; hash: Uint8Array }
  | { kind: 'django'; iterations: number; salt: string; hash: Uint8Array }
  | { kind: 'wrapped'; iterations: number; djangoSalt: string; perRound: number; rounds: number; salt: string; hash: Uint8Array };

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
  if (parts[0] === WRAPPED && parts.length === 7) {
    const iterations = count(parts[1]);
    const perRound = count(parts[3]);
    const rounds = count(parts[4]);
    const hash = fromBase64(parts[6]!);
    if (!iterations || !parts[2] || !perRound || perRound > MAX_SUBTLE_ITERATIONS || !rounds || rounds > MAX_ROUNDS || !parts[5] || !hash) return null;
    return { kind: 'wrapped', iterations, djangoSalt: parts[2], perRound, rounds, salt: parts[5], hash };
  }
  return null;
}

/** True when `password` matches `stored`; false for a mismatch or a hash in no known format. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed) return false;
  let computed: Uint8Array;
  if (parsed.kind === 'ours') computed = await chain(utf8(password), parsed.salt, parsed.perRound, parsed.rounds);
  else if (parsed.kind === 'django') computed = await pbkdf2Sha256(utf8(password), utf8(parsed.salt), parsed.iterations);
  else computed = await chain(await pbkdf2Sha256(utf8(password), utf8(parsed.djangoSalt), parsed.iterations), parsed.salt, parsed.perRound, parsed.rounds);
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
