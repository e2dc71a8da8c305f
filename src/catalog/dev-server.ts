// What the course catalogue adds to `astro dev` (and only to it: Vite calls configureServer for the
// development server alone, so none of this exists in a build or on a deployed site):
// - an edit anywhere under the courses folder shows on the next reload. Astro keeps each page's
//   `getStaticPaths()` answer, and with it the course and lesson props, until it hears that content
//   changed, and Vite cannot know that pages depend on files they never imported;
// - a mistake in the courses is shown in the browser exactly as `npm run check` prints it, instead
//   of the visitor's error page;
// - the author reads the paid lessons: their pages render (src/pages/courses/[course]/[lesson].astro)
//   and the media only paid lessons use are served here, where the lesson gate serves them to
//   members on a deployed site.
import { isAbsolute, relative } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Plugin, ViteDevServer } from 'vite';
import { getCatalog, trackCourseChanges } from './index.ts';
import { CatalogError } from './load.ts';
import { renderVariant } from './media.ts';
import { escapeXml } from './xml.ts';

const PRIVATE_MEDIA = /^\/courses\/([^/]+)\/media\/([^/?#]+)$/;
/** Vite's client, modules and dependencies: they must load for the problems page to reload itself. */
const VITE_OWN = /^\/(@|node_modules\/|src\/|\.)/;

/** `virtualModules`: resolved ids of modules built from the courses folder, rebuilt on a change. */
export function devServerPlugin(dir: string, virtualModules: string[]): Plugin {
  return {
    name: 'course-catalog:dev-server',
    configureServer(server: ViteDevServer) {
      trackCourseChanges();
      server.watcher.add(dir);
      server.watcher.on('all', (_event, path) => {
        const inside = relative(dir, path);
        if (inside.startsWith('..') || isAbsolute(inside)) return;
        for (const environment of Object.values(server.environments)) {
          for (const id of virtualModules) {
            const module = environment.moduleGraph.getModuleById(id);
            if (module) environment.moduleGraph.invalidateModule(module);
          }
          // Astro's own signal that content changed: every page runs getStaticPaths() again.
          if (environment.name !== 'client') environment.hot.send('astro:content-changed', {});
        }
        server.environments.client.hot.send({ type: 'full-reload', path: '*' });
      });
      server.middlewares.use((request, response, next) => {
        serve(request, response).then((served) => served || next(), next);
      });
    },
  };
}

async function serve(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = (request.url ?? '/').split('?')[0]!;
  const media = PRIVATE_MEDIA.exec(path);
  if (VITE_OWN.test(path)) return false;
  let catalog;
  try {
    catalog = await getCatalog();
  } catch (error) {
    if (!(error instanceof CatalogError)) throw error;
    response.writeHead(500, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    // Word for word what `npm run check` prints.
    response.end(problemsPage(`✗ ${error.message}`));
    return true;
  }
  if (!media) return false;
  const [, course = '', file = ''] = media;
  if (!catalog.privateMedia.get(course)?.has(file)) return false;
  const [variant] = catalog.media.variants([file]);
  response.writeHead(200, { 'Content-Type': variant!.contentType, 'Cache-Control': 'no-store' });
  response.end(await renderVariant(variant!));
  return true;
}

/**
 * A page of its own rather than the site's layout, which needs the very site settings that may be
 * broken. Vite's client script reloads it when a file changes, so a fix shows by itself.
 */
function problemsPage(report: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>The courses have problems</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1a1a1a}pre{white-space:pre-wrap;background:#fff4f2;border-left:4px solid #b3261e;padding:1rem;overflow-wrap:anywhere}</style>
<script type="module" src="/@vite/client"></script>
</head>
<body>
<main>
<h1>The courses have problems</h1>
<p>The site cannot be shown until these are fixed. Each line names the file, the line and what to do; <code>npm run check</code> prints the same list. This page reloads when you save a file.</p>
<pre>${escapeXml(report)}</pre>
</main>
</body>
</html>
`;
}
