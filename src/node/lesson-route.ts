// The lesson gate on Node: which requests go to it instead of Astro's handler, and a thin adapter
// that hands it the few request fields it reads and writes its answer straight to the Node
// response (no Fetch Request or Response per request; see docs/decisions/0003).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { AppContext } from '../server/context.ts';
import { createLessonGate, createLessonIndex, storeReads, type GateRequest, type RefreshingLessonIndex } from '../server/access/lesson-gate.ts';
import { openSqliteGateReads } from './gate-reads.ts';
import { storeFilePath } from './store.ts';
import { messagesFor, messagesOf } from '../server/i18n/index.ts';

export type LessonRoute = {
  /** True for a request the gate answers: anything under /courses/ that is not a built file. */
  matches(url: string | undefined): boolean;
  serve(req: IncomingMessage, res: ServerResponse): void;
  index: RefreshingLessonIndex;
  /** Where the gate reads: prepared statements on the store file, or the store's client. */
  reads: 'prepared' | 'client';
  close(): void;
};

/**
 * The paths under /courses/ that the build wrote (course pages, free lessons), in every form
 * Astro's static handler answers them: `/x/`, `/x` and `/x/index.html`.
 */
export function staticCoursePaths(clientDir: string): Set<string> {
  const paths = new Set<string>();
  const root = join(clientDir, 'courses');
  if (!existsSync(root)) return paths;
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = `/courses/${relative(root, join(entry.parentPath, entry.name)).split(sep).join('/')}`;
    paths.add(file);
    if (entry.name === 'index.html') {
      const dir = file.slice(0, -'index.html'.length);
      paths.add(dir);
      paths.add(dir.slice(0, -1));
    }
  }
  return paths;
}

/** `storeUrl`: the store this process opened (a worker's own replica file with WEB_CONCURRENCY). */
export function createLessonRoute(app: AppContext, clientDir: string, storeUrl = app.config.databaseUrl): LessonRoute {
  const statics = staticCoursePaths(clientDir);
  const notFoundFile = join(clientDir, '404.html');
  const notFoundHtml = existsSync(notFoundFile) ? readFileSync(notFoundFile, 'utf8') : '<!doctype html><title>Page not found</title><h1>Page not found</h1>';
  const index = createLessonIndex(app.clock, app.log);
  // A local file gets the prepared statements, an embedded replica too: its file is SQLite in WAL
  // mode, which libSQL's syncs write like any writer, so a second, read-only connection sees each
  // sync as it commits (opened read-only, it never checkpoints behind libSQL's back). A libSQL
  // server is read through its client.
  const file = storeFilePath(storeUrl);
  const prepared = file ? openSqliteGateReads(file, storeReads(app.db), app.log, { readOnly: Boolean(app.replica) }) : null;
  const gate = createLessonGate({ index, notFoundHtml, ...(prepared ? { reads: prepared } : {}) });
  const trusted = new Set(app.config.trustProxy);

  function urlOf(req: IncomingMessage): string {
    // Called after awaits: a client that reset meanwhile has left the request without a socket.
    const socket = req.socket as TLSSocket | null;
    let protocol = socket?.encrypted ? 'https' : 'http';
    const forwarded = req.headers['x-forwarded-proto'];
    if (typeof forwarded === 'string' && trusted.has(socket?.remoteAddress ?? '')) protocol = forwarded.split(',')[0]!.trim();
    return `${protocol}://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
  }

  return {
    index,
    reads: prepared ? 'prepared' : 'client',
    close: () => prepared?.close(),
    matches(url) {
      if (!url || !url.startsWith('/courses/')) return false;
      const queryAt = url.indexOf('?');
      return !statics.has(queryAt === -1 ? url : url.slice(0, queryAt));
    },
    serve(req, res) {
      const request: GateRequest = {
        method: req.method ?? 'GET',
        target: req.url ?? '/',
        cookie: req.headers.cookie ?? null,
        ifNoneMatch: (req.headers['if-none-match'] as string | undefined) ?? null,
        url: () => urlOf(req),
      };
      gate.answer(request, app).then(
        (answer) => {
          const { body } = answer;
          if (body === null || typeof body === 'string' || body instanceof Uint8Array) {
            if (body !== null) answer.headers['Content-Length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
            res.writeHead(answer.status, answer.headers);
            res.end(body ?? undefined);
            return;
          }
          // A page in parts: the cached bytes and the member's few strings leave in one writev.
          answer.headers['Content-Length'] = String(body.bytes);
          res.writeHead(answer.status, answer.headers);
          res.cork();
          for (const part of body.parts) res.write(part);
          res.end();
          res.uncork();
        },
        (error: unknown) => {
          app.log.error('lesson-gate.failed', { url: req.url, error: error instanceof Error ? error.message : String(error) });
          if (res.headersSent) return void res.destroy();
          // In the site's language when its layout can be read; the store may be what failed, not the layout.
          void messagesOf(app)
            .catch(() => messagesFor('en-US'))
            .then((t) => {
              res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Retry-After': '30' });
              res.end(`${t.page.lessonUnavailable}\n`);
            });
        },
      );
    },
  };
}
