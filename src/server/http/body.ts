// Reading a request body with a cap that holds while the bytes arrive, on any runtime with the
// Fetch API. A declared Content-Length says nothing about a chunked body, so the count is kept
// chunk by chunk: forms and the Stripe webhook read through here, on Node and on Workers alike.

/** 413: more than the limit was declared or sent; 400: the client stopped sending before the end. */
export class BodyError extends Error {
  readonly status: 413 | 400;
  constructor(status: 413 | 400, message: string) {
    super(message);
    this.name = 'BodyError';
    this.status = status;
  }
}

/**
 * An oversized body is read and thrown away up to this size before the 413 is sent: a client
 * still sending when the server answers and closes gets a reset instead of the answer. Past it,
 * reading stops, so nobody can make the server swallow an endless stream.
 */
const MAX_DISCARD_BYTES = 1024 * 1024;

/** The body's bytes, or a BodyError as soon as more than `limit` bytes are declared or received. */
export async function readBodyLimited(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  const tooLarge = () => new BodyError(413, `The body is larger than ${limit} bytes.`);
  if (declared !== null && Number(declared) > limit) throw tooLarge();
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch {
      // A reset or an aborted chunked body: an incomplete request, not a failure of the server.
      throw new BodyError(400, 'The body did not arrive whole.');
    }
    const { done, value } = chunk;
    if (done) break;
    size += value.byteLength;
    if (size <= limit) chunks.push(value);
    else if (size > MAX_DISCARD_BYTES) {
      // Only the cancel's own failure (a client already gone) is ignored: the answer is a 413 either way.
      await reader.cancel().catch(() => {});
      break;
    }
  }
  if (size > limit) throw tooLarge();
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
