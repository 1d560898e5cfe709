import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeAggregates, WindowAggregate } from '../../src/windows/aggregate.js';
import { EventTimeTrigger } from '../../src/windows/event-time-trigger.js';
import { HoppingAssigner } from '../../src/windows/hopping.js';
import { TimeWindows } from '../../src/windows/time-windows.js';
import { TumblingAssigner } from '../../src/windows/tumbling.js';

interface Out {
  start: number;
  end: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  first: number;
  last: number;
  late: boolean;
}

const snap = (start: number, end: number, a: WindowAggregate, late: boolean): Out => ({ start, end, count: a.count, sum: a.sum, min: a.min, max: a.max, first: a.first, last: a.last, late });

/** Drives one key as the pipeline does: device time = newest reading, `add` with the time before, then `advance`. */
function run(w: TimeWindows, readings: readonly [number, number][], flush = true): { out: Out[]; missed: number[] } {
  const key = TimeWindows.newKey();
  const out: Out[] = [];
  const missed: number[] = [];
  let time = -Infinity;
  const emit = (s: number, e: number, a: WindowAggregate, late: boolean) => out.push(snap(s, e, a, late));
  for (const [ts, v] of readings) {
    const m = w.add(key, ts, v, time, emit);
    if (m === w.assigner.span) missed.push(ts);
    if (ts > time) time = ts;
    w.advance(key, time, emit);
  }
  if (flush) w.advance(key, Infinity, emit);
  return { out, missed };
}

/** The last emission of each window: what InfluxDB ends up holding. */
function finals(out: Out[]): Map<number, Omit<Out, 'late'>> {
  const m = new Map<number, Omit<Out, 'late'>>();
  for (const { late: _late, ...o } of out) m.set(o.start, o);
  return new Map([...m].sort((a, b) => a[0] - b[0]));
}

/** Reference: every window of `size` every `hop` holding a reading, aggregated by brute force. */
function reference(readings: readonly [number, number][], size: number, hop: number): Map<number, Omit<Out, 'late'>> {
  const starts = new Set<number>();
  for (const [ts] of readings) for (let s = Math.floor(ts / hop) * hop; s > ts - size; s -= hop) starts.add(s);
  const m = new Map<number, Omit<Out, 'late'>>();
  for (const s of [...starts].sort((a, b) => a - b)) {
    const agg = new WindowAggregate();
    for (const [ts, v] of [...readings].sort((a, b) => a[0] - b[0])) if (ts >= s && ts < s + size) agg.add(ts, v);
    const { late: _l, ...o } = snap(s, s + size, agg, false);
    m.set(s, o);
  }
  return m;
}

const MIN = 60_000;

describe('tumbling windows', () => {
  it('are [start, start + size), aligned to UTC from the epoch', () => {
    const hour = new TumblingAssigner(3_600_000);
    const t = Date.UTC(2026, 2, 29, 1, 30, 15);
    expect(hour.startOf(t)).toBe(Date.UTC(2026, 2, 29, 1));
    expect(hour.startOf(Date.UTC(2026, 2, 29, 2))).toBe(Date.UTC(2026, 2, 29, 2));
    expect(hour.startOf(Date.UTC(2026, 2, 29, 2) - 1)).toBe(Date.UTC(2026, 2, 29, 1));
    expect(new TumblingAssigner(86_400_000).startOf(Date.UTC(2026, 6, 4, 23, 59, 59, 999))).toBe(Date.UTC(2026, 6, 4));
    expect(new TumblingAssigner(15 * MIN, 5 * MIN).startOf(Date.UTC(2026, 0, 1, 0, 4))).toBe(Date.UTC(2025, 11, 31, 23, 50));
    expect(() => new TumblingAssigner(0)).toThrow(/positive/);
  });

  it('emit a window once its device time reaches the end, never before, and drop it once final', () => {
    const w = new TimeWindows(HoppingAssigner.tumbling(MIN), new EventTimeTrigger(10_000));
    const key = TimeWindows.newKey();
    const out: Out[] = [];
    const emit = (s: number, e: number, a: WindowAggregate, late: boolean) => out.push(snap(s, e, a, late));
    w.add(key, 0, 1, -Infinity, emit);
    w.add(key, 59_999, 3, 0, emit);
    w.advance(key, 59_999, emit);
    expect(out).toEqual([]);
    // Another sensor of the device moves its event time to the end: due.
    w.advance(key, 60_000, emit);
    expect(out).toEqual([{ start: 0, end: MIN, count: 2, sum: 4, min: 1, max: 3, first: 1, last: 3, late: false }]);
    expect(key.panes).toHaveLength(1);
    w.advance(key, 70_000, emit);
    expect(key.panes).toHaveLength(0);
    expect(out).toHaveLength(1);
  });

  it('a late reading within the allowed lateness updates and re-emits its window under the same start; past it, the reading misses', () => {
    const w = new TimeWindows(HoppingAssigner.tumbling(MIN), new EventTimeTrigger(10_000));
    const { out, missed } = run(w, [[1000, 5], [61_000, 1], [65_000, 1], [30_000, 9], [80_000, 1], [50_000, 7]]);
    expect(missed).toEqual([50_000]);
    const first = out.filter((o) => o.start === 0);
    expect(first.map((o) => [o.late, o.count, o.max])).toEqual([[false, 1, 5], [true, 2, 9]]);
    expect(finals(out).get(0)).toMatchObject({ count: 2, sum: 14 });
  });

  it('depend on the device time they are given, so one device clock cannot close another device`s windows', () => {
    const w = new TimeWindows(HoppingAssigner.tumbling(MIN), new EventTimeTrigger(0));
    const a = TimeWindows.newKey();
    const b = TimeWindows.newKey();
    const out: string[] = [];
    w.add(a, 10_000, 1, -Infinity, (s) => out.push(`a${s}`));
    w.add(b, 10_000, 1, -Infinity, (s) => out.push(`b${s}`));
    // Device B's clock jumps a day ahead: only B's window closes.
    w.advance(b, 86_400_000, (s) => out.push(`b${s}`));
    w.advance(a, 20_000, (s) => out.push(`a${s}`));
    expect(out).toEqual(['b0']);
    expect(a.panes).toHaveLength(1);
  });
});

describe('hopping windows', () => {
  it('put each reading in size/hop windows; a window is the merge of its panes', () => {
    const w = new TimeWindows(new HoppingAssigner(3 * MIN, MIN), new EventTimeTrigger(0));
    const readings: [number, number][] = [[10_000, 1], [70_000, 2], [130_000, 3], [250_000, 4]];
    const { out } = run(w, readings);
    expect(out.map((o) => [o.start / MIN, o.count, o.sum])).toEqual([
      [-2, 1, 1],
      [-1, 2, 3],
      [0, 3, 6],
      [1, 2, 5],
      [2, 2, 7],
      [3, 1, 4],
      [4, 1, 4],
    ]);
    expect(finals(out)).toEqual(reference(readings, 3 * MIN, MIN));
    expect(() => new HoppingAssigner(5 * MIN, 2 * MIN)).toThrow(/multiple of the hop/);
  });

  it('a late reading re-emits every emitted window holding it that is not final yet', () => {
    const readings: [number, number][] = [[0, 1], [60_000, 1], [120_000, 1], [180_000, 1], [59_000, 10]];
    const lateOf = (lateness: number) =>
      run(new TimeWindows(new HoppingAssigner(2 * MIN, MIN), new EventTimeTrigger(lateness)), readings, false).out.filter((o) => o.late).map((o) => [o.start / MIN, o.count, o.max]);
    expect(lateOf(3 * MIN)).toEqual([[-1, 2, 10], [0, 3, 10]]);
    // Watermark 60 s: the window [-60 s, 60 s) is final, only [0, 120 s) takes the reading.
    expect(lateOf(2 * MIN)).toEqual([[0, 3, 10]]);
  });

  it('merge aggregates: the union of two windows` readings', () => {
    const a = new WindowAggregate();
    const b = new WindowAggregate();
    [[1, 5], [3, -2]].forEach(([t, v]) => a.add(t!, v!));
    [[0, 7], [9, 1]].forEach(([t, v]) => b.add(t!, v!));
    const m = mergeAggregates(a.clone(), b);
    expect([m.count, m.sum, m.min, m.max, m.first, m.last, m.mean, m.spread]).toEqual([4, 11, -2, 7, 7, 1, 2.75, 9]);
    expect(m.rate).toBeCloseTo(((1 - 7) * 1000) / 9, 12);
    expect(new WindowAggregate().mean).toBeNaN();
  });
});

describe('permutations within the allowed lateness (fast-check)', () => {
  // Integer values keep sums exact whatever the order; distinct times (two readings of a sensor at
  // one time are one point in InfluxDB, the later one: their first/last depend on arrival).
  const reading = fc.tuple(fc.integer({ min: 0, max: 20 * MIN }), fc.integer({ min: -1000, max: 1000 }));
  const readings = fc.uniqueArray(fc.tuple(reading, fc.integer({ min: 0, max: 45_000 })), { minLength: 1, maxLength: 60, selector: ([r]) => r[0] });
  const L = 45_000;

  for (const [name, size, hop] of [['tumbling 1m', MIN, MIN], ['hopping 3m/1m', 3 * MIN, MIN], ['tumbling 10s', 10_000, 10_000]] as const) {
    it(`${name}: any arrival order within the lateness gives the same final windows as event-time order`, () => {
      fc.assert(
        fc.property(readings, (xs) => {
          const inOrder = xs.map(([r]) => r).sort((a, b) => a[0] - b[0]);
          // Arrival by ts + delay, delay <= L: every reading is at most L behind the newest before it.
          const arrival = [...xs].sort((a, b) => a[0][0] + a[1] - (b[0][0] + b[1])).map(([r]) => r);
          const w = new TimeWindows(new HoppingAssigner(size, hop), new EventTimeTrigger(L));
          const got = run(w, arrival);
          expect(got.missed).toEqual([]);
          const want = finals(run(w, inOrder).out);
          expect(finals(got.out)).toEqual(want);
          expect(want).toEqual(reference(inOrder, size, hop));
        }),
        { numRuns: 200 },
      );
    });
  }
});
