import { astroEndpoint } from '../../node/astro-endpoint.ts';
import { handleCheckoutSuccessPage } from '../../server/payments/checkout-success.ts';

export const prerender = false;
export const GET = astroEndpoint(handleCheckoutSuccessPage);
// Any other method reaches the handler too, which answers 405.
export const ALL = GET;
