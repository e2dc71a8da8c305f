// Several Node processes on one machine (WEB_CONCURRENCY=N): the primary forks N workers that
// share the listening socket (node:cluster hands each connection to one of them in turn), restarts
// a worker that dies, and on SIGTERM passes the signal on and waits for every worker to drain.
// Nothing else lives in the primary: sessions are stateless JWTs and rate limits, purchases and
// progress are in the store (one SQLite file in WAL mode, or a libSQL server), so any worker can
// serve any request. See docs/scaling.md.
import cluster, { type Worker } from 'node:cluster';
import type { Log } from '../server/log.ts';

/** A worker that dies sooner than this after it started listening is restarted after a pause. */
const QUICK_CRASH_MS = 10_000;
const MAX_RESTART_DELAY_MS = 5_000;

/**
 * Runs the primary until every worker has stopped. A worker that exits before it ever listened
 * means the site cannot start (bad settings, an unmigrated store): the primary stops the others and
 * exits 1 instead of restarting it forever, so systemd reports the failure.
 */
export function runPrimary(workers: number, log: Log, graceMs: number): void {
  const listening = new Set<number>();
  const startedAt = new Map<number, number>();
  let stopping = false;
  let restartDelay = 100;

  // Each worker holds a slot from 1 to N for its life, and a restarted one takes the dead one's:
  // a worker's embedded replica file is named after its slot (src/node/store.ts, replicaUrlFor).
  const slots = new Map<number, number>();
  const fork = (slot: number) => {
    const worker = cluster.fork({ WORKER_SLOT: String(slot) });
    slots.set(worker.id, slot);
    startedAt.set(worker.id, Date.now());
    log.info('cluster.worker-started', { worker: worker.id, pid: worker.process.pid });
    worker.on('listening', () => {
      listening.add(worker.id);
      if (listening.size === workers) log.info('cluster.ready', { workers });
    });
  };

  cluster.on('exit', (worker: Worker, code: number | null, signal: string | null) => {
    const everListened = listening.delete(worker.id);
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0);
    const slot = slots.get(worker.id) ?? 1;
    startedAt.delete(worker.id);
    slots.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit();
      return;
    }
    log.error('cluster.worker-exited', { worker: worker.id, pid: worker.process.pid, code, signal, ms: lived });
    if (!everListened) {
      log.error('cluster.cannot-start', { hint: 'a worker stopped before it could serve; its log above says why' });
      stop('worker-failed', 1);
      return;
    }
    // A worker that keeps dying at once should not spin the machine; a rare crash restarts at once.
    restartDelay = lived < QUICK_CRASH_MS ? Math.min(restartDelay * 2, MAX_RESTART_DELAY_MS) : 100;
    setTimeout(() => stopping || fork(slot), restartDelay);
  });

  const stop = (reason: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    process.exitCode = code;
    log.info('cluster.stopping', { reason });
    const running = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
    if (running.length === 0) process.exit();
    for (const worker of running) worker.process.kill('SIGTERM');
    // Workers give up on hanging requests after their own grace period; this is the backstop.
    setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      process.exit(1);
    }, graceMs + 2_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  for (let slot = 1; slot <= workers; slot += 1) fork(slot);
}
