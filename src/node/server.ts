// The Node entry: `node src/node/server.ts` (serving the build in DIST_DIR, dist by default). It builds the app context
// first, so that a bad configuration or an unmigrated store stops the process with a message
// before it accepts a single request, then serves the built Astro site (static files and
// on-demand routes) on HOST:PORT, and stops gracefully on SIGTERM. With WEB_CONCURRENCY=N (N > 1)
// this process is the primary of N such workers sharing the port (src/node/cluster.ts).
//
// Paid lessons and their private media do not go through Astro: requests under /courses/ that
// are not built files go straight to the lesson gate (docs/decisions/0003-lesson-gate-fast-path.md).
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseConfig } from '../server/config.ts';
import { createLog, type Log } from '../server/log.ts';
import { createNodeAppContext, shareAppContext, type NodeAppContext } from './app-context.ts';
import { runPrimary } from './cluster.ts';
import { readNodeEnv } from './env.ts';
import { createLessonRoute } from './lesson-route.ts';
import { withRequestLog } from './request-log.ts';

type AstroHandler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;

const SHUTDOWN_GRACE_MS = 10_000;

if (cluster.isPrimary) {
  let workers: number;
  let log: Log | undefined;
  try {
    // The primary checks the settings once, so that a mistake is reported once and not by N workers.
    const config = parseConfig(readNodeEnv());
    workers = config.webConcurrency;
    log = workers > 1 ? createLog({ level: config.logLevel, format: config.logFormat }) : undefined;
  } catch (error) {
    console.error(`The server cannot start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  if (log) {
    runPrimary(workers, log, SHUTDOWN_GRACE_MS);
    // The primary serves nothing itself; the rest of this file is the workers'.
    await new Promise(() => {});
  }
}

let context: NodeAppContext;
try {
  context = await createNodeAppContext();
} catch (error) {
  console.error(`The server cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
shareAppContext(context.app);

// The built entry starts its own server unless told not to; this process owns the socket.
process.env.ASTRO_NODE_AUTOSTART = 'disabled';
const dist = resolve(context.app.config.distDir);
const { handler } = (await import(pathToFileURL(resolve(dist, 'server/entry.mjs')).href)) as { handler: AstroHandler };

const lessons = createLessonRoute(context.app, resolve(dist, 'client'), context.storeUrl);
await lessons.index.refresh(context.app.db);
context.app.log.info('lesson-gate.ready', { paidLessons: lessons.index.size(), reads: lessons.reads });

let stopping = false;
const server = createServer(
  withRequestLog(context.app.log, context.app.config.trustProxy, (req, res) => {
    // Once stopping, each answer closes its connection: a client that keeps one alive (Caddy's
    // health checks, which come every few seconds) would otherwise hold the process past its grace.
    if (stopping) res.setHeader('Connection', 'close');
    if (lessons.matches(req.url)) lessons.serve(req, res);
    else handler(req, res);
  }),
);
const host = context.app.config.host;
const port = context.app.config.port;
server.listen(port, host, () => context.app.log.info('server.listening', { url: `http://${host}:${port}/` }));

function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  context.app.log.info('server.stopping', { signal });
  // Stop accepting, let requests in flight finish, then close the store; a request that hangs
  // past the grace period does not keep the process alive.
  server.close(() => {
    lessons.close();
    context.close();
    process.exit(0);
  });
  server.closeIdleConnections();
  setTimeout(() => {
    context.app.log.warn('server.forced-stop', { graceMs: SHUTDOWN_GRACE_MS });
    server.closeAllConnections();
    context.close();
    process.exit(1);
  }, SHUTDOWN_GRACE_MS).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
// A worker whose primary is gone (killed with SIGKILL) would otherwise serve on alone, unsupervised.
if (cluster.isWorker) process.on('disconnect', () => shutdown('primary-gone'));
