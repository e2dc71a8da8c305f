import { astroEndpoint } from '../../../node/astro-endpoint.ts';
import { handleSignOutEverywhere } from '../../../server/auth/sign-out.ts';

export const prerender = false;
export const POST = astroEndpoint(handleSignOutEverywhere);
// Any other method reaches the handler too, which answers 405 without touching anything.
export const ALL = POST;
