import { describe, expect, it } from 'vitest';
import { generateSamples, loadScenario, type Sample } from '../src/index.js';

const yaml = `name: gen
start: 2025-01-01T00:00:00Z
duration: 2m
devices:
  - id: d1
    boards:
      - id: b1
        protocol: jsonl
        hz: 10
        channels:
          - { name: temp, model: temperature, noise: 0.02 }
          - { name: vib, model: vibration }
        anomalies:
          - { kind: spike, channel: temp, at: 30s, duration: 2s, magnitude: 25 }
          - { kind: dropout, channel: vib, at: 60s, duration: 10s }
          - { kind: stuck, channel: temp, at: 90s, duration: 10s }
  - id: d2
    boards:
      - id: b1
        protocol: csv
        hz: 0.5
        channels:
          - { name: co2, model: co2 }
`;

describe('generateSamples', () => {
  const scenario = loadScenario(yaml);
  const t0 = scenario.start;

  it('yields every sample in time order with units, and is deterministic per seed', () => {
    const a = [...generateSamples(scenario, { seed: 7 })];
    expect(a.length).toBe(120 * 10 * 2 - 10 * 10 + 60);
    for (let i = 1; i < a.length; i++) expect(a[i]!.ts).toBeGreaterThanOrEqual(a[i - 1]!.ts);
    expect(a[0]).toEqual({ device: 'd1', sensor: 'temp', ts: t0, value: expect.any(Number), unit: 'C' });
    expect([...generateSamples(scenario, { seed: 7 })]).toEqual(a);
    const b = [...generateSamples(scenario, { seed: 8 })];
    expect(b.map((s) => s.value)).not.toEqual(a.map((s) => s.value));
  });

  it('a window gives the same samples as the whole run', () => {
    const all = [...generateSamples(scenario, { seed: 3 })];
    const part = [...generateSamples(scenario, { seed: 3, from: t0 + 40_000, until: t0 + 50_000 })];
    expect(part).toEqual(all.filter((s) => s.ts >= t0 + 40_000 && s.ts < t0 + 50_000));
  });

  it('ground truth labels each anomaly, and the spike readings lie inside its interval', () => {
    const run = generateSamples(scenario, { seed: 11 });
    expect(run.groundTruth).toEqual([
      { device: 'd1', sensor: 'temp', kind: 'spike', start: t0 + 30_000, end: t0 + 32_000 },
      { device: 'd1', sensor: 'vib', kind: 'dropout', start: t0 + 60_000, end: t0 + 70_000 },
      { device: 'd1', sensor: 'temp', kind: 'stuck', start: t0 + 90_000, end: t0 + 100_000 },
    ]);
    const temps = [...run].filter((s) => s.sensor === 'temp');
    const spike = run.groundTruth[0]!;
    // Normal temperature is 21 ± 3 (daily) with 0.02 noise; the spike adds 25.
    const high = temps.filter((s) => s.value > 35);
    expect(high.length).toBe(20);
    for (const s of high) expect(s.ts >= spike.start && s.ts < spike.end).toBe(true);
    const vib = [...run].filter((s: Sample) => s.sensor === 'vib');
    expect(vib.some((s) => s.ts >= t0 + 60_000 && s.ts < t0 + 70_000)).toBe(false);
    const stuck = temps.filter((s) => s.ts >= t0 + 90_000 && s.ts < t0 + 100_000);
    expect(new Set(stuck.map((s) => s.value)).size).toBe(1);
  });

  it('needs an end when the scenario has none', () => {
    const open = loadScenario(yaml.replace('duration: 2m\n', ''));
    expect(() => generateSamples(open, { seed: 1 })).toThrow(/give `until`/);
  });
});
