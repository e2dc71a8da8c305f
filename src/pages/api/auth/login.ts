import { astroEndpoint } from '../../../node/astro-endpoint.ts';
import { handleSignIn } from '../../../server/auth/sign-in.ts';

export const prerender = false;
export const POST = astroEndpoint(handleSignIn);
