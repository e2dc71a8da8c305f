import { astroEndpoint } from '../../../node/astro-endpoint.ts';
import { handleResetRequest } from '../../../server/auth/password-reset.ts';

export const prerender = false;
export const POST = astroEndpoint(handleResetRequest);
