// The fault suite's fast subset in `npm test`: the scenarios marked `fast`, in their fast profile,
// each on real processes and checked by the ledger. `npm run test:faults` runs all of them, longer.
import { cleanupAll } from '@fieldline/harness';
import { afterAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from './scenarios.js';
import { runScenario } from './suite.js';

afterAll(() => cleanupAll());

describe('fault suite (fast subset)', () => {
  for (const sc of SCENARIOS.filter((s) => s.fast)) {
    it(sc.title, async () => {
      const row = await runScenario(sc, 'fast', 11);
      expect(row.problems.join('\n').slice(0, 20_000)).toBe('');
      expect(row).toMatchObject({ pass: true, lost: 0, duplicated: 0, altered: 0, outOfOrder: 0 });
      expect(row.sent).toBeGreaterThan(100);
      expect(row.alerts).toMatchObject({ missing: 0, unexpected: 0, duplicated: 0 });
    }, 180_000);
  }
});
