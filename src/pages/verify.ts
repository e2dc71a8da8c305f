import { astroEndpoint } from '../node/astro-endpoint.ts';
import { handleVerifyPage } from '../server/auth/pages.ts';

export const prerender = false;
export const GET = astroEndpoint(handleVerifyPage);
// Any other method reaches the handler too, which answers 405.
export const ALL = GET;
