import { astroEndpoint } from '../../../node/astro-endpoint.ts';
import { handleReset } from '../../../server/auth/password-reset.ts';

export const prerender = false;
export const POST = astroEndpoint(handleReset);
