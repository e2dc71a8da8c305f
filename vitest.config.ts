import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Files run in parallel on the machine's two cores; servers and builds are shared within a file.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts'] } },
      {
        extends: true,
        // tests/load/ runs on its own: `npm run test:load` (vitest.load.config.ts).
        test: { name: 'integration', include: ['tests/**/*.test.ts'], exclude: ['tests/load/**'], globalSetup: ['tests/support/global-setup.ts'] },
      },
    ],
  },
});
