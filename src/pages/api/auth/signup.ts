import { astroEndpoint } from '../../../node/astro-endpoint.ts';
import { handleSignUp } from '../../../server/auth/sign-up.ts';

export const prerender = false;
export const POST = astroEndpoint(handleSignUp);
// Any other method reaches the handler too, which answers 405 without touching anything.
export const ALL = POST;
