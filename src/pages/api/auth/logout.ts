import { astroEndpoint } from '../../../node/astro-endpoint.ts';
import { handleSignOut } from '../../../server/auth/sign-out.ts';

export const prerender = false;
export const POST = astroEndpoint(handleSignOut);
// Any other method reaches the handler too, which answers 405 without touching anything.
export const ALL = POST;
