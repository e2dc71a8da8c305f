import { astroEndpoint } from '../../../node/astro-endpoint.ts';
import { handleConfirmRequest } from '../../../server/auth/confirm-email.ts';

export const prerender = false;
export const POST = astroEndpoint(handleConfirmRequest);
// Any other method reaches the handler too, which answers 405 without touching anything.
export const ALL = POST;
