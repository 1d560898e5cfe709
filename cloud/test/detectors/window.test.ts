import { describe, expect, it } from 'vitest';
import { detectorEntrySchema } from '../../src/detectors/config.js';
import { getDetectorPlugin } from '../../src/detectors/index.js';
import type { Detector, DetectorResult } from '../../src/detectors/types.js';
import { stepAlert, AlertState } from '../../src/alerts/alert-state.js';

const plugin = getDetectorPlugin('window')!;
const make = (params: Record<string, unknown>): Detector => plugin.create(plugin.params.parse(params));
const S = 1000;
const MIN = 60_000;

function feed(d: Detector, series: [number, number][]): (DetectorResult & { message: string })[] {
  const s = d.init();
  return series.map(([ts, v]) => ({ ...d.update(s, ts, v), message: d.describe(s, v) }));
}

/** 1 reading/s from t0 for n seconds, value f(t). */
const series = (t0: number, n: number, f: (t: number) => number, stepMs = S): [number, number][] => Array.from({ length: n }, (_, i) => [t0 + i * stepMs, f(t0 + i * stepMs)]);

describe('window rule (type: window)', () => {
  it('validates its params, naming the key', () => {
    const issues = (params: unknown) => detectorEntrySchema.safeParse({ rule: 'r', type: 'window', params }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ window: { kind: 'hopping', size: '5m' }, aggregate: 'mean', condition: { above: 1 } })).toEqual(['params.window.hop: required for a hopping window']);
    expect(issues({ window: { kind: 'hopping', size: '5m', hop: '2m' }, aggregate: 'mean', condition: { above: 1 } })).toEqual(['params.window.hop: must divide the size (5m)']);
    expect(issues({ window: { kind: 'tumbling', size: '1m' }, aggregate: 'median', condition: { above: 1 } })?.[0]).toMatch(/^params\.aggregate: Invalid enum value/);
    expect(issues({ window: { kind: 'tumbling', size: '1m' }, aggregate: 'mean', condition: {} })).toEqual(['params.condition: needs above or below']);
    expect(issues({ window: { kind: 'sliding', size: '1m' }, aggregate: 'max', condition: { below: 3 }, extra: 1 })?.[0]).toMatch(/Unrecognized key/);
  });

  it('tumbling mean above a limit: judged when the window closes, alert at the window end, hysteresis to clear', () => {
    // 5-minute mean of temp above 30: 28 for 10 min, 32 for 10 min, 29.5 (inside the 1-degree band) for 5, then 28.
    const f = (t: number) => (t < 10 * MIN ? 28 : t < 20 * MIN ? 32 : t < 25 * MIN ? 29.5 : 28);
    const r = feed(make({ window: { kind: 'tumbling', size: '5m' }, aggregate: 'mean', condition: { above: 30, hysteresis: 1 } }), series(0, 40 * 60, f));
    const judged = r.map((x, i) => ({ i, ...x })).filter((x) => x.at !== undefined);
    expect(judged.map((x) => [x.at! / MIN, x.active])).toEqual([[5, false], [10, false], [15, true], [20, true], [25, true], [30, false], [35, false]]);
    // Judged by the first reading of the next window.
    expect(judged[2]!.i).toBe(15 * 60);
    expect(judged[2]!.score).toBeGreaterThan(0.99);
    expect(judged[0]!.score).toBeLessThan(0.01);
    // Readings that close no window say nothing: score 0, the episode carried by `active`.
    expect(r[15 * 60 + 1]).toMatchObject({ score: 0, active: true });
    expect(judged[2]!.message).toBe('5m mean 32 in the window ending 1970-01-01T00:15:00.000Z beyond limit (above 30)');
  });

  it('scores 0.5 where the condition starts and near 0 for ordinary windows', () => {
    const d = make({ window: { kind: 'tumbling', size: '10s' }, aggregate: 'max', condition: { above: 100, hysteresis: 10 } });
    const at = (v: number) => feed(d, [[0, v], [10_000, 0]])[1]!.score;
    expect(at(100)).toBeCloseTo(0.5, 1);
    expect(at(100.001)).toBeGreaterThanOrEqual(0.5);
    expect(at(99.999)).toBeLessThan(0.5);
    expect(at(50)).toBeLessThan(1e-6);
    expect(at(130)).toBeGreaterThan(0.99);
  });

  it('count below a limit fires on a gap: windows with no reading at all count 0', () => {
    // Fewer than 50 readings a minute: 1 Hz, then nothing for 3 minutes, then 1 Hz again.
    const readings = [...series(0, 120, () => 1), ...series(5 * MIN, 180, () => 1)];
    const r = feed(make({ window: { kind: 'tumbling', size: '1m' }, aggregate: 'count', condition: { below: 50 } }), readings);
    const judged = r.filter((x) => x.at !== undefined).map((x) => [x.at! / MIN, x.active]);
    // The reading at 5 min judges [1, 2) only; the one at 6 min judges the empty [2, 3) and [5, 6)
    // at once: the episode opens at 3 min, and the next readings clear it.
    expect(judged).toEqual([[1, false], [2, false], [3, true], [7, false]]);
    // …and when the sensor falls silent altogether (the pipeline's dropout):
    const d = make({ window: { kind: 'tumbling', size: '1m' }, aggregate: 'count', condition: { below: 50 } });
    const s = d.init();
    for (const [t, v] of series(0, 90, () => 1)) d.update(s, t, v);
    expect(d.onSilence!(s, 3 * MIN)).toMatchObject({ active: true, at: 2 * MIN });
  });

  it('hopping spread: each window of size judged every hop', () => {
    // Spread over 10 minutes above 2, every minute: a noisy burst from 20 to 23 min.
    const f = (t: number) => 20 + (t >= 20 * MIN && t < 23 * MIN ? ((t / S) % 2 ? 2 : -2) : ((t / S) % 2) * 0.1);
    const r = feed(make({ window: { kind: 'hopping', size: '10m', hop: '1m' }, aggregate: 'spread', condition: { above: 2 } }), series(0, 40 * 60, f));
    const judged = r.filter((x) => x.at !== undefined);
    const active = judged.filter((x) => x.active).map((x) => x.at! / MIN);
    // Every window holding a minute of the burst: ends 21..32.
    expect(active).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32]);
    expect(judged[0]!.at).toBe(MIN);
  });

  it('sliding rate: judged at every reading over the last size', () => {
    // Change per second over the last 30 s above 0.5: a ramp of 1/s for 20 s.
    const f = (t: number) => (t >= 60 * S && t < 80 * S ? (t - 60 * S) / S : t >= 80 * S ? 20 : 0);
    const r = feed(make({ window: { kind: 'sliding', size: '30s' }, aggregate: 'rate', condition: { above: 0.5 } }), series(0, 150, f));
    // The first reading has no rate (one reading): nothing judged.
    expect(r.slice(1).every((x) => x.at !== undefined)).toBe(true);
    const on = r.findIndex((x) => x.active);
    const off = r.findIndex((x, i) => i > on && !x.active);
    // Over (t − 30 s, t] the first reading is t − 29 s: on at 75 s ((15 − 0) / 29 s = 0.52),
    // off at 95 s ((20 − 6) / 29 s = 0.48).
    expect([on, off]).toEqual([75, 95]);
  });

  it('with the alert lifecycle: one alert per episode, starting and ending at window ends', () => {
    const f = (t: number) => (t >= 10 * MIN && t < 16 * MIN ? 35 : 25);
    const d = make({ window: { kind: 'tumbling', size: '2m' }, aggregate: 'mean', condition: { above: 30 } });
    const s = d.init();
    const st = new AlertState();
    const transitions: unknown[] = [];
    for (const [t, v] of series(0, 30 * 60, f)) {
      const res = d.update(s, t, v);
      const tr = stepAlert(st, res.at ?? t, res, { clearMs: 10_000, clearReadings: 5 });
      if (tr) transitions.push([tr.state, tr.start / MIN, tr.end === undefined ? undefined : tr.end / MIN]);
    }
    expect(transitions).toEqual([['firing', 12, undefined], ['resolved', 12, 18]]);
  });
});
