// @ts-check
import { defineConfig } from 'astro/config';
import node from '@astrojs/node';
import { courseCatalog } from './src/catalog/integration.ts';
import { readNodeEnv } from './src/node/env.ts';
import { listenAddress } from './src/server/config.ts';

// `npm run build` and `npm run dev` read .env like every other command.
const env = readNodeEnv();

export default defineConfig({
  site: env.SITE_URL || listenAddress(env.HOST, env.PORT),
  output: 'static',
  adapter: node({ mode: 'standalone' }),
  integrations: [courseCatalog()],
  trailingSlash: 'ignore',
  build: { format: 'directory' },
  server: { host: env.HOST || 'localhost', port: Number(env.PORT || 4321) },
  // Every POST handler checks the Origin against SITE_URL itself (src/server/http/origin.ts), on
  // every runtime. Astro's own check compares with the URL the Node process sees, which is http
  // behind a TLS-terminating proxy, and would refuse every form there.
  security: { checkOrigin: false },
  devToolbar: { enabled: false },
  vite: { build: { assetsInlineLimit: 0 } },
});
