import { defineConfig } from 'vitest/config';

/** Checks against the real npm registry and Debian archive; not part of the hermetic suite. */
export default defineConfig({
  test: {
    include: ['test/live/**/*.test.ts'],
    testTimeout: 120_000,
  },
});
