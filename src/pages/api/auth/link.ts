import { astroEndpoint } from '../../../node/astro-endpoint.ts';
import { handleLink } from '../../../server/auth/sign-in-link.ts';

export const prerender = false;
export const POST = astroEndpoint(handleLink);
// Any other method reaches the handler too, which answers 405 without touching anything.
export const ALL = POST;
