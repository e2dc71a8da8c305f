// Every on-demand path of the site (the list is _routes.json, written by `npm run cf:build`) comes
// here; src/cloudflare/ turns the Pages environment into the core's context and calls the same
// handlers as the Node server. The two pages are the build's, copied by cf:build as text modules.
import notFoundHtml from '../.cloudflare/404.txt';
import shellHtml from '../.cloudflare/shell.txt';
import { createPagesFunction } from '../src/cloudflare/pages-function.ts';

export const onRequest = createPagesFunction({ shellHtml, notFoundHtml });
