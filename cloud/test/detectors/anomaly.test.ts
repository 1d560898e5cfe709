import { describe, expect, it } from 'vitest';
import { getDetectorPlugin } from '../../src/detectors/index.js';
import { AnomalyState, MODEL_DEFAULTS, initState, stateBytes, updateState } from '../../src/detectors/anomaly/model.js';
import { loadProcessorConfig } from '../../src/processor/config.js';
import { Effects, PartitionPipeline } from '../../src/processor/pipeline.js';
import { createRng } from '@fieldline/firmware-sim';

// Deterministic inputs: the simulator's seeded generator (mulberry32), Box–Muller on top.
const rng = (seed: number): (() => number) => createRng(seed).next;
function gauss(seed: number): () => number {
  const r = rng(seed);
  return () => Math.sqrt(-2 * Math.log(r() + 1e-300)) * Math.cos(2 * Math.PI * r());
}

const T0 = Date.UTC(2025, 0, 6);
const FIVE_MIN = 300_000;
const DAY_5MIN = 288;

/** Feeds a series to one model; returns where episodes opened and every score. */
function run(n: number, stepMs: number, value: (i: number) => number): { episodes: number[]; scores: number[]; state: AnomalyState } {
  const s = initState(MODEL_DEFAULTS);
  const episodes: number[] = [];
  const scores: number[] = [];
  let was = false;
  for (let i = 0; i < n; i++) {
    scores.push(updateState(s, MODEL_DEFAULTS, T0 + i * stepMs, value(i)));
    if (s.active && !was) episodes.push(i);
    was = s.active;
  }
  return { episodes, scores, state: s };
}

/** Alerts opened by the processor's pipeline with its default detectors, one reading per message. */
function pipelineAlerts(n: number, stepMs: number, value: (i: number) => number): { rule: string; at: number }[] {
  const p = new PartitionPipeline(loadProcessorConfig({}));
  const fx = new Effects();
  const out: { rule: string; at: number }[] = [];
  for (let i = 0; i < n; i++) {
    const ts = T0 + i * stepMs;
    p.process({ v: 1, device: 'd1', epoch: 'testepoch', seq: i + 1, clock: { synced: true, now: ts }, readings: [{ sensor: 's1', ts, value: value(i) }] }, fx);
    for (const a of fx.alerts) if (a.state === 'firing') out.push({ rule: a.rule, at: (a.start - T0) / stepMs });
    fx.clear();
  }
  return out;
}

describe('anomaly detector (the default)', () => {
  it('is calibrated on noise: three days at 1 Hz raise no episode, ordinary readings score about the prior', () => {
    const g = gauss(1);
    const { episodes, scores } = run(3 * 86_400, 1000, () => 20 + g());
    expect(episodes).toEqual([]);
    const sorted = [...scores].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]!).toBeLessThan(1e-4);
    expect(scores.reduce((m, x) => (x > m ? x : m), 0)).toBeLessThan(0.5);
  });

  it('a spike opens one episode at the spike, and the readings after it score low again', () => {
    const g = gauss(1);
    const { episodes, scores } = run(10_000, 1000, (i) => 20 + g() + (i === 5000 ? 15 : 0));
    expect(episodes).toEqual([5000]);
    expect(scores[5000]!).toBeGreaterThan(0.5);
    expect(Math.max(...scores.slice(5001, 5100))).toBeLessThan(0.1);
  });

  it('how large a single spike must be: ~10 sigma at 1 Hz, ~8 sigma every 5 minutes (one false episode a week allowed)', () => {
    const found = (stepMs: number, sigmas: number): number => {
      let hits = 0;
      for (let seed = 1; seed <= 20; seed++) {
        const g = gauss(seed);
        const s = initState(MODEL_DEFAULTS);
        for (let i = 0; i <= 5000; i++) updateState(s, MODEL_DEFAULTS, T0 + i * stepMs, 20 + g() + (i === 5000 ? sigmas : 0));
        if (s.active) hits++;
      }
      return hits;
    };
    expect(found(1000, 12)).toBeGreaterThanOrEqual(17);
    expect(found(1000, 6)).toBeLessThanOrEqual(3);
    expect(found(FIVE_MIN, 8)).toBe(20);
  });

  it('a level shift of 3 sigma is found within 16 readings, as one episode', () => {
    const g = gauss(1);
    const { episodes } = run(10_000, 1000, (i) => 20 + g() + (i >= 5000 ? 3 : 0));
    expect(episodes).toHaveLength(1);
    expect(episodes[0]!).toBeGreaterThanOrEqual(5000);
    expect(episodes[0]!).toBeLessThan(5016);
  });

  it('a drift away from where the sensor lived is found while it drifts (slow channel)', () => {
    const g = gauss(2);
    // CO2-like: 0.2 Hz, noise 8 ppm, a ramp of 500 ppm over 30 minutes after 14 hours.
    const start = 10_000;
    const { episodes } = run(20_000, 5000, (i) => Math.round(600 + 8 * g() + (i >= start && i < start + 360 ? (i - start) * 1.39 : 0)));
    expect(episodes[0]!).toBeGreaterThan(start);
    expect(episodes[0]!).toBeLessThan(start + 60);
  });

  it('a change of variance on a slow sensor is found', () => {
    const g = gauss(3);
    const { episodes } = run(5000, FIVE_MIN, (i) => 20 + g() * (i >= 3000 ? 4 : 1));
    expect(episodes.length).toBeGreaterThan(0);
    expect(episodes[0]!).toBeGreaterThanOrEqual(3000);
    expect(episodes[0]!).toBeLessThan(3010);
  });

  it('a broken daily pattern is found (seasonal channel), and the daily edges of a square wave are not', () => {
    const g = gauss(4);
    const day = (i: number): number => Math.floor(i / DAY_5MIN);
    // A daily sine that stays flat on day 10.
    const sine = run(14 * DAY_5MIN, FIVE_MIN, (i) => 50 + (day(i) === 10 ? 0 : 20 * Math.sin((2 * Math.PI * i) / DAY_5MIN)) + g());
    expect(sine.episodes).toHaveLength(1);
    expect(day(sine.episodes[0]!)).toBe(10);
    // A perfect square wave, 12 h up, 12 h down, for two weeks.
    expect(run(14 * DAY_5MIN, FIVE_MIN, (i) => (Math.floor(i / 144) % 2 ? 80 : 20)).episodes).toEqual([]);
  });

  it('is aware of the sample interval: after a gap, a random walk may have moved that far', () => {
    const g = gauss(5);
    let x = 0;
    const walk = (i: number): number => (x += g() + (i === 5000 ? 0 : 0));
    // 1 Hz readings with a 2-hour hole: the walk moves ~85 sigma-steps in that time.
    const s = initState(MODEL_DEFAULTS);
    const episodes: number[] = [];
    let was = false;
    for (let i = 0; i < 6000; i++) {
      const ts = T0 + i * 1000 + (i >= 5000 ? 7_200_000 : 0);
      const v = walk(i) + (i === 5000 ? 60 : 0);
      updateState(s, MODEL_DEFAULTS, ts, v);
      if (s.active && !was) episodes.push(i);
      was = s.active;
    }
    expect(episodes).toEqual([]);
  });

  it('is a pure function of its input, and its state per sensor is bounded (at most 8 KB)', () => {
    const series = (i: number): number => Math.sin(i / 50) * 10 + (i % 997 === 0 ? 40 : 0);
    const a = run(20_000, 1000, series);
    const b = run(20_000, 1000, series);
    expect(b.scores).toEqual(a.scores);
    for (const s of a.scores) expect(s >= 0 && s <= 1).toBe(true);
    expect(stateBytes(a.state)).toBeLessThanOrEqual(8192);
    // The state does not grow with the readings it has seen.
    expect(stateBytes(a.state)).toBe(stateBytes(initState(MODEL_DEFAULTS)));
  });

  it('its params are validated and its alert text says what was unusual', () => {
    const plugin = getDetectorPlugin('anomaly')!;
    expect(plugin.params.safeParse({ warmup: 5 }).success).toBe(false);
    expect(plugin.params.safeParse({ nope: 1 }).success).toBe(false);
    const d = plugin.create(plugin.params.parse({}));
    const st = d.init();
    const g = gauss(1);
    for (let i = 0; i < 3000; i++) d.update(st, T0 + i * 1000, 20 + g());
    const r = d.update(st, T0 + 3000_000, 40);
    expect(r.active).toBe(true);
    expect(d.describe(st, 40)).toMatch(/^value 40 is unusual for this sensor: a single reading against its recent values \(p ≈ [0-9.e-]+\)$/);
  });
});

describe('the old false alarms, through the pipeline with the default detectors', () => {
  it('repeated small integers every 5 minutes raise no alert', () => {
    const r = rng(11);
    // Counts 0..3 that repeat all the time (runs of 5-10 equal values are common).
    const alerts = pipelineAlerts(20 * DAY_5MIN, FIVE_MIN, () => Math.floor(r() * r() * 4));
    expect(alerts).toEqual([]);
  });

  it('a daily square wave raises no alert', () => {
    expect(pipelineAlerts(14 * DAY_5MIN, FIVE_MIN, (i) => (Math.floor(i / 144) % 2 ? 80 : 20))).toEqual([]);
  });

  it('a sensor constant from its first reading raises no alert', () => {
    expect(pipelineAlerts(4032, FIVE_MIN, () => 45)).toEqual([]);
  });

  it('but a sensor that stops changing is stuck, once', () => {
    const g = gauss(12);
    const alerts = pipelineAlerts(3000, 1000, (i) => (i >= 2000 && i < 2300 ? 21.37 : Math.round((21 + 0.3 * g()) * 100) / 100));
    // Stuck at its 20th unchanged reading: for this noisy sensor a run that long is rarer than one
    // in a million (flatline's rareRuns), while it still learns (cautiously) what its runs are.
    expect(alerts.filter((a) => a.rule === 'stuck')).toEqual([{ rule: 'stuck', at: 2019 }]);
  });
});
