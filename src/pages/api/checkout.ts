import { astroEndpoint } from '../../node/astro-endpoint.ts';
import { handleCheckout } from '../../server/payments/checkout.ts';

export const prerender = false;
export const POST = astroEndpoint(handleCheckout);
// Any other method reaches the handler too, which answers 405 without touching anything.
export const ALL = POST;
