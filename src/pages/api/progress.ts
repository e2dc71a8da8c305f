import { astroEndpoint } from '../../node/astro-endpoint.ts';
import { handleProgress } from '../../server/access/progress.ts';

export const prerender = false;
export const POST = astroEndpoint(handleProgress);
