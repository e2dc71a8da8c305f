// The site's one route table: every path, which methods it takes, which core handler answers it,
// and whether the answer is a built file or made on demand. Every adapter and test reads it: the
// Node endpoints in src/pages/ (each names its path here), the Worker's router and the list of
// paths it runs first (wrangler.jsonc, written by `npm run cf:build`), the fuzz test and the
// quality test. Adding an on-demand route means one line here and, on Node, one thin file in
// src/pages/ (a test fails until both exist).
//
// How a route is answered (the method check and the 500 page) is `answerRoute`, the same on both
// runtimes.
import { handleAccountPage } from './access/account-page.ts';
import { handleProgress } from './access/progress.ts';
import { handleAdmin } from './admin/routes.ts';
import { handleMe } from './access/me.ts';
import { handleConfirmEmail, handleConfirmRequest } from './auth/confirm-email.ts';
import { handleLoginPage, handlePasswordPage, handleResetPage, handleSignupPage, handleVerifyPage } from './auth/pages.ts';
import { handlePasswordChange } from './auth/password-change.ts';
import { handleReset, handleResetRequest } from './auth/password-reset.ts';
import { handleLink, handleLinkRequest } from './auth/sign-in-link.ts';
import { handleSignIn } from './auth/sign-in.ts';
import { handleSignOut, handleSignOutEverywhere } from './auth/sign-out.ts';
import { handleSignUp } from './auth/sign-up.ts';
import type { AppContext, Client, Handler } from './context.ts';
import { handleHealth } from './health.ts';
import { pageResponse } from './http/page-shell.ts';
import { html } from './http/html.ts';
import { htmlPage } from './http/responses.ts';
import { handleCheckout, handleCheckoutCancelled } from './payments/checkout.ts';
import { handlePurchasesPage, handleReceiptPage } from './payments/account-purchases.ts';
import { handleCheckoutSuccessPage } from './payments/checkout-success.ts';
import { handleSearch } from './content/search.ts';
import { handleWaitlist } from './payments/waitlist.ts';
import { handleStripeWebhook } from './payments/webhook.ts';
import { isStoreUnreachable } from './db/replica.ts';
import { messagesFor, messagesOf } from './i18n/index.ts';

const PAGE = ['GET', 'HEAD'] as const;
const FORM = ['POST'] as const;

export type Route = {
  /** An exact path without its trailing slash (both forms are answered), or `/prefix/*` for everything under it, the prefix included. */
  path: string;
  /** The methods the handler takes; any other is refused before it runs. `any`: the handler decides (admin answers every refusal with its 404). */
  methods: readonly string[] | 'any';
  handler: Handler;
  /** The form or query fields it reads (the fuzz test sends hostile values in them). */
  fields: readonly string[];
};

/** Made on demand by a core handler. */
export const ROUTES: readonly Route[] = [
  { path: '/login', methods: PAGE, handler: handleLoginPage, fields: ['next', 'error', 'mode'] },
  { path: '/signup', methods: PAGE, handler: handleSignupPage, fields: ['next'] },
  { path: '/reset', methods: PAGE, handler: handleResetPage, fields: ['token', 'welcome'] },
  { path: '/verify', methods: PAGE, handler: handleVerifyPage, fields: ['token', 'error', 'next'] },
  { path: '/account', methods: PAGE, handler: handleAccountPage, fields: [] },
  { path: '/account/password', methods: PAGE, handler: handlePasswordPage, fields: [] },
  { path: '/account/purchases', methods: PAGE, handler: handlePurchasesPage, fields: [] },
  { path: '/account/receipt', methods: PAGE, handler: handleReceiptPage, fields: ['purchase'] },
  { path: '/checkout/success', methods: PAGE, handler: handleCheckoutSuccessPage, fields: ['session_id'] },
  { path: '/checkout/cancelled', methods: PAGE, handler: handleCheckoutCancelled, fields: ['course'] },
  { path: '/api/auth/signup', methods: FORM, handler: handleSignUp, fields: ['email', 'password', 'next'] },
  { path: '/api/auth/login', methods: FORM, handler: handleSignIn, fields: ['email', 'password', 'next'] },
  { path: '/api/auth/logout', methods: FORM, handler: handleSignOut, fields: [] },
  { path: '/api/auth/logout-all', methods: FORM, handler: handleSignOutEverywhere, fields: [] },
  { path: '/api/auth/password', methods: FORM, handler: handlePasswordChange, fields: ['current_password', 'password'] },
  { path: '/api/auth/reset-request', methods: FORM, handler: handleResetRequest, fields: ['email'] },
  { path: '/api/auth/reset', methods: FORM, handler: handleReset, fields: ['token', 'password'] },
  { path: '/api/auth/link-request', methods: FORM, handler: handleLinkRequest, fields: ['email', 'next'] },
  { path: '/api/auth/link', methods: FORM, handler: handleLink, fields: ['token', 'next'] },
  { path: '/api/auth/verify', methods: FORM, handler: handleConfirmEmail, fields: ['token', 'password', 'next'] },
  { path: '/api/auth/verify-request', methods: FORM, handler: handleConfirmRequest, fields: [] },
  { path: '/api/checkout', methods: FORM, handler: handleCheckout, fields: ['course'] },
  { path: '/api/me', methods: PAGE, handler: handleMe, fields: [] },
  { path: '/api/progress', methods: FORM, handler: handleProgress, fields: ['course', 'lesson', 'done'] },
  { path: '/api/search', methods: PAGE, handler: handleSearch, fields: ['q', 'course'] },
  { path: '/api/stripe/webhook', methods: FORM, handler: handleStripeWebhook, fields: [] },
  { path: '/api/waitlist', methods: FORM, handler: handleWaitlist, fields: ['course', 'email'] },
  { path: '/healthz', methods: PAGE, handler: handleHealth, fields: [] },
  { path: '/admin/*', methods: 'any', handler: handleAdmin, fields: ['q', 'page', 'course', 'status', 'from', 'to', 'reason'] },
];

/**
 * Paid lessons and their private media: the lesson gate, for a path under /courses/ where the build
 * wrote no file. Not in ROUTES: each runtime builds the gate with its own reads and 404 page.
 */
export const GATED_PATHS = ['/courses/:course/:lesson/', '/courses/:course/media/:name'] as const;

/** Built files, answered without any handler (Caddy's file server, Workers static assets). */
export const STATIC_PATHS = [
  '/',
  '/courses/:course/',
  '/courses/:course/:lesson/',
  '/robots.txt',
  '/rss.xml',
  '/sitemap.xml',
  '/media/*',
  '/_astro/*',
  '/favicon.svg',
] as const;

function normalise(pathname: string): string {
  return pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
}

const exact = new Map(ROUTES.filter((route) => !route.path.endsWith('/*')).map((route) => [route.path, route]));
const prefixed = ROUTES.filter((route) => route.path.endsWith('/*'));

/** The route of a request path, or undefined (a built file, a paid lesson, or nothing). */
export function routeOf(pathname: string): Route | undefined {
  const path = normalise(pathname);
  const found = exact.get(path);
  if (found) return found;
  return prefixed.find((route) => {
    const prefix = route.path.slice(0, -2);
    return path === prefix || path.startsWith(`${prefix}/`);
  });
}

/**
 * Runs a route's handler the same way on every runtime: a method the route does not take is
 * refused before any work (405 with Allow); an exception becomes the site's 500 page, which shows
 * only a reference, and the log line that carries the error under the same reference.
 */
export async function answerRoute(route: Route, request: Request, ctx: AppContext, client: Client, requestId: string): Promise<Response> {
  if (route.methods !== 'any' && !route.methods.includes(request.method)) {
    const t = await messagesOf(ctx);
    return htmlPage(t, 405, t.page.methodNotAllowed, route.methods.includes('POST') ? t.page.sendFromPage : t.page.isAPage, {
      Allow: route.methods.join(', '),
    });
  }
  try {
    return await route.handler(request, ctx, client);
  } catch (error) {
    return serverErrorPage(ctx, request, requestId, error);
  }
}

/**
 * The 500 page in the site's layout, with the reference that finds the error in the log; or, when
 * the store (a replica's primary) cannot be reached, the 503 page: nothing was saved, try again.
 */
export async function serverErrorPage(ctx: AppContext, request: Request, requestId: string, error: unknown): Promise<Response> {
  const unreachable = isStoreUnreachable(error, ctx);
  ctx.log.error(unreachable ? 'request.store-unreachable' : 'request.failed', {
    id: requestId,
    method: request.method,
    path: new URL(request.url).pathname.slice(0, 512),
    error: (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 500),
  });
  const headers = { 'X-Request-Id': requestId, 'Cache-Control': 'no-store' };
  if (unreachable) return storeUnreachablePage(ctx, headers);
  try {
    const t = await messagesOf(ctx);
    return await pageResponse(ctx, {
      status: 500,
      title: t.page.serverError,
      description: t.page.serverErrorDescription,
      headers,
      main: html`<section class="wrap auth">
        <h1>${t.page.serverError}</h1>
        <p>${t.page.ourError}</p>
        <p>${t.page.quoteReference}</p>
        <p><code>${requestId}</code></p>
        <p><a class="button" href="/">${t.page.backHome}</a></p>
      </section>`,
    });
  } catch {
    // The layout itself could not be read, nor its language: the plain page still carries the reference.
    const t = messagesFor('en-US');
    return htmlPage(t, 500, t.page.serverError, t.page.serverErrorMessage(requestId), headers);
  }
}

/** 503 with Retry-After: the store cannot take the change now; nothing was lost, the visitor tries again. */
async function storeUnreachablePage(ctx: AppContext, headers: Record<string, string>): Promise<Response> {
  const withRetry = { ...headers, 'Retry-After': '30' };
  try {
    const t = await messagesOf(ctx);
    const [title, message] = [t.page.unavailable, t.page.storeUnreachable];
    return await pageResponse(ctx, {
      status: 503,
      title,
      description: message,
      headers: withRetry,
      main: html`<section class="wrap auth">
        <h1>${title}</h1>
        <p>${message}</p>
        <p><a class="button" href="/">${t.page.backHome}</a></p>
      </section>`,
    });
  } catch {
    const t = messagesFor('en-US');
    return htmlPage(t, 503, t.page.unavailable, t.page.storeUnreachable, withRetry);
  }
}

/** The paths a Worker runs first, before any static file is looked for (wrangler.jsonc `assets.run_worker_first`). */
export function workerFirstPaths(): string[] {
  return ROUTES.flatMap((route) => (route.path.endsWith('/*') ? [route.path.slice(0, -2), route.path] : [route.path, `${route.path}/`]));
}
