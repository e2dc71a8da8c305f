// Turns a route of the core's route table (src/server/routes.ts) into an Astro endpoint on Node:
// get the process's context, pass the client's address (the socket's peer, or what a proxy in
// TRUST_PROXY forwarded), and answer through the core's answerRoute, which refuses other methods
// and turns an exception into the 500 page exactly as the Worker does.
import type { APIRoute } from 'astro';
import { building as built } from 'virtual:course-build';
import site from 'virtual:site-settings';
import type { AppContext } from '../server/context.ts';
import { parsePageShell } from '../server/http/page-shell.ts';
import { clientAddressOf } from '../server/http/client-address.ts';
import { htmlPage } from '../server/http/responses.ts';
import { messagesFor } from '../server/i18n/index.ts';
import { answerRoute, ROUTES } from '../server/routes.ts';
import { getAppContext } from './app-context.ts';
import { REQUEST_ID_HEADER } from './request-log.ts';

// The development server has no build, so no private bundle: it renders the shell page itself, on
// every request, so that an edit to site.yaml shows on the next reload.
function withDevShell(ctx: AppContext, request: Request): AppContext {
  return { ...ctx, pageShell: async () => parsePageShell(await (await fetch(new URL('/app-shell/', request.url))).text()) };
}

/** The endpoint of `path`, exactly as the route table writes it; a path not in the table fails the build. */
export function astroRoute(path: string): APIRoute {
  const route = ROUTES.find((candidate) => candidate.path === path);
  if (!route) throw new Error(`${path} is not in the route table (src/server/routes.ts)`);
  return async ({ request, clientAddress }) => {
    let ctx;
    try {
      ctx = await getAppContext();
    } catch {
      const t = messagesFor(site.locale);
      return htmlPage(t, 503, t.page.unavailable, t.page.storeUnavailable);
    }
    // Astro gives the socket's peer (no allowedDomains is configured, so it reads no header).
    const address = clientAddressOf(clientAddress, request.headers.get('x-forwarded-for'), ctx.config.trustProxy);
    // Set by the request log of the Node entry; `astro dev` has none.
    const requestId = request.headers.get(REQUEST_ID_HEADER) ?? crypto.randomUUID().replace(/-/g, '').slice(0, 16);
    // Node finishes a pending promise by itself; the handler has already attached its error handling.
    return answerRoute(route, request, built ? ctx : withDevShell(ctx, request), { address, waitUntil: () => {} }, requestId);
  };
}
