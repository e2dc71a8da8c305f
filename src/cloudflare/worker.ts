// The Worker: Cloudflare serves the built files itself (Workers static assets) and runs this only
// first for the route table's on-demand paths (`run_worker_first` in wrangler.jsonc), and after
// the files for requests no file answers: paid lessons and their media (the lesson gate), unknown
// paths (the 404 page), methods other than GET and HEAD. Knows nothing of accounts, payments or lessons: those are the
// core's, shared with Node; the route is answered by the same answerRoute.
//
// What lives as long as the isolate is plain data only: the parsed settings, the page shell, the
// lesson gate's index and page cache. The store, Stripe and the mailer are made for each request
// (src/server/app-context.ts), because workerd does not let one request use an I/O object, or
// await a promise, begun by another: a promise shared between requests hangs the second one for
// good once the first has ended (docs/decisions/0009-workers-static-assets.md).
import { announceAppContext, createAppBasics, createAppContext, type AppBasics } from '../server/app-context.ts';
import { createLessonGate, createLessonIndex, type LessonGate } from '../server/access/lesson-gate.ts';
import type { Client } from '../server/context.ts';
import { parsePageShell, type PageShell } from '../server/http/page-shell.ts';
import { htmlPage } from '../server/http/responses.ts';
import { localeOfShell, messagesFor } from '../server/i18n/index.ts';
import { withSecurityHeaders } from '../server/http/security-headers.ts';
import { answerRoute, routeOf, serverErrorPage } from '../server/routes.ts';
import {
  checkBindings,
  createLogMailer,
  createSendEmailMailer,
  describeWorkersStore,
  openWorkersStore,
  settingsOf,
  type SendEmailBinding,
  type WorkerEnv,
} from './app-context.ts';
import { enforceWorkersPbkdf2Limit } from './pbkdf2-limit.ts';

/** What workerd passes besides the request and the bindings (the subset used here). */
export type ExecutionContext = { waitUntil(task: Promise<unknown>): void };

/** The build's pages the Worker bundles as text modules (functions/worker.ts). */
export type BuiltPages = { shellHtml: string; notFoundHtml: string };

type Isolate = { basics: AppBasics; shell: PageShell; gate: LessonGate };

export function createWorker(built: BuiltPages): { fetch(request: Request, env: WorkerEnv, context: ExecutionContext): Promise<Response> } {
  const pbkdf2LimitEnforced = enforceWorkersPbkdf2Limit();
  // The site's language, for the answers given before or without the core (bad settings, static files).
  const texts = messagesFor(localeOfShell(parsePageShell(built.shellHtml)));
  let isolate: Isolate | undefined;

  /** Built at the first request (the settings are bindings, unknown before); no I/O. */
  function isolateFor(env: WorkerEnv): Isolate {
    if (!isolate) {
      // A configuration error throws here, and again at the next request: nothing half-built is kept.
      const basics = createAppBasics(settingsOf(env), 'workers');
      checkBindings(env, basics.config);
      const index = createLessonIndex(basics.clock, basics.log);
      isolate = { basics, shell: parsePageShell(built.shellHtml), gate: createLessonGate({ index, notFoundHtml: built.notFoundHtml }) };
      announceAppContext(basics, describeWorkersStore(basics.config));
      basics.log.info('pbkdf2-limit', { maxIterationsPerCall: 100_000, enforced: pbkdf2LimitEnforced });
    }
    return isolate;
  }

  async function answer(request: Request, env: WorkerEnv, context: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const route = routeOf(url.pathname);
    if (!route && !url.pathname.startsWith('/courses/')) return notFoundOrRefused(request, env);

    let current: Isolate;
    try {
      current = isolateFor(env);
    } catch (error) {
      console.error(error instanceof Error ? error.message : String(error));
      return htmlPage(texts, 503, texts.page.unavailable, texts.page.notConfigured, { 'Cache-Control': 'no-store' });
    }
    const { basics, shell, gate } = current;
    const ctx = createAppContext(basics, {
      db: openWorkersStore(env, basics.config),
      mailers: {
        'send-email': () => createSendEmailMailer(env.EMAIL as SendEmailBinding, basics.config.mailFrom),
        outbox: () => createLogMailer(basics.log),
      },
      pageShell: async () => shell,
    });
    const client: Client = {
      // Cloudflare's edge sets it; a client cannot (it is overwritten on the way in).
      address: request.headers.get('cf-connecting-ip') ?? '0.0.0.0',
      waitUntil: (task) => context.waitUntil(task),
    };
    const requestId = crypto.randomUUID().replace(/-/g, '').slice(0, 16);
    if (route) return answerRoute(route, request, ctx, client, requestId);
    try {
      return await gate.handle(request, ctx, client);
    } catch (error) {
      return serverErrorPage(ctx, request, requestId, error);
    }
  }

  /**
   * No file and no handler: the site's 404 page; a method other than GET or HEAD on a file that
   * exists is refused (static files take no posts).
   */
  async function notFoundOrRefused(request: Request, env: WorkerEnv): Promise<Response> {
    const head = request.method === 'HEAD';
    if (request.method !== 'GET' && !head) {
      const file = await env.ASSETS.fetch(new Request(request.url, { method: 'HEAD' }));
      if (file.status === 200) return htmlPage(texts, 405, texts.page.methodNotAllowed, texts.page.isAPage, { Allow: 'GET, HEAD' });
    }
    return new Response(head ? null : built.notFoundHtml, {
      status: 404,
      headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' },
    });
  }

  return {
    async fetch(request, env, context) {
      const response = await answer(request, env, context);
      return withSecurityHeaders(response, isolate?.basics.config.stripe?.apiBase?.origin);
    },
  };
}
