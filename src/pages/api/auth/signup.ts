import { astroEndpoint } from '../../../node/astro-endpoint.ts';
import { handleSignUp } from '../../../server/auth/sign-up.ts';

export const prerender = false;
export const POST = astroEndpoint(handleSignUp);
