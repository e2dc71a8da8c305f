import { astroEndpoint } from '../../node/astro-endpoint.ts';
import { handleWaitlist } from '../../server/payments/waitlist.ts';

export const prerender = false;
export const POST = astroEndpoint(handleWaitlist);
// Any other method reaches the handler too, which answers 405 without touching anything.
export const ALL = POST;
