/**
 * Window state through a checkpoint: a key snapshotted at any point of any input and restored
 * computes bit for bit what the original does on the rest of the input (tumbling, hopping,
 * sliding and count windows, the rollup windows and the `window` detector); bytes that do not
 * hold together are refused, never read past.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getDetectorPlugin } from '../../src/detectors/index.js';
import type { WindowDetector } from '../../src/detectors/window/index.js';
import { RollupWindows, type RollupKey } from '../../src/rollups/rollup-windows.js';
import { WindowAggregate } from '../../src/windows/aggregate.js';
import { CountWindows } from '../../src/windows/count.js';
import { EventTimeTrigger } from '../../src/windows/event-time-trigger.js';
import { HoppingAssigner } from '../../src/windows/hopping.js';
import { SlidingWindows } from '../../src/windows/sliding.js';
import { TimeWindows } from '../../src/windows/time-windows.js';
import { readCountKey, readSlidingKey, readTimeWindowsKey, writeCountKey, writeSlidingKey, writeTimeWindowsKey, type StateIn, type StateOut } from '../../src/windows/window-state.js';

/** The checkpoint codec's shape over float64 bytes (a DataView), as the real one writes them. */
class Out implements StateOut {
  private bytes: number[] = [];
  u8(x: number): void {
    this.bytes.push(x & 0xff);
  }
  u32(x: number): void {
    const b = new DataView(new ArrayBuffer(4));
    b.setUint32(0, x, true);
    this.bytes.push(...new Uint8Array(b.buffer));
  }
  f64(x: number): void {
    const b = new DataView(new ArrayBuffer(8));
    b.setFloat64(0, x, true);
    this.bytes.push(...new Uint8Array(b.buffer));
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

class In implements StateIn {
  private at = 0;
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  get remaining(): number {
    return this.buf.length - this.at;
  }
  private need(n: number, what: string): void {
    if (this.at + n > this.buf.length) throw new RangeError(`truncated: ${what}`);
  }
  u8(what = 'byte'): number {
    this.need(1, what);
    return this.view.getUint8(this.at++);
  }
  count(what: string, itemBytes: number): number {
    this.need(4, what);
    const n = this.view.getUint32(this.at, true);
    this.at += 4;
    if (n * itemBytes > this.remaining) throw new RangeError(`${what} ${n} does not fit`);
    return n;
  }
  f64(what = 'number'): number {
    this.need(8, what);
    const x = this.view.getFloat64(this.at, true);
    this.at += 8;
    return x;
  }
}

function roundTrip<K>(write: (w: StateOut, k: K) => void, read: (r: StateIn) => K, key: K): K {
  const w = new Out();
  write(w, key);
  const r = new In(w.finish());
  const back = read(r);
  expect(r.remaining).toBe(0);
  return back;
}

const aggText = (a: WindowAggregate): string => [a.count, a.sum, a.min, a.max, a.first, a.firstTs, a.last, a.lastTs].map((x) => Object.is(x, -0) ? '-0' : String(x)).join(',');

const MIN = 60_000;
/** Readings of one key: [ts, value] with device times that move on, out of order within ~40 s. */
const input = fc.array(fc.tuple(fc.integer({ min: 0, max: 30 * MIN }), fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.integer({ min: 0, max: 40_000 })), { minLength: 1, maxLength: 120 });

describe('window state through a checkpoint (fast-check)', () => {
  for (const [name, assigner] of [
    ['tumbling 1 m', HoppingAssigner.tumbling(MIN)],
    ['hopping 5 m every 1 m', new HoppingAssigner(5 * MIN, MIN)],
  ] as const) {
    it(`${name}: a restored key emits what the original emits on the rest of the input`, () => {
      fc.assert(
        fc.property(input, fc.nat(), (xs, cut) => {
          const tw = new TimeWindows(assigner, new EventTimeTrigger(15_000));
          const sorted = [...xs].sort((a, b) => a[0] - b[0]);
          const device = (i: number): number => sorted[i]![0] + sorted[i]![2];
          const log: string[][] = [[], []];
          const emitTo = (j: number) => (s: number, e: number, agg: WindowAggregate, late: boolean) => log[j]!.push(`${s} ${e} ${late} ${aggText(agg)}`);
          const a = TimeWindows.newKey();
          const at = cut % (xs.length + 1);
          let dt = -Infinity;
          for (let i = 0; i < at; i++) {
            tw.add(a, xs[i]![0], xs[i]![1], dt, emitTo(0));
            dt = Math.max(dt, device(Math.min(i, sorted.length - 1)));
            tw.advance(a, dt, emitTo(0));
          }
          const b = roundTrip(writeTimeWindowsKey, readTimeWindowsKey, a);
          log[0] = [];
          for (const [j, k] of [a, b].entries()) {
            let t = dt;
            for (let i = at; i < xs.length; i++) {
              tw.add(k, xs[i]![0], xs[i]![1], t, emitTo(j));
              t = Math.max(t, device(Math.min(i, sorted.length - 1)));
              tw.advance(k, t, emitTo(j));
            }
            tw.advance(k, t + 3_600_000, emitTo(j));
          }
          expect(log[1]).toEqual(log[0]);
        }),
        { numRuns: 150 },
      );
    });
  }

  it('sliding: a restored key gives the same aggregate after every later reading, bit for bit', () => {
    fc.assert(
      fc.property(input, fc.nat(), (xs, cut) => {
        const sw = new SlidingWindows(2 * MIN);
        const a = SlidingWindows.newKey();
        const at = cut % (xs.length + 1);
        for (const [ts, v] of xs.slice(0, at)) sw.add(a, ts, v);
        const b = roundTrip(writeSlidingKey, readSlidingKey, a);
        for (const [ts, v] of xs.slice(at)) {
          sw.add(a, ts, v);
          sw.add(b, ts, v);
          expect(aggText(sw.aggregate(b, new WindowAggregate()))).toBe(aggText(sw.aggregate(a, new WindowAggregate())));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('count: a restored key places and emits what the original does', () => {
    fc.assert(
      fc.property(input, fc.nat(), (xs, cut) => {
        const cw = new CountWindows(7, new EventTimeTrigger(20_000));
        const a = CountWindows.newKey();
        const at = cut % (xs.length + 1);
        let dt = -Infinity;
        const step = (k: typeof a, i: number, out: string[]): void => {
          cw.add(k, xs[i]![0], xs[i]![1], dt);
          dt = Math.max(dt, xs[i]![0] + xs[i]![2]);
          cw.advance(k, dt, (n, agg) => out.push(`${n} ${aggText(agg)}`));
        };
        for (let i = 0; i < at; i++) step(a, i, []);
        const b = roundTrip(writeCountKey, readCountKey, a);
        const start = dt;
        const outs: string[][] = [[], []];
        for (const [j, k] of [a, b].entries()) {
          dt = start;
          for (let i = at; i < xs.length; i++) step(k, i, outs[j]!);
          cw.advance(k, dt + 3_600_000, (n, agg) => outs[j]!.push(`${n} ${aggText(agg)}`));
        }
        expect(outs[1]).toEqual(outs[0]);
      }),
      { numRuns: 150 },
    );
  });
});

describe('rollup windows and the window detector through a checkpoint', () => {
  it('rollups: every tier restored; no key yet stays none; another tier count is refused', () => {
    const rw = new RollupWindows([MIN, 60 * MIN], 15_000);
    const lines: string[][] = [[], []];
    const out = (j: number) => ({ window: (tier: number, start: number, agg: WindowAggregate) => lines[j]!.push(`w ${tier} ${start} ${aggText(agg)}`), repair: (tier: number, start: number) => lines[j]!.push(`r ${tier} ${start}`) });
    const a = rw.newKey();
    for (let t = 0; t < 90 * MIN; t += 7_000) {
      rw.add(a, t, Math.sin(t), t, out(0));
      rw.advance(a, t, out(0));
    }
    const w = new Out();
    rw.snapshot(a, w);
    rw.snapshot(undefined, w);
    const r = new In(w.finish());
    const b = rw.restore(r) as RollupKey;
    expect(rw.restore(r)).toBeUndefined();
    expect(r.remaining).toBe(0);
    lines[0] = [];
    for (const [j, k] of [a, b].entries()) {
      for (let t = 90 * MIN; t < 200 * MIN; t += 7_000) {
        rw.add(k, t, Math.cos(t), t, out(j));
        // A reading late within the lateness, and one beyond it (a repair).
        if (t % 70_000 === 0) rw.add(k, t - 10_000, 1.5, t, out(j));
        if (t % 700_000 === 0) rw.add(k, t - 5 * MIN, 2.5, t, out(j));
        rw.advance(k, t, out(j));
      }
    }
    expect(lines[0]!.length).toBeGreaterThan(100);
    expect(lines[1]).toEqual(lines[0]);
    const one = new Out();
    const single = new RollupWindows([MIN], 15_000);
    single.snapshot(single.newKey(), one);
    expect(() => rw.restore(new In(one.finish()))).toThrow(/2 tiers|1 tiers/);
  });

  const detector = (params: Record<string, unknown>): WindowDetector => {
    const plugin = getDetectorPlugin('window')!;
    return plugin.create(plugin.params.parse(params)) as WindowDetector;
  };

  for (const params of [
    { window: { kind: 'tumbling', size: '1m' }, aggregate: 'count', condition: { below: 50 } },
    { window: { kind: 'hopping', size: '5m', hop: '1m' }, aggregate: 'spread', condition: { above: 2, hysteresis: 0.2 }, latenessMs: 10_000 },
    { window: { kind: 'sliding', size: '30s' }, aggregate: 'rate', condition: { above: 0.05 } },
  ]) {
    it(`window detector (${params.window.kind} ${params.aggregate}): restored mid-stream, the same results and messages after`, () => {
      const d = detector(params);
      // 1 Hz with a gap, a burst and a few readings out of order.
      const series: [number, number][] = [];
      for (let i = 0; i < 1500; i++) if (i < 400 || i > 520) series.push([i * 1000 + (i % 13 === 0 ? -3_000 : 0), 20 + (i > 900 && i < 1100 ? 4 * Math.sin(i) : 0.1 * Math.sin(i / 7))]);
      const cut = 700;
      const a = d.init();
      for (const [ts, v] of series.slice(0, cut)) d.update(a, ts, v);
      const w = new Out();
      d.snapshot(a, w);
      const r = new In(w.finish());
      const b = d.restore(r);
      expect(r.remaining).toBe(0);
      const run = (s: typeof a) => [...series.slice(cut).map(([ts, v]) => ({ ...d.update(s, ts, v), m: d.describe(s, v) })), { ...d.onSilence!(s, 2_000_000), m: d.describe(s, 0) }];
      const want = run(a);
      expect(want.some((x) => x.active)).toBe(true);
      expect(run(b)).toEqual(want);
    });
  }

  it('refuses state of another version or one that does not hold together', () => {
    const d = detector({ window: { kind: 'sliding', size: '30s' }, aggregate: 'mean', condition: { above: 1 } });
    const s = d.init();
    for (let t = 0; t < 10_000; t += 1000) d.update(s, t, t);
    const w = new Out();
    d.snapshot(s, w);
    const bytes = w.finish();
    const bad = bytes.slice();
    bad[0] = 9;
    expect(() => d.restore(new In(bad))).toThrow(/version 9/);
    expect(() => d.restore(new In(bytes.subarray(0, bytes.length - 3)))).toThrow();
    // A head index past the readings.
    const k = SlidingWindows.newKey();
    new SlidingWindows(1000).add(k, 0, 1);
    k.head = 5;
    const o = new Out();
    writeSlidingKey(o, k);
    expect(() => readSlidingKey(new In(o.finish()))).toThrow(/does not hold together/);
  });
});
