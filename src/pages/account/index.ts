import { astroEndpoint } from '../../node/astro-endpoint.ts';
import { handleAccountPage } from '../../server/access/account-page.ts';

export const prerender = false;
export const GET = astroEndpoint(handleAccountPage);
// Any other method reaches the handler too, which answers 405.
export const ALL = GET;
