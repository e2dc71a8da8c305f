import { astroEndpoint } from '../../../node/astro-endpoint.ts';
import { handleReset } from '../../../server/auth/password-reset.ts';

export const prerender = false;
export const POST = astroEndpoint(handleReset);
// Any other method reaches the handler too, which answers 405 without touching anything.
export const ALL = POST;
