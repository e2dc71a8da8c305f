// The Worker's entry (wrangler.jsonc `main`): src/cloudflare/worker.ts turns the Worker's
// bindings into the core's context and calls the same handlers as the Node server. The two pages
// are the build's, copied by `npm run cf:build` as text modules.
import notFoundHtml from '../.cloudflare/404.txt';
import shellHtml from '../.cloudflare/shell.txt';
import { createWorker } from '../src/cloudflare/worker.ts';

export default createWorker({ shellHtml, notFoundHtml });
