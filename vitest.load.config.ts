// `npm run test:load`: the long tests under tests/load/ (purchase storms across several processes,
// readers under load, the soak). Their sizes come from the environment (LOAD_PURCHASES,
// LOAD_SOAK_SECONDS, LOAD_WORKERS; see tests/load/settings.ts): the defaults are the full run,
// CI sets smaller ones. One file at a time, since each loads the machine's two cores on its own.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'load',
    include: ['tests/load/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 30 * 60_000,
    hookTimeout: 180_000,
  },
});
