// The one Pages Function: builds the isolate's context on the first request, then sends each
// request to its core handler (routes.ts), a request under /courses/ that is not a static file to
// the lesson gate, and anything else back to the static files. Knows nothing of accounts,
// payments or lessons: those are the core's, shared with Node.
import type { AppContext, Client } from '../server/context.ts';
import { createLessonGate, createLessonIndex, type LessonGate, type RefreshingLessonIndex } from '../server/access/lesson-gate.ts';
import { htmlPage } from '../server/http/responses.ts';
import { createWorkersAppContext, type PagesEnv } from './app-context.ts';
import { enforceWorkersPbkdf2Limit } from './pbkdf2-limit.ts';
import { routeOf } from './routes.ts';

/** What Pages passes a function (the subset used here). */
export type PagesContext = {
  request: Request;
  env: PagesEnv;
  waitUntil(task: Promise<unknown>): void;
};

/** The build's artefacts the function needs, bundled into it as text modules (functions/[[path]].ts). */
export type BuiltPages = { shellHtml: string; notFoundHtml: string };

type Isolate = { ctx: AppContext; gate: LessonGate; index: RefreshingLessonIndex; ready: Promise<void> };

export function createPagesFunction(built: BuiltPages): (context: PagesContext) => Promise<Response> {
  const pbkdf2LimitEnforced = enforceWorkersPbkdf2Limit();
  let isolate: Isolate | undefined;

  function isolateFor(env: PagesEnv): Isolate {
    if (!isolate) {
      // A configuration error throws here, and again at the next request: nothing half-built is kept.
      const ctx = createWorkersAppContext(env, built.shellHtml);
      const index = createLessonIndex(ctx.db, ctx.clock, ctx.log);
      const gate = createLessonGate({ index, notFoundHtml: built.notFoundHtml });
      isolate = { ctx, gate, index, ready: index.refresh() };
      ctx.log.info('pbkdf2-limit', { maxIterationsPerCall: 100_000, enforced: pbkdf2LimitEnforced });
    }
    return isolate;
  }

  return async ({ request, env, waitUntil }) => {
    const url = new URL(request.url);
    const handler = routeOf(url.pathname);
    const underCourses = url.pathname.startsWith('/courses/');
    if (!handler && !underCourses) return env.ASSETS.fetch(request);
    if (underCourses && (request.method === 'GET' || request.method === 'HEAD')) {
      // Course pages and free lessons are static files under the same prefix as paid lessons;
      // _routes.json keeps most of them from reaching here (docs/decisions/0005-cloudflare-pages.md).
      const asset = await env.ASSETS.fetch(request);
      if (asset.status !== 404) return asset;
      await asset.body?.cancel();
    }

    let current: Isolate;
    try {
      current = isolateFor(env);
    } catch (error) {
      console.error(error instanceof Error ? error.message : String(error));
      return htmlPage(503, 'Temporarily unavailable', 'The site is not configured correctly. Please try again later.', { 'Cache-Control': 'no-store' });
    }
    const client: Client = {
      // Cloudflare's edge sets it; a client cannot (it is overwritten on the way in).
      address: request.headers.get('cf-connecting-ip') ?? '0.0.0.0',
      waitUntil,
    };
    try {
      if (handler) return await handler(request, current.ctx, client);
      await current.ready;
      return await current.gate.handle(request, current.ctx, client);
    } catch (error) {
      const id = crypto.randomUUID();
      current.ctx.log.error('request.failed', { id, path: url.pathname, error: error instanceof Error ? error.message : String(error) });
      return htmlPage(500, 'Something went wrong', `The page could not be shown. If it happens again, quote this reference: ${id}.`, { 'Cache-Control': 'no-store', 'X-Request-Id': id });
    }
  };
}
