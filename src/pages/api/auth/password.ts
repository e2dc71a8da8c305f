import { astroEndpoint } from '../../../node/astro-endpoint.ts';
import { handlePasswordChange } from '../../../server/auth/password-change.ts';

export const prerender = false;
export const POST = astroEndpoint(handlePasswordChange);
