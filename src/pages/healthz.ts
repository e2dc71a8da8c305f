import { astroEndpoint } from '../node/astro-endpoint.ts';
import { handleHealth } from '../server/health.ts';

export const prerender = false;
export const GET = astroEndpoint(handleHealth);
export const HEAD = GET;
