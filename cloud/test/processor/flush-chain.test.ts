/**
 * The flush chain's order (flush-chain.ts), with steps that take random times and may give up:
 * a commit never comes before its own batch's writes succeeded nor before the commit of the batch
 * before it; writes run one batch at a time in order; after a step gave up nothing later is
 * committed; and batch N+1 is written while batch N commits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlushChain } from '../../src/processor/flush-chain.js';

type Ev = { at: number; what: 'write' | 'commit'; phase: 'start' | 'ok' | 'fail'; batch: number };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `n` batches through a chain whose steps take `delays` ms and give up where `fails` says. */
async function run(n: number, delays: { write: number[]; commit: number[] }, fails: { write?: number; commit?: number } = {}) {
  const log: Ev[] = [];
  let t = 0;
  const failed: { err: unknown; batch: number }[] = [];
  const step = (what: 'write' | 'commit') => async (b: number) => {
    log.push({ at: t++, what, phase: 'start', batch: b });
    await sleep(delays[what][b % delays[what].length]!);
    if (fails[what] === b) {
      log.push({ at: t++, what, phase: 'fail', batch: b });
      throw new Error(`${what} ${b} gave up`);
    }
    log.push({ at: t++, what, phase: 'ok', batch: b });
  };
  const chain = new FlushChain<number>({ write: step('write'), commit: step('commit'), onFailed: (err, batch) => failed.push({ err, batch }) });
  const results: Promise<boolean>[] = [];
  for (let b = 0; b < n; b++) {
    results.push(chain.push(b));
    // The loop's bound: at most 3 batches not committed.
    while (chain.pending >= 3) await chain.oldestSettled();
  }
  await chain.settled();
  return { log, failed, committed: await Promise.all(results), chain };
}

const at = (log: Ev[], what: Ev['what'], phase: Ev['phase'], batch: number): number | undefined => log.find((e) => e.what === what && e.phase === phase && e.batch === batch)?.at;

/** The guarantee, checked on the event log. */
function checkOrder(log: Ev[], n: number, firstFailure: number | undefined): void {
  for (let b = 0; b < n; b++) {
    const commitStart = at(log, 'commit', 'start', b);
    if (commitStart !== undefined) {
      // Its own writes succeeded first.
      expect(at(log, 'write', 'ok', b), `commit ${b} before its write succeeded`).toBeLessThan(commitStart);
      // The commit before it succeeded first.
      if (b > 0) expect(at(log, 'commit', 'ok', b - 1), `commit ${b} before commit ${b - 1}`).toBeLessThan(commitStart);
      // Nothing after a give-up is committed (the batch that gave up in its commit started it).
      if (firstFailure !== undefined) expect(b, `commit ${b} after batch ${firstFailure} gave up`).toBeLessThanOrEqual(firstFailure);
    }
    if (firstFailure !== undefined && b >= firstFailure) {
      expect(at(log, 'commit', 'ok', b), `batch ${b} committed though batch ${firstFailure} gave up`).toBeUndefined();
    }
    const writeStart = at(log, 'write', 'start', b);
    if (writeStart !== undefined && b > 0) {
      // Writes one batch at a time, in order.
      expect(at(log, 'write', 'ok', b - 1), `write ${b} before write ${b - 1} ended`).toBeLessThan(writeStart);
    }
  }
}

describe('flush chain', () => {
  it('commits in order, each batch only after its own writes, whatever the steps take', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 12 }), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 12 }), async (n, w, c) => {
        const { log, committed, failed } = await run(n, { write: w, commit: c });
        checkOrder(log, n, undefined);
        expect(failed).toEqual([]);
        expect(committed).toEqual(Array(n).fill(true));
        expect(log.filter((e) => e.what === 'commit' && e.phase === 'ok').map((e) => e.batch)).toEqual([...Array(n).keys()]);
      }),
      { numRuns: 60 },
    );
  });

  it('after a step gives up, nothing later is committed (its batch and every later one are dropped)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 10 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }), fc.constantFrom<'write' | 'commit'>('write', 'commit'))),
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 10 }),
        async ([n, k, what], w, c) => {
          const { log, committed, failed, chain } = await run(n, { write: w, commit: c }, { [what]: k });
          checkOrder(log, n, k);
          expect(failed.map((f) => f.batch)).toEqual([k]);
          expect(chain.failed).toBe(true);
          expect(committed).toEqual([...Array(n).keys()].map((b) => b < k));
          expect(chain.pending).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('writes the next batch while the one before it commits', async () => {
    // Commits are slow (a checkpoint, a KV round trip): the writes go on meanwhile.
    const { log } = await run(4, { write: [5], commit: [40] });
    checkOrder(log, 4, undefined);
    expect(at(log, 'write', 'start', 1)).toBeLessThan(at(log, 'commit', 'ok', 0)!);
    expect(at(log, 'write', 'ok', 2)).toBeLessThan(at(log, 'commit', 'ok', 1)!);
  });
});
