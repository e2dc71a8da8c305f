import { astroEndpoint } from '../../../node/astro-endpoint.ts';
import { handleStripeWebhook } from '../../../server/payments/webhook.ts';

export const prerender = false;
export const POST = astroEndpoint(handleStripeWebhook);
export const ALL = POST;
