// npm run test:fuzz [-- <vitest args>]: the hostile-input suite (test/fuzz/*.test.ts) in its full
// profile (FIELDLINE_FUZZ=full: thousands of cases per surface, fixed seeds), bounded in time.
// `npm test` runs the same files in the fast profile.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../faults/stack.js';

const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs');
const res = spawnSync(process.execPath, [vitest, 'run', 'test/fuzz', 'edge/test/fuzz.test.ts', 'contract/test/property.test.ts', ...process.argv.slice(2)], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, FIELDLINE_FUZZ: 'full' },
  timeout: 15 * 60_000,
});
process.exit(res.status ?? 1);
