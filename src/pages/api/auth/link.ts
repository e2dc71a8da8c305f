import { astroEndpoint } from '../../../node/astro-endpoint.ts';
import { handleLink } from '../../../server/auth/sign-in-link.ts';

export const prerender = false;
export const POST = astroEndpoint(handleLink);
