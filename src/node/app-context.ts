// The AppContext of a Node process (built by the core's createAppContext with what only Node has:
// the libSQL store, SMTP and the outbox folder, the page shell read from the build), built once on
// first use and shared by every Astro endpoint. Refuses to exist with a bad configuration or an
// unmigrated store.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { announceAppContext, createAppBasics, createAppContext } from '../server/app-context.ts';
import type { AppContext } from '../server/context.ts';
import { parsePageShell } from '../server/http/page-shell.ts';
import { readNodeEnv } from './env.ts';
import { createOutboxMailer, createSmtpMailer } from './mailers.ts';
import { assertMigrated } from './migrations.ts';
import { isStoreUnreachable, openStore, openToolStore, replicaUrlFor } from './store.ts';

// The Node entry and the Astro bundle each have their own copy of this module; the entry's
// context is handed over through a global symbol so the process has one store connection.
const SHARED = Symbol.for('course-store.app-context');
type Shared = { [SHARED]?: AppContext };

let context: Promise<AppContext> | undefined;

export function shareAppContext(app: AppContext): void {
  (globalThis as Shared)[SHARED] = app;
}

export type NodeAppContext = {
  app: AppContext;
  /** The store this process opened: DATABASE_URL, or this worker's own replica file. */
  storeUrl: string;
  close(): void;
};

/**
 * `tool`: for a command-line tool (reconcile), which works on the primary itself when the site
 * runs on replicas, never on a server's replica file (src/node/store.ts, openToolStore).
 */
export async function createNodeAppContext(env = readNodeEnv(), options: { tool?: boolean } = {}): Promise<NodeAppContext> {
  const basics = createAppBasics(env, 'node');
  const { config } = basics;
  // With several workers, each keeps a replica file of its own (src/node/cluster.ts numbers them).
  const storeUrl = !config.databaseSyncUrl ? config.databaseUrl : options.tool ? config.databaseSyncUrl : replicaUrlFor(config.databaseUrl, env.WORKER_SLOT);
  const store = options.tool
    ? await openToolStore(config)
    : await openStore(storeUrl, config.databaseAuthToken, config.databaseSyncUrl, { syncIntervalMs: config.databaseSyncIntervalMs, log: basics.log });
  try {
    await assertMigrated(store.client);
  } catch (error) {
    store.close();
    throw error;
  }
  const app = createAppContext(basics, {
    db: store.db,
    mailers: { smtp: () => createSmtpMailer(config.smtpUrl!, config.mailFrom), outbox: () => createOutboxMailer(config.mailFrom) },
    pageShell: loadOnce(async () => parsePageShell(await readFile(resolve(config.distDir, 'private/shell.html'), 'utf8'))),
    ...(store.replica ? { replica: store.replica } : {}),
    isStoreUnreachable,
  });
  announceAppContext(basics, storeUrl.replace(/\?.*$/, ''));
  if (store.replica) basics.log.info('replica.ready', { primary: config.databaseSyncUrl!.replace(/\?.*$/, ''), ...store.replica.status() });
  return { app, storeUrl, close: () => store.close() };
}

/** Loads something once; a failure is not kept, so the next request tries again. */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
}

/**
 * The process's context. A failure (configuration, store) is not cached as a success, but it is
 * reported loudly: the log names what to fix.
 */
export function getAppContext(): Promise<AppContext> {
  const shared = (globalThis as Shared)[SHARED];
  if (shared) return Promise.resolve(shared);
  context ??= createNodeAppContext().then(
    ({ app }) => app,
    (error: unknown) => {
      context = undefined;
      console.error(error instanceof Error ? error.message : error);
      throw error;
    },
  );
  return context;
}
