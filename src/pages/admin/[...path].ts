// Every address under /admin (the rest parameter also matches /admin and /admin/ themselves): the
// core's handleAdmin routes them and answers non-admins with the site's 404.
import { astroEndpoint } from '../../node/astro-endpoint.ts';
import { handleAdmin } from '../../server/admin/routes.ts';

export const prerender = false;
export const GET = astroEndpoint(handleAdmin);
// Posts (the admin's actions) and every other method reach the handler too.
export const ALL = GET;
