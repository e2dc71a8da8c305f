// Starts the stand-in in-process: one HTTP server whose three doors are the `/v1` API the SDK
// calls, the hosted pages a browser sees (checkout, invoices) and the `/_standin/` control API tests drive, and the
// handle a test holds to look at deliveries and events and to stop it.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expireDue } from './checkout.ts';
import { handleControl, resetStandin } from './control.ts';
import { handleCheckoutPage, indexPage, notFoundPage, serveInvoice } from './hosted-pages.ts';
import { decodeSegment, INTERNAL_ERROR, sendHtml, sendJson } from './http.ts';
import { seedPromotionCodes } from './promotions.ts';
import { handleApi } from './rest.ts';
import { newestFirst, openStandin, save, type Delivery, type StandinOptions, type StripeEvent } from './state.ts';
import { idle } from './webhooks.ts';

export const DEFAULT_PORT = 12111;

export interface StripeStandin {
  url: string;
  port: number;
  host: string;
  webhookSecret: string | undefined;
  deliveries(): Delivery[];
  events(): StripeEvent[];
  setDeliver(deliver: boolean): void;
  /** Resolves once webhook deliveries started in the background (after API calls) have finished. */
  idle(): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

export async function startStripeStandin(options: StandinOptions = {}): Promise<StripeStandin> {
  const sd = openStandin(options);
  seedPromotionCodes(sd);
  const server = createServer((req, res) => {
    let u: URL;
    try {
      u = new URL(req.url ?? '/', 'http://standin.invalid');
    } catch {
      res.writeHead(400).end();
      return;
    }
    const page = /^\/c\/pay\/([^/]+)$/.exec(u.pathname);
    const invoice = /^\/i\/([^/]+?)(\/pdf)?$/.exec(u.pathname);
    const work = u.pathname.startsWith('/v1/')
      ? handleApi(sd, req, res, u)
      : u.pathname.startsWith('/_standin/')
        ? handleControl(sd, req, res, u)
        : page
          ? handleCheckoutPage(sd, req, res, decodeSegment(page[1]!))
          : invoice
            ? Promise.resolve(serveInvoice(sd, res, decodeSegment(invoice[1]!), Boolean(invoice[2])))
            : Promise.resolve(
                u.pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')
                  ? sendHtml(res, 200, indexPage(sd, u.searchParams))
                  : sendHtml(res, 404, notFoundPage()),
              );
    work.catch((err: unknown) => {
      sd.log(`internal error on ${req.method} ${u.pathname}: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) sendJson(res, 500, INTERNAL_ERROR);
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}`;
  sd.baseUrl = (options.publicUrl ?? url).replace(/\/+$/, '');
  const sweep = setInterval(() => expireDue(sd), 5000);
  sweep.unref();
  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    host,
    webhookSecret: sd.secret,
    deliveries: () => [...sd.deliveryLog],
    events: () => newestFirst(sd, sd.state.events),
    setDeliver: (deliver) => {
      sd.deliver = deliver;
    },
    idle: () => idle(sd),
    reset: () => resetStandin(sd),
    close: () =>
      (closing ??= (async () => {
        clearInterval(sweep);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // background webhook deliveries get a moment to finish; each one already has its own timeout
        await Promise.race([Promise.allSettled([...sd.inflight]), new Promise((r) => setTimeout(r, sd.timeoutMs + 500))]);
        const force = setTimeout(() => server.closeAllConnections(), 2000);
        await stopped;
        clearTimeout(force);
        save(sd);
      })()),
  };
}
