// Which core handler answers which on-demand path on Cloudflare: the same handlers as the Astro
// endpoints in src/pages/ on Node. `_routes.json` (src/cloudflare/pages-routes.ts) sends exactly
// these paths, and /courses/*, to the function; every other request is a static file.
import { handleAccountPage } from '../server/access/account-page.ts';
import { handleAdmin } from '../server/admin/routes.ts';
import { handleProgress } from '../server/access/progress.ts';
import { handleMe } from '../server/auth/me.ts';
import { handleLoginPage, handlePasswordPage, handleResetPage, handleSignupPage } from '../server/auth/pages.ts';
import { handlePasswordChange } from '../server/auth/password-change.ts';
import { handleReset, handleResetRequest } from '../server/auth/password-reset.ts';
import { handleLink, handleLinkRequest } from '../server/auth/sign-in-link.ts';
import { handleSignIn } from '../server/auth/sign-in.ts';
import { handleSignOut, handleSignOutEverywhere } from '../server/auth/sign-out.ts';
import { handleSignUp } from '../server/auth/sign-up.ts';
import type { Handler } from '../server/context.ts';
import { handleHealth } from '../server/health.ts';
import { handleCheckout } from '../server/payments/checkout.ts';
import { handleCheckoutSuccessPage } from '../server/payments/checkout-success.ts';
import { handleWaitlist } from '../server/payments/waitlist.ts';
import { handleSearch } from '../server/content/search.ts';
import { handleStripeWebhook } from '../server/payments/webhook.ts';

/**
 * The three handlers that leave the method to their Astro endpoint (which exports only GET or POST)
 * get the same restriction here; every other handler answers a wrong method itself.
 */
function onlyMethods(methods: string[], handler: Handler): Handler {
  return async (request, ctx, client) =>
    methods.includes(request.method)
      ? handler(request, ctx, client)
      : new Response('Method not allowed\n', { status: 405, headers: { Allow: methods.join(', '), 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } });
}

/** Exact paths, without a trailing slash (Astro's `trailingSlash: 'ignore'` answers both forms). */
export const ROUTES: Readonly<Record<string, Handler>> = {
  '/login': handleLoginPage,
  '/signup': handleSignupPage,
  '/reset': handleResetPage,
  '/account': handleAccountPage,
  '/account/password': handlePasswordPage,
  '/checkout/success': handleCheckoutSuccessPage,
  '/api/auth/link-request': handleLinkRequest,
  '/api/auth/link': handleLink,
  '/api/auth/login': handleSignIn,
  '/api/auth/logout': handleSignOut,
  '/api/auth/logout-all': handleSignOutEverywhere,
  '/api/auth/password': handlePasswordChange,
  '/api/auth/reset-request': handleResetRequest,
  '/api/auth/reset': handleReset,
  '/api/auth/signup': handleSignUp,
  '/api/checkout': handleCheckout,
  '/api/me': onlyMethods(['GET', 'HEAD'], handleMe),
  '/api/progress': onlyMethods(['POST'], handleProgress),
  '/api/search': handleSearch,
  '/api/stripe/webhook': handleStripeWebhook,
  '/api/waitlist': handleWaitlist,
  '/healthz': onlyMethods(['GET', 'HEAD'], handleHealth),
};

/** Handlers that route everything under their prefix themselves (the prefix included). */
export const PREFIX_ROUTES: Readonly<Record<string, Handler>> = {
  '/admin': handleAdmin,
};

export function routeOf(pathname: string): Handler | undefined {
  const path = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  if (Object.hasOwn(ROUTES, path)) return ROUTES[path];
  const prefix = `/${path.split('/')[1]}`;
  return Object.hasOwn(PREFIX_ROUTES, prefix) ? PREFIX_ROUTES[prefix] : undefined;
}
