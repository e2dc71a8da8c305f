// Pages answered at request time (sign-in, account, checkout result, admin) are rendered by core
// handlers into the site's own layout, so that they look like every static page and run the same
// on Node and on Cloudflare (docs/decisions/0004-page-shell.md). The build renders the layout once,
// with markers where a page puts its title, description and content, into the private bundle as
// `shell.html`; the adapters hand it to the core, which cuts it at the markers once.
import type { Texts } from '../i18n/index.ts';
import type { SafeHtml } from './html.ts';
import { escapeHtml } from './html.ts';
import { htmlPage } from './responses.ts';

/** The markers src/pages/app-shell.astro leaves in the layout. */
export const SHELL_TITLE = '%%PAGE_TITLE%%';
export const SHELL_DESCRIPTION = '%%PAGE_DESCRIPTION%%';
export const SHELL_MAIN = '<!--%%PAGE_MAIN%%-->';

type Slot = 'title' | 'description' | 'main';

/** The layout cut at its markers: literal text and slots, in order. */
export type PageShell = ReadonlyArray<string | { slot: Slot }>;

const MARKERS: Record<string, Slot> = { [SHELL_TITLE]: 'title', [SHELL_DESCRIPTION]: 'description', [SHELL_MAIN]: 'main' };

export function parsePageShell(html: string): PageShell {
  const pieces = html.split(/(%%PAGE_TITLE%%|%%PAGE_DESCRIPTION%%|<!--%%PAGE_MAIN%%-->)/);
  const shell = pieces.map((piece, index) => (index % 2 === 1 ? { slot: MARKERS[piece]! } : piece));
  if (!shell.some((piece) => typeof piece !== 'string' && piece.slot === 'main')) {
    throw new Error('the page shell has no content marker: rebuild the site (npm run build)');
  }
  return shell;
}

export type Page = {
  title: string;
  description: string;
  main: SafeHtml;
  status?: number;
  /** Session cookies the handler decided on (renewed or cleared). */
  setCookies?: readonly string[];
  headers?: Record<string, string>;
};

/** The page's HTML in the layout; for a handler that answers without a Fetch Response (the lesson gate). */
export function pageHtml(shell: PageShell, page: Pick<Page, 'title' | 'description' | 'main'>): string {
  const values: Record<Slot, string> = { title: escapeHtml(page.title), description: escapeHtml(page.description), main: page.main.value };
  let body = '';
  for (const piece of shell) body += typeof piece === 'string' ? piece : values[piece.slot];
  return body;
}

export function renderPage(shell: PageShell, page: Page): Response {
  const body = pageHtml(shell, page);
  // Pages that depend on the visitor must not be kept by shared caches or the back button.
  const headers = new Headers({ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'private, no-store', ...page.headers });
  for (const cookie of page.setCookies ?? []) headers.append('Set-Cookie', cookie);
  return new Response(body, { status: page.status ?? 200, headers });
}

/** Pages are read, never posted to: anything but GET and HEAD is refused before any work. */
export function refusePageMethod(request: Request, t: Texts): Response | null {
  if (request.method === 'GET' || request.method === 'HEAD') return null;
  return htmlPage(t, 405, t.page.methodNotAllowed, t.page.isAPage, { Allow: 'GET, HEAD' });
}

/** Renders `page` into the site's layout as the context holds it. */
export async function pageResponse(ctx: { pageShell(): Promise<PageShell> }, page: Page): Promise<Response> {
  return renderPage(await ctx.pageShell(), page);
}

/**
 * The site's name (site.yaml `name`) as the build wrote it into the layout's `og:site_name`, so
 * that the core, which reads no file, names the site as its pages do; null in a layout without it.
 */
export function siteNameOfShell(shell: PageShell): string | null {
  // The title and description slots come first in <head>, so the meta is in a later piece.
  const head = shell.filter((piece): piece is string => typeof piece === 'string').join('');
  const value = /<meta\s+property="og:site_name"\s+content="([^"]*)"/.exec(head)?.[1];
  return value ? decodeAttribute(value) : null;
}

/** The site's name for emails and page titles: site.yaml's, else the host of SITE_URL. */
export async function siteNameOf(ctx: { pageShell(): Promise<PageShell>; config: { siteUrl: URL } }): Promise<string> {
  return siteNameOfShell(await ctx.pageShell()) ?? ctx.config.siteUrl.host;
}

/** Undoes the escaping Astro (and escapeHtml) give an attribute's value. */
function decodeAttribute(value: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return value.replace(/&(?:#(\d+)|#x([0-9a-f]+)|(amp|lt|gt|quot|apos));/gi, (whole, decimal?: string, hex?: string, name?: string) => {
    if (decimal) return String.fromCodePoint(Number(decimal));
    if (hex) return String.fromCodePoint(Number.parseInt(hex, 16));
    return named[name!.toLowerCase()] ?? whole;
  });
}
