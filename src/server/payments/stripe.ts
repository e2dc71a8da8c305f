// The Stripe client, made the same way on every runtime: the fetch HTTP client and SubtleCrypto
// for webhook signatures, so the code that runs on Node also runs on workerd. STRIPE_API_BASE
// (the development stand-in) only changes where requests go.
import Stripe from 'stripe';
import type { StripeSettings } from '../config.ts';

export function createStripeClient(settings: StripeSettings): Stripe {
  const base = settings.apiBase;
  return new Stripe(settings.secretKey, {
    httpClient: Stripe.createFetchHttpClient(),
    // Retries reuse the request's idempotency key, so a retried create never makes two sessions.
    maxNetworkRetries: 2,
    timeout: 15_000,
    telemetry: false,
    appInfo: { name: 'git-course-store' },
    ...(base
      ? {
          host: base.hostname,
          port: base.port || (base.protocol === 'https:' ? 443 : 80),
          protocol: base.protocol === 'https:' ? ('https' as const) : ('http' as const),
        }
      : {}),
  });
}

export const webhookCryptoProvider = Stripe.createSubtleCryptoProvider();

/** Stripe could not be reached or failed on its side: worth a retry later, never the buyer's fault. */
export function isStripeUnavailable(error: unknown): boolean {
  return (
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeAPIError ||
    error instanceof Stripe.errors.StripeRateLimitError ||
    (error instanceof Stripe.errors.StripeError && (error.statusCode ?? 0) >= 500)
  );
}

/** A retrieve of an id Stripe does not know. */
export function isStripeMissing(error: unknown): boolean {
  return error instanceof Stripe.errors.StripeInvalidRequestError && error.code === 'resource_missing';
}

/** The id of an object Stripe gives either as an id or, expanded, as the object itself. */
export function stripeId(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === 'string' ? value : value.id;
}

/**
 * A Checkout Session as logs name it: a short prefix, enough to tell sessions apart and find one in
 * Stripe's dashboard, never the full id (it is in the buyer's success URL).
 */
export function checkoutRef(id: string): string {
  return `${id.slice(0, 16)}…`;
}

export type { Stripe };
