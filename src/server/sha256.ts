// The SHA-256 of a text or of bytes, as lower-case hex, with WebCrypto (every runtime has it).
// Used for stored token hashes, rate-limit keys, idempotency keys and content hashes.
const encoder = new TextEncoder();

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  let hex = '';
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
