import { astroEndpoint } from '../../node/astro-endpoint.ts';
import { handleSearch } from '../../server/content/search.ts';

export const prerender = false;
export const GET = astroEndpoint(handleSearch);
// Any other method reaches the handler too, which answers 405.
export const ALL = GET;
