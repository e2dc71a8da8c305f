import { astroEndpoint } from '../../node/astro-endpoint.ts';
import { handleMe } from '../../server/auth/me.ts';

export const prerender = false;
export const GET = astroEndpoint(handleMe);
