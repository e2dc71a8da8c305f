// One log line per request (src/server/log.ts writes it, as JSON for journald or as text in
// development): method, path (never the query, which can carry tokens), status, duration, client
// address and a request id. The id also goes to the response
// (`X-Request-Id`) and to the request, where the error page reads it, so a visitor's report of
// "request 3f9c…" finds its log line.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientAddressOf } from '../server/http/client-address.ts';
import type { Log } from '../server/log.ts';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

export const REQUEST_ID_HEADER = 'x-request-id';

export function withRequestLog(log: Log, trustProxy: readonly string[], next: Listener): Listener {
  return (req, res) => {
    const started = performance.now();
    // Our own id, always: a client-chosen one could be made to collide with another's. randomUUID
    // draws from a cached entropy pool, several times cheaper per request than randomBytes.
    const id = randomUUID().replace(/-/g, '').slice(0, 16);
    req.headers[REQUEST_ID_HEADER] = id;
    res.setHeader('X-Request-Id', id);
    // Read now: once the body is cancelled or the client resets, the request has no socket any
    // more, and reading it in the close listener below threw where nothing could catch it.
    const address = clientAddressOf(req.socket?.remoteAddress ?? '', headerValue(req.headers['x-forwarded-for']), trustProxy);
    res.once('close', () => {
      const status = res.writableFinished ? res.statusCode : 499;
      const fields = {
        id,
        method: req.method,
        path: (req.url ?? '/').split('?')[0]!.slice(0, 512),
        status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        address,
      };
      if (status >= 500) log.error('request', fields);
      else log.info('request', fields);
    });
    next(req, res);
  };
}

function headerValue(value: string | string[] | undefined): string | null {
  return Array.isArray(value) ? value.join(',') : (value ?? null);
}
