/**
 * The hostile-input suite's budget: `npm test` runs the fast profile (a few seconds per surface),
 * `npm run test:fuzz` the full one (FIELDLINE_FUZZ=full). Seeds are fixed: a failure replays.
 */
export const FULL = process.env.FIELDLINE_FUZZ === 'full';

/** Runs per property: `fast` in `npm test`, `full` in `npm run test:fuzz`. */
export const runs = (fast: number, full: number): number => (FULL ? full : fast);

/** fast-check parameters: a fixed seed per surface, the run count of the profile, no shrinking past 10 s. */
export const fcParams = (seed: number, fast: number, full: number): { seed: number; numRuns: number; interruptAfterTimeLimit: number; endOnFailure: boolean } => ({
  seed,
  numRuns: runs(fast, full),
  interruptAfterTimeLimit: FULL ? 240_000 : 40_000,
  endOnFailure: true,
});

/** Per test: the fast profile stays well under a minute. */
export const TEST_TIMEOUT = FULL ? 300_000 : 90_000;
