import { astroEndpoint } from '../../../node/astro-endpoint.ts';
import { handleSignIn } from '../../../server/auth/sign-in.ts';

export const prerender = false;
export const POST = astroEndpoint(handleSignIn);
// Any other method reaches the handler too, which answers 405 without touching anything.
export const ALL = POST;
