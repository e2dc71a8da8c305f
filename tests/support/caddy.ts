// Real Caddy with the production Caddyfile (deploy/Caddyfile), adapted only through its
// environment: the site is `localhost` (so Caddy signs its certificate with its own CA, whose root
// the client trusts explicitly), on free ports, with its admin endpoint off and its data in a
// temporary folder. Requests go over HTTPS with node:https, from a chosen loopback address when a
// test needs several clients.
import { spawn } from './processes.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { ROOT } from './build.ts';
import { freePort } from './server.ts';
import { requireTool } from './tools.ts';

export type CaddyResponse = { status: number; headers: IncomingHttpHeaders; body: Buffer; text(): string };

export type RequestOptions = {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Send the body chunked, without a Content-Length (as a streaming client does). */
  chunked?: boolean;
  /** The client's address on the loopback network (127.0.0.1 unless given). */
  localAddress?: string;
};

export type RunningCaddy = {
  /** https://localhost:<port>: the origin a browser would see. */
  origin: string;
  port: number;
  /** Caddy's root certificate, to trust it (node:https `ca`). */
  ca: string;
  request(path: string, options?: RequestOptions): Promise<CaddyResponse>;
  /**
   * A `fetch` to Caddy from `localAddress` (a loopback address of its own, so that Caddy's
   * X-Forwarded-For names a client of its own): what createVisitor sends through, for a visitor
   * that reaches the site through the balancer as a browser does.
   */
  fetchFrom(localAddress?: string): typeof fetch;
  logs(): string;
  stop(): Promise<void>;
};

/** `port`: the HTTPS port, when the caller needs the site's address first (for SITE_URL). */
export async function startCaddy(options: { siteRoot: string; upstream: string; port?: number }): Promise<RunningCaddy> {
  const [httpsPort, httpPort] = await Promise.all([options.port ?? freePort(), freePort()]);
  const home = mkdtempSync(join(ROOT, '.test-dist', 'caddy-'));
  const child = spawn(requireTool('caddy'), ['run', '--config', join(ROOT, 'deploy/Caddyfile'), '--adapter', 'caddyfile'], {
    cwd: home,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      XDG_DATA_HOME: join(home, 'data'),
      XDG_CONFIG_HOME: join(home, 'config'),
      SITE_DOMAIN: 'localhost',
      SITE_ROOT: options.siteRoot,
      APP_UPSTREAM: options.upstream,
      CADDY_HTTPS_PORT: String(httpsPort),
      CADDY_HTTP_PORT: String(httpPort),
      CADDY_ADMIN: 'off',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let ca = '';
  const origin = `https://localhost:${httpsPort}`;
  const request = (path: string, requestOptions: RequestOptions = {}) =>
    new Promise<CaddyResponse>((resolve, reject) => {
      const body = requestOptions.body;
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port: httpsPort,
          path,
          method: requestOptions.method ?? 'GET',
          ca,
          agent: false,
          localAddress: requestOptions.localAddress,
          headers: {
            host: `localhost:${httpsPort}`,
            ...(body !== undefined && !requestOptions.chunked ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
            ...requestOptions.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const buffer = Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buffer, text: () => buffer.toString('utf8') });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (requestOptions.chunked && body !== undefined) {
        for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.slice(at, at + 64 * 1024));
        req.end();
      } else req.end(body);
    });

  // Caddy issues its certificate right after start; the root appears with it.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`caddy exited with ${child.exitCode}:\n${output}`);
    try {
      ca = readFileSync(join(home, 'data/caddy/pki/authorities/local/root.crt'), 'utf8');
      await request('/robots.txt');
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`caddy did not answer within 15 s (${String(error)}):\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const fetchFrom =
    (localAddress?: string): typeof fetch =>
    async (input, init = {}) => {
      const url = new URL(String(input instanceof Request ? input.url : input));
      if (init.body !== undefined && init.body !== null && typeof init.body !== 'string') throw new Error('only string bodies go through Caddy here');
      const answer = await request(`${url.pathname}${url.search}`, {
        method: init.method,
        headers: Object.fromEntries(new Headers(init.headers)),
        body: init.body ?? undefined,
        localAddress,
      });
      const headers = new Headers();
      for (const [name, value] of Object.entries(answer.headers)) for (const one of [value ?? []].flat()) headers.append(name, one);
      const empty = [101, 204, 205, 304].includes(answer.status) || init.method === 'HEAD';
      return new Response(empty ? null : new Uint8Array(answer.body), { status: answer.status, headers });
    };
  return {
    origin,
    port: httpsPort,
    ca,
    request,
    fetchFrom,
    logs: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** The ETag Caddy's file_server gives a file: its modification time and size, in base 36. */
export function caddyEtag(stat: { mtimeMs: number; size: number }): string {
  return `"${Math.floor(stat.mtimeMs / 1000).toString(36)}${stat.size.toString(36)}"`;
}
