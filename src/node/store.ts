// Opens the store on Node: an embedded SQLite file by default, or a libSQL server (sqld, Turso)
// when DATABASE_URL says libsql:// (or http(s)/ws(s)), with DATABASE_AUTH_TOKEN.
//
// Embedded replica (a local file kept in sync with a remote libSQL primary, reads served locally,
// writes sent to the primary): DATABASE_URL=file:... plus DATABASE_SYNC_URL=libsql://... and
// DATABASE_AUTH_TOKEN. The replica syncs every DATABASE_SYNC_INTERVAL seconds and whenever a "no"
// must be confirmed (docs/decisions/0016-replica-read-your-writes.md); one file per process.
import './libsql-quiet.ts';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from '@libsql/client';
import { drizzle } from 'drizzle-orm/libsql';
import type { Config } from '../server/config.ts';
import type { Db, Replica, ReplicaStatus } from '../server/context.ts';
import * as schema from '../server/db/schema.ts';
import type { Log } from '../server/log.ts';

export type Store = { client: Client; db: Db; replica: ReplicaSync | null; close(): void };

export type ReplicaSync = Replica & { stop(): void };

export type StoreOptions = {
  /** For a replica: how often it syncs on its own (default 1 s). */
  syncIntervalMs?: number;
  /** For a replica: where sync failures and recoveries are said. */
  log?: Log;
};

/** How long a write waits for another process's lock on a store file. */
const BUSY_TIMEOUT_MS = 5_000;

/** How long a statement sent to a libSQL server keeps being tried again while the server is busy. */
const REMOTE_BUSY_MS = 5_000;

/** SQLITE_BUSY: the statement or batch found the write lock taken, and nothing of it was applied. */
function isBusy(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === 'SQLITE_BUSY' || /SQLITE_BUSY|database is locked/.test(String(message ?? ''));
}

/**
 * A libSQL server answers SQLITE_BUSY when writes from several processes meet, and gives a client
 * no busy timeout to set: where a file store waits for the lock (`timeout` below), this waits the
 * same way, trying a refused statement or batch again with backoff for up to REMOTE_BUSY_MS. A
 * refused statement or batch applied nothing (a batch is one transaction), so trying it again
 * cannot apply it twice. Not on embedded replicas: wrapped, a second worker's replica never
 * became ready (tests/replicas.test.ts), and their storm test has not met SQLITE_BUSY.
 */
function retryingWhenBusy(client: Client): Client {
  const retry = async <T>(work: () => Promise<T>): Promise<T> => {
    const deadline = Date.now() + REMOTE_BUSY_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (!isBusy(error) || Date.now() >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random())));
      }
    }
  };
  return new Proxy(client, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (typeof value !== 'function') return value;
      const method = value.bind(target);
      return name === 'execute' || name === 'batch' ? (...args: unknown[]) => retry(() => method(...args)) : method;
    },
  });
}

/** The file path of a `file:` URL, relative paths taken from the working directory. */
export function storeFilePath(url: string): string | null {
  if (!url.startsWith('file:')) return null;
  if (url.startsWith('file://')) return fileURLToPath(url);
  return resolve(url.slice('file:'.length).split('?')[0]!);
}

export async function openStore(url: string, authToken?: string, syncUrl?: string, options: StoreOptions = {}): Promise<Store> {
  const path = storeFilePath(url);
  if (path) mkdirSync(dirname(path), { recursive: true });
  const replica = Boolean(path && syncUrl);
  const opened = createClient({
    url: path ? `file:${path}` : url,
    ...(authToken ? { authToken } : {}),
    ...(replica ? { syncUrl } : {}),
    // A pragma holds for one connection only, and under concurrent calls the client opens up to
    // 20: a `PRAGMA busy_timeout` left the others failing with SQLITE_BUSY at once whenever
    // another process wrote. `timeout` applies to every connection; one connection is enough,
    // since every call on it runs synchronously to the end, and keeps the pragmas below in force.
    ...(path ? { concurrency: 1, timeout: BUSY_TIMEOUT_MS } : {}),
  });
  const client = path ? opened : retryingWhenBusy(opened);
  // A replica's journal is libSQL's own (it refuses these pragmas): only a plain file sets them.
  if (path && !replica) {
    // WAL lets readers in other processes work while one writes; NORMAL is durable enough in WAL.
    await client.execute('PRAGMA journal_mode = WAL');
    await client.execute('PRAGMA synchronous = NORMAL');
  }
  await client.execute('PRAGMA foreign_keys = ON');
  const db = drizzle(client, { schema }) as unknown as Db;
  const sync = replica ? startReplicaSync(client, options.syncIntervalMs ?? 1000, options.log) : null;
  // The client synced when it opened; this once more gives the status its frame number.
  await sync?.catchUp();
  return {
    client,
    db,
    replica: sync,
    close: () => {
      sync?.stop();
      client.close();
    },
  };
}

/**
 * The store a command-line tool (migrate, content sync, admin) works on: with DATABASE_SYNC_URL,
 * the primary itself, so that migrations and imports are written where every replica reads them
 * and a tool never opens a running server's replica file (two processes on one replica file
 * corrupt it).
 */
export function openToolStore(config: Config): Promise<Store> {
  if (config.databaseSyncUrl) return openStore(config.databaseSyncUrl, config.databaseAuthToken);
  return openStore(config.databaseUrl, config.databaseAuthToken);
}

/**
 * A replica file for each process: with several workers (WEB_CONCURRENCY), worker N gets
 * `app.worker-N.db` beside `app.db`, since two processes on one replica file corrupt it.
 */
export function replicaUrlFor(url: string, worker: string | undefined): string {
  const path = storeFilePath(url);
  if (!path || !worker) return url;
  return `file:${path.replace(/(\.[^./]*)?$/, (extension) => `.worker-${worker}${extension}`)}`;
}

/**
 * Whether a driver error means the primary (or a libSQL server) cannot be reached: a write sent to
 * a primary that is down, a sync that gets no answer, a connection refused.
 */
export function isStoreUnreachable(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${(error as { code?: string }).code ?? ''}` : String(error);
  return /WriteDelegation|PrimaryHandshake|Replication\(|status: Unavailable|ECONNREFUSED|ECONNRESET|Connection refused|fetch failed|tcp connect error/i.test(
    text,
  );
}

function startReplicaSync(client: Client, intervalMs: number, log: Log | undefined): ReplicaSync {
  const state: ReplicaStatus = { syncIntervalMs: intervalMs, lastSyncAt: Date.now(), frameNo: null, framesSynced: 0, error: null };
  let failingSince: number | null = null;
  let running: Promise<boolean> | null = null;
  let next: Promise<boolean> | null = null;

  const syncOnce = async (): Promise<boolean> => {
    try {
      const result = await client.sync();
      state.lastSyncAt = Date.now();
      if (result?.frame_no !== undefined) state.frameNo = result.frame_no;
      state.framesSynced += result?.frames_synced ?? 0;
      if (failingSince !== null) log?.info('replica.sync-recovered', { downMs: Date.now() - failingSince, frameNo: state.frameNo });
      failingSince = null;
      state.error = null;
      return true;
    } catch (error) {
      state.error = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
      // Said once when it starts failing, not at every interval.
      if (failingSince === null) log?.error('replica.sync-failed', { error: state.error, lastSyncAt: new Date(state.lastSyncAt!).toISOString() });
      failingSince ??= Date.now();
      return false;
    }
  };

  // One sync at a time; a caller that arrives while one runs waits for the next, which starts
  // after it asked and so sees every write committed before (one follow-up shared by all of them).
  const catchUp = (): Promise<boolean> => {
    if (!running) {
      running = syncOnce().finally(() => (running = null));
      return running;
    }
    next ??= running.then(() => {
      next = null;
      return catchUp();
    });
    return next;
  };

  // The first sync ran when the client opened. A timer, not the driver's own syncInterval, so
  // that how far behind the copy is can be told (/healthz, the log).
  let stopped = false;
  let timer: ReturnType<typeof setTimeout>;
  const tick = () => {
    timer = setTimeout(() => {
      void catchUp().finally(() => stopped || tick());
    }, intervalMs);
    timer.unref();
  };
  tick();
  return {
    catchUp,
    status: () => ({ ...state }),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
