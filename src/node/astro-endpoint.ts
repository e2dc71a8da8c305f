// Turns a core handler into an Astro endpoint on Node: get the process's context, pass the
// client's address (the socket's peer, or what a proxy in TRUST_PROXY forwarded), return the
// handler's Response unchanged.
import type { APIRoute } from 'astro';
import type { Handler } from '../server/context.ts';
import { clientAddressOf } from '../server/http/client-address.ts';
import { htmlPage } from '../server/http/responses.ts';
import { getAppContext } from './app-context.ts';

export function astroEndpoint(handler: Handler): APIRoute {
  return async ({ request, clientAddress }) => {
    let ctx;
    try {
      ctx = await getAppContext();
    } catch {
      return htmlPage(503, 'Temporarily unavailable', 'The site cannot reach its store right now. Please try again in a minute.');
    }
    // Node finishes a pending promise by itself; the handler has already attached its error handling.
    // Astro gives the socket's peer (no allowedDomains is configured, so it reads no header).
    const address = clientAddressOf(clientAddress, request.headers.get('x-forwarded-for'), ctx.config.trustProxy);
    return handler(request, ctx, { address, waitUntil: () => {} });
  };
}
