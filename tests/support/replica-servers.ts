// Past one machine, on loopback: one libSQL primary (sqld), the Stripe stand-in, the SMTP sink,
// and several app servers (the built server), each on an embedded replica file of its own
// (DATABASE_URL=file:… with DATABASE_SYNC_URL), the store migrated and filled by the operator's own
// tools with an app machine's settings. tests/replicas.test.ts (what a member can rely on) and
// tests/load/replica-servers.test.ts (a purchase storm across the servers) both start it here.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import { expect } from 'vitest';
import { startStripeStandin, type StripeStandin } from '../../scripts/stripe-standin.ts';
import { ROOT } from './build.ts';
import { paymentsEnv, STRIPE_KEY, WEBHOOK_SECRET } from './payments.ts';
import { spawn } from './processes.ts';
import { startServer, type RunningServer } from './server.ts';
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts';
import { startSqld, type Sqld } from './sqld.ts';

export type ReplicaServers = {
  sqld: Sqld;
  standin: StripeStandin;
  sink: SmtpSink;
  /** The real SDK, pointed at the stand-in. */
  stripe: Stripe;
  /** The folder of the replica files (`<name>.db`, or `<name>.worker-N.db` with WEB_CONCURRENCY). */
  dir: string;
  /** Started in the order of `names`; tests may replace one (a restart). */
  servers: RunningServer[];
  /** The settings of the app machine `name`: its replica file, the primary, the stand-ins. */
  env(name: string): Record<string, string>;
  /** Starts the server of machine `name` (again), on `port` when given. */
  start(name: string, options?: { env?: Record<string, string>; port?: number }): Promise<RunningServer>;
  /** Runs one of the command-line tools (scripts/…) with `env`, as an operator would. */
  tool(script: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }>;
  /** The stand-in's control API. */
  control(path: string, body?: unknown): Promise<any>;
  stop(): Promise<void>;
};

export async function startReplicaServers(options: {
  dist: string;
  names: string[];
  /** DATABASE_SYNC_INTERVAL, in seconds. */
  syncIntervalS: number;
  /** More settings of every app machine, for its server and its tools alike (e.g. SITE_URL). */
  env?: Record<string, string>;
}): Promise<ReplicaServers> {
  const dir = mkdtempSync(join(ROOT, '.test-dist', 'replicas-'));
  const [sqld, standin, sink] = await Promise.all([
    startSqld(),
    startStripeStandin({ port: 0, webhookUrls: [], webhookSecret: WEBHOOK_SECRET, log: () => {} }),
    startSmtpSink(),
  ]);
  const stripe = new Stripe(STRIPE_KEY, { host: '127.0.0.1', port: standin.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });
  const env = (name: string): Record<string, string> => ({
    ...paymentsEnv({ databaseUrl: `file:${join(dir, `${name}.db`)}`, smtpUrl: sink.url, stripeApiBase: standin.url }),
    DATABASE_SYNC_URL: sqld.url,
    DATABASE_SYNC_INTERVAL: String(options.syncIntervalS),
    TRUST_PROXY: '127.0.0.1',
    LOG_LEVEL: 'info',
    // The build whose private pages the emails are rendered with (reconcile sends a buyer's mail too).
    DIST_DIR: options.dist,
    ...options.env,
  });
  const tool = (script: string, args: string[], toolEnv: Record<string, string>) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, script), ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...toolEnv },
      });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      child.on('exit', (code) => resolve({ code, output }));
    });
  const control = async (path: string, body: unknown = {}) => {
    const response = await fetch(`${standin.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const json: any = await response.json();
    if (!response.ok) throw new Error(`${path} -> ${response.status}: ${JSON.stringify(json)}`);
    return json;
  };
  const start = (name: string, more: { env?: Record<string, string>; port?: number } = {}) =>
    startServer({ dist: options.dist, env: { ...env(name), ...more.env }, port: more.port });

  const harness: ReplicaServers = {
    sqld,
    standin,
    sink,
    stripe,
    dir,
    servers: [],
    env,
    start,
    tool,
    control,
    async stop() {
      await Promise.all(harness.servers.map((server) => server.stop()));
      await standin.close();
      await sink.stop();
      await sqld.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    // The operator's steps, with the settings of an app machine: migrations and content go to the primary.
    const tools = env('tools');
    const migrate = await tool('scripts/migrate.ts', [], tools);
    expect(migrate.code, migrate.output).toBe(0);
    const content = await tool('scripts/content-sync.ts', [], tools);
    expect(content.code, content.output).toBe(0);
    // The tools opened no replica file of their own: they worked on the primary.
    expect(existsSync(join(dir, 'tools.db'))).toBe(false);
    harness.servers = await Promise.all(options.names.map((name) => start(name)));
  } catch (error) {
    await harness.stop();
    throw error;
  }
  return harness;
}
