import { astroEndpoint } from '../../../node/astro-endpoint.ts';
import { handlePasswordChange } from '../../../server/auth/password-change.ts';

export const prerender = false;
export const POST = astroEndpoint(handlePasswordChange);
// Any other method reaches the handler too, which answers 405 without touching anything.
export const ALL = POST;
