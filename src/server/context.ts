// What every handler receives besides the request. Built once per process (Node) or per isolate
// (workerd) by an adapter; handlers never know which.
import type { BatchItem, BatchResponse } from 'drizzle-orm/batch';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import type { Config } from './config.ts';
import type * as schema from './db/schema.ts';
import type { Mailer } from './email/mailer.ts';
import type { PageShell } from './http/page-shell.ts';
import type { Log } from './log.ts';
import type { Stripe } from './payments/stripe.ts';

/**
 * The store as drizzle's asynchronous SQLite API, which both libSQL and D1 implement. `batch` runs
 * several statements atomically on both (D1 has no interactive transactions).
 */
export type Db = BaseSQLiteDatabase<'async', unknown, typeof schema> & {
  batch<U extends BatchItem<'sqlite'>, T extends Readonly<[U, ...U[]]>>(batch: T): Promise<BatchResponse<T>>;
};

export type Clock = { now(): number };

/**
 * A store that is an embedded replica of a libSQL primary (Node with DATABASE_SYNC_URL): reads are
 * served from a local copy that syncs on an interval, writes go to the primary. See
 * docs/decisions/0016-replica-read-your-writes.md.
 */
export type Replica = {
  /**
   * Brings the copy up to the primary before a "no" is given (an unknown session, a lesson not
   * owned): false when the primary cannot be reached. Concurrent callers share one sync that
   * started after they asked.
   */
  catchUp(): Promise<boolean>;
  status(): ReplicaStatus;
};

export type ReplicaStatus = {
  /** How often the copy syncs on its own. */
  syncIntervalMs: number;
  /** When the last sync succeeded (null: never since start). */
  lastSyncAt: number | null;
  /** The primary's frame the copy has reached, and the frames copied since start. */
  frameNo: number | null;
  framesSynced: number;
  /** Why the last sync failed, while it keeps failing. */
  error: string | null;
};

export type AppContext = {
  db: Db;
  config: Config;
  mailer: Mailer;
  /** Null when no STRIPE_SECRET_KEY is set: checkout then says payments are not set up. */
  stripe: Stripe | null;
  clock: Clock;
  log: Log;
  /** The site's layout for pages rendered at request time, from the build's private bundle. */
  pageShell(): Promise<PageShell>;
  /** Set when the store is an embedded replica (Node with DATABASE_SYNC_URL). */
  replica?: Replica;
  /**
   * Whether an error means that the store (or its primary) cannot be reached right now: the answer
   * is then 503 "try again", not 500. Set by the adapter that knows its store's errors.
   */
  isStoreUnreachable?: (error: unknown) => boolean;
};

/** What an adapter knows about the connection a request came from. */
export type Client = {
  /** The visitor's address as the adapter determined it (socket, trusted proxy, CF-Connecting-IP). */
  address: string;
  /**
   * Runs work after the response is sent (an email), so that how long it takes tells the visitor
   * nothing. Node keeps the process alive for it; Workers pass `ctx.waitUntil`.
   */
  waitUntil(task: Promise<unknown>): void;
};

export type Handler = (request: Request, ctx: AppContext, client: Client) => Promise<Response>;
