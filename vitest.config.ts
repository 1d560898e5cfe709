import { defineConfig } from 'vitest/config';

// Integration tests start real servers (nats-server, influxd, socat, Node-RED, Chromium),
// so files run in separate processes and the timeouts allow for a slow start on two cores.
export default defineConfig({
  resolve: { conditions: ['fieldline-src'] },
  ssr: { resolve: { conditions: ['fieldline-src'], externalConditions: ['fieldline-src'] } },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
