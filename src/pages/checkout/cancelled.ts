// /checkout/cancelled: the route table's (src/server/routes.ts) on Node; the core answers it.
import { astroRoute } from '../../node/astro-endpoint.ts';

export const prerender = false;
export const ALL = astroRoute('/checkout/cancelled');
