import { describe, expect, it } from 'vitest';
import { DetectorResolver, detectorEntrySchema } from '../../src/detectors/config.js';
import { detectorTypes, getDetectorPlugin } from '../../src/detectors/index.js';
import type { Detector, DetectorResult } from '../../src/detectors/types.js';

function make(type: string, params: Record<string, unknown>): Detector {
  const plugin = getDetectorPlugin(type)!;
  return plugin.create(plugin.params.parse(params));
}

function feed(d: Detector, series: [number, number][]): (DetectorResult & { message: string })[] {
  const s = d.init();
  return series.map(([ts, v]) => ({ ...d.update(s, ts, v), message: d.describe(s, v) }));
}

describe('detector plugins', () => {
  it('registers every built-in detector', () => {
    expect(detectorTypes().sort()).toEqual(['anomaly', 'baseline', 'dropout', 'flatline', 'rate-of-change', 'threshold', 'window']);
  });

  it('conformance: every detector gives scores in [0,1] and is a pure function of its inputs', () => {
    const params: Record<string, Record<string, unknown>> = {
      threshold: { above: 5, hysteresis: 1 },
      baseline: { warmup: 5 },
      'rate-of-change': { maxPerSecond: 2 },
      flatline: { minReadings: 3 },
      dropout: {},
      anomaly: { warmup: 20 },
      window: { window: { kind: 'hopping', size: '20s', hop: '5s' }, aggregate: 'mean', condition: { above: 4, hysteresis: 1 } },
    };
    const series: [number, number][] = Array.from({ length: 200 }, (_, i) => [i * 1000, i % 50 === 0 ? 1e6 : Math.sin(i / 5) * 3 + (i > 150 ? 7 : 0)]);
    for (const type of detectorTypes()) {
      const a = feed(make(type, params[type]!), series);
      const b = feed(make(type, params[type]!), series);
      expect(b, type).toEqual(a);
      for (const r of a) {
        expect(r.score, type).toBeGreaterThanOrEqual(0);
        expect(r.score, type).toBeLessThanOrEqual(1);
        expect(typeof r.message, type).toBe('string');
      }
    }
  });

  it('threshold with hysteresis stays active until the value is back inside the band', () => {
    const r = feed(make('threshold', { above: 10, hysteresis: 2 }), [[0, 5], [1, 11], [2, 9], [3, 8.5], [4, 7.9], [5, 9]]);
    expect(r.map((x) => x.active)).toEqual([false, true, true, true, false, false]);
    expect(r[1]!.score).toBe(1);
    expect(r[4]!.score).toBeLessThan(0.5);
  });

  it('threshold below fires on low values', () => {
    const r = feed(make('threshold', { below: 0 }), [[0, 1], [1, -1], [2, 0.5]]);
    expect(r.map((x) => x.active)).toEqual([false, true, false]);
  });

  it('baseline flags a spike far outside the robust spread and is not dragged by it', () => {
    const series: [number, number][] = Array.from({ length: 100 }, (_, i) => [i * 1000, 20 + (i % 2 ? 0.1 : -0.1)]);
    series.push([100_000, 40], [101_000, 20.1], [102_000, 19.9]);
    const r = feed(make('baseline', { warmup: 10, z: 4 }), series);
    expect(r.slice(0, 100).every((x) => !x.active)).toBe(true);
    expect(r[100]!.active).toBe(true);
    expect(r[100]!.score).toBeGreaterThan(0.9);
    expect(r[102]!.active).toBe(false);
  });

  it('rate of change uses event time and ignores out-of-order steps', () => {
    const r = feed(make('rate-of-change', { maxPerSecond: 1 }), [[0, 0], [1000, 0.5], [2000, 5], [1500, 100], [3000, 5.2]]);
    expect(r.map((x) => x.active)).toEqual([false, false, true, true, false]);
    // Half the limit scores (1/2)^8 / (1 + (1/2)^8): ordinary readings stay near 0.
    expect(r[1]!.score).toBeCloseTo(1 / 257, 6);
    expect(r[2]!.score).toBeGreaterThan(0.99);
  });

  it('flatline counts readings relative to the sensor\'s own runs and needs forMs of event time', () => {
    // A sensor that changes every reading, then sticks: stuck after minReadings (its runs are 1 long).
    const series: [number, number][] = Array.from({ length: 300 }, (_, i) => [i * 1000, i % 3]);
    for (let i = 0; i < 30; i++) series.push([(300 + i) * 1000, 7]);
    series.push([330_000, 1]);
    const r = feed(make('flatline', { minReadings: 10, forMs: 5000 }), series);
    const onset = r.findIndex((x) => x.active);
    // The 20th reading of the run of 7s: after 300 runs of one reading (and a cautious tail
    // for so young a history), a run of 20 is rarer than one in a million runs.
    expect(onset).toBe(319);
    expect(r[onset]!.score).toBe(1); // the news…
    expect(r[onset + 1]!).toMatchObject({ active: true, score: 0 }); // …then the episode, carried by the alert
    expect(r[onset]!.message).toMatch(/value 7 unchanged for 20 readings/);
    expect(r.at(-1)!.active).toBe(false);
    // forMs: the same run at 100 ms spacing lasts only 0.9 s, not stuck yet.
    const fast = feed(make('flatline', { minReadings: 10, forMs: 5000 }), series.map(([t, v]) => [t / 10, v]));
    // (30 readings at 100 ms last 2.9 s < forMs)
    expect(fast.some((x) => x.active)).toBe(false);
  });

  it('flatline never fires on a sensor constant from the start, and learns long plateaus', () => {
    const flat = feed(make('flatline', {}), Array.from({ length: 5000 }, (_, i) => [i * 300_000, 45]));
    expect(flat.some((x) => x.active)).toBe(false);
    // A daily square wave: plateaus of 144 readings, over and over, are what this sensor does.
    const square = feed(make('flatline', {}), Array.from({ length: 4032 }, (_, i) => [i * 300_000, Math.floor(i / 144) % 2 ? 80 : 20]));
    expect(square.some((x) => x.active)).toBe(false);
  });

  it('dropout fires on silence and clears on the next reading', () => {
    const d = make('dropout', {});
    const s = d.init();
    expect(d.onSilence!(s, 1000)).toMatchObject({ active: true, score: 1 });
    expect(d.update(s, 2000, 3)).toMatchObject({ active: false, score: 0 });
  });
});

describe('detector config', () => {
  it('names the offending key of a bad entry', () => {
    const bad = detectorEntrySchema.safeParse({ rule: 'r', type: 'threshold', params: { abov: 3 } });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error!.issues)).toMatch(/params/);
    const unknown = detectorEntrySchema.safeParse({ rule: 'r', type: 'nope' });
    expect(unknown.error!.issues[0]!.message).toMatch(/unknown detector "nope"/);
  });

  it('resolves per sensor kind with per-sensor overrides (most specific wins)', () => {
    const entries = [
      { rule: 'hot', type: 'threshold', match: { sensor: 'temp*' }, params: { above: 30 } },
      { rule: 'hot', type: 'threshold', match: { device: 'd1', sensor: 'temp1' }, severity: 'critical', params: { above: 50 } },
      { rule: 'stuck', type: 'flatline', match: { unit: 'C' }, params: { forMs: 1000 } },
    ].map((e) => detectorEntrySchema.parse(e));
    const r = new DetectorResolver(entries);
    expect(r.resolve('d1', 'temp1', 'C').map((b) => [b.rule, b.severity])).toEqual([['hot', 'critical'], ['stuck', 'warning']]);
    expect(r.resolve('d2', 'temp1', undefined).map((b) => [b.rule, b.severity])).toEqual([['hot', 'warning']]);
    expect(r.resolve('d2', 'hum', 'C').map((b) => b.rule)).toEqual(['stuck']);
    // Sensors with the same choice share one detector list (state stays per sensor).
    expect(r.resolve('d3', 'temp9', undefined)).toBe(r.resolve('d2', 'temp1', undefined));
  });
});
