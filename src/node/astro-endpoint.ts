// Turns a core handler into an Astro endpoint on Node: get the process's context, pass the
// client's address (the socket's peer, or what a proxy in TRUST_PROXY forwarded), return the
// handler's Response unchanged.
import type { APIRoute } from 'astro';
import { building as built } from 'virtual:course-build';
import type { AppContext, Handler } from '../server/context.ts';
import { parsePageShell } from '../server/http/page-shell.ts';
import { clientAddressOf } from '../server/http/client-address.ts';
import { htmlPage } from '../server/http/responses.ts';
import { getAppContext } from './app-context.ts';

// The development server has no build, so no private bundle: it renders the shell page itself, on
// every request, so that an edit to site.yaml shows on the next reload.
function withDevShell(ctx: AppContext, request: Request): AppContext {
  return { ...ctx, pageShell: async () => parsePageShell(await (await fetch(new URL('/app-shell/', request.url))).text()) };
}

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
    return handler(request, built ? ctx : withDevShell(ctx, request), { address, waitUntil: () => {} });
  };
}
