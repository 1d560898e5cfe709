import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WindowAggregate } from '../../src/windows/aggregate.js';
import { CountWindows } from '../../src/windows/count.js';
import { EventTimeTrigger } from '../../src/windows/event-time-trigger.js';
import { SlidingWindows } from '../../src/windows/sliding.js';

/** Drives one key: device time = newest reading; returns each window as [index, count, first, last, sum] and the late readings. */
function runCount(n: number, lateness: number, readings: readonly [number, number][], flushAt = Infinity): { windows: number[][]; late: number[] } {
  const w = new CountWindows(n, new EventTimeTrigger(lateness));
  const key = CountWindows.newKey();
  const windows: number[][] = [];
  const late: number[] = [];
  const emit = (i: number, a: WindowAggregate) => windows.push([i, a.count, a.first, a.last, a.sum]);
  let time = -Infinity;
  for (const [ts, v] of readings) {
    if (!w.add(key, ts, v, time)) late.push(ts);
    if (ts > time) time = ts;
    w.advance(key, time, emit);
  }
  w.advance(key, flushAt, emit);
  return { windows, late };
}

describe('count windows (event-time order)', () => {
  it('every n readings in event-time order are a window, emitted once their place is final', () => {
    const r: [number, number][] = [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7]];
    expect(runCount(3, 0, r, 7).windows).toEqual([[0, 3, 1, 3, 6], [1, 3, 4, 6, 15]]);
    // The 7th reading waits for two more.
    expect(runCount(3, 0, r).windows).toHaveLength(2);
  });

  it('place out-of-order readings within the lateness by time, and set later ones aside as late', () => {
    const { windows, late } = runCount(2, 10, [[10, 1], [5, 2], [20, 3], [12, 4], [40, 5], [15, 6]]);
    // At 40 the watermark is 30: 15 is late (its place, between 12 and 20, is taken).
    expect(late).toEqual([15]);
    expect(windows).toEqual([[0, 2, 2, 1, 3], [1, 2, 4, 3, 7]]);
  });

  it('order ties in time by value, so any arrival order gives the same windows', () => {
    const a = runCount(2, 100, [[5, 9], [5, 1], [5, 4], [6, 0]]).windows;
    const b = runCount(2, 100, [[5, 4], [6, 0], [5, 9], [5, 1]]).windows;
    expect(a).toEqual(b);
    expect(a[0]).toEqual([0, 2, 4, 4, 5]);
  });

  it('any permutation within the allowed lateness gives the same windows (fast-check)', () => {
    const L = 50;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: L })), { maxLength: 80 }), fc.integer({ min: 1, max: 7 }), (xs, n) => {
        const inOrder = xs.map(([t, v]) => [t, v] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        const arrival = [...xs].sort((a, b) => a[0] + a[2] - (b[0] + b[2])).map(([t, v]) => [t, v] as [number, number]);
        const got = runCount(n, L, arrival);
        expect(got.late).toEqual([]);
        expect(got.windows).toEqual(runCount(n, L, inOrder).windows);
        expect(got.windows).toHaveLength(Math.floor(xs.length / n));
      }),
      { numRuns: 200 },
    );
  });
});

describe('sliding windows (judged at every reading)', () => {
  /** Brute force: the readings in (newest − size, newest]. */
  function brute(seen: [number, number][], size: number): number[] {
    const newest = Math.max(...seen.map(([t]) => t));
    const inside = seen.filter(([t]) => t > newest - size).sort((a, b) => a[0] - b[0]);
    const vs = inside.map(([, v]) => v);
    return [inside.length, vs.reduce((a, b) => a + b, 0), Math.min(...vs), Math.max(...vs), inside[0]![1], inside.at(-1)![1]];
  }

  it('cover (t − size, t] of the newest reading: evicts, and keeps min and max with out-of-order readings', () => {
    const w = new SlidingWindows(10);
    const k = SlidingWindows.newKey();
    const a = new WindowAggregate();
    const got = (ts: number, v: number) => {
      w.add(k, ts, v);
      const x = w.aggregate(k, a);
      return [x.count, x.sum, x.min, x.max, x.first, x.last];
    };
    expect(got(0, 5)).toEqual([1, 5, 5, 5, 5, 5]);
    expect(got(5, 1)).toEqual([2, 6, 1, 5, 5, 1]);
    expect(got(10, 3)).toEqual([2, 4, 1, 3, 1, 3]);
    expect(got(7, 9)).toEqual([3, 13, 1, 9, 1, 3]);
    expect(got(16, 2)).toEqual([3, 14, 2, 9, 9, 2]);
    const silent = w.advanceTo(k, 30, a);
    expect(silent.count).toBe(0);
  });

  it('agree with brute force on any input, in any order (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: -100, max: 100 })), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 800 }), (xs, size) => {
        const w = new SlidingWindows(size);
        const k = SlidingWindows.newKey();
        const a = new WindowAggregate();
        const seen: [number, number][] = [];
        for (const [t, v] of xs) {
          w.add(k, t, v);
          seen.push([t, v]);
          const x = w.aggregate(k, a);
          const want = brute(seen, size);
          // first/last with ties in time depend on order; compare the order-free parts.
          expect([x.count, x.sum, x.min, x.max]).toEqual(want.slice(0, 4));
        }
      }),
      { numRuns: 100 },
    );
  });
});
