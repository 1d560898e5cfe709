import { defineConfig, mergeConfig } from 'vitest/config';
import base from '../../vitest.config.js';

// `npm run test:scale`: the long scale-out scenarios (real processes, a 3-node cluster, kills).
// One file at a time: each runs several processors and servers on a two-core machine.
export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ['test/scale/**/*.scale.ts'],
      maxWorkers: 1,
      testTimeout: 600_000,
      hookTimeout: 120_000,
    },
  }),
);
