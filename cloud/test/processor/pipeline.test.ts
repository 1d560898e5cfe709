import type { Envelope, Reading } from '@fieldline/contract';
import { describe, expect, it } from 'vitest';
import { detectorEntrySchema } from '../../src/detectors/config.js';
import { Effects, PartitionPipeline, type PipelineConfig } from '../../src/processor/pipeline.js';

const cfg = (over: Partial<PipelineConfig['windows']> = {}): PipelineConfig => ({
  windows: { gapMs: 10_000, maxLengthMs: 3_600_000, allowedLatenessMs: 5_000, deviceSilenceMs: 60_000, ...over },
  detectors: [
    { rule: 'hot', type: 'threshold', severity: 'critical', params: { above: 50 } },
    { rule: 'dropout', type: 'dropout' },
  ].map((e) => detectorEntrySchema.parse(e)),
  alerts: { anomalyScore: 0.5, clearMs: 0, clearReadings: 1 },
});

const seqs = new Map<string, number>();
function env(device: string, readings: Reading[], now?: number): Envelope {
  const seq = (seqs.get(device) ?? 0) + 1;
  seqs.set(device, seq);
  return { v: 1, device, epoch: 'epoch0001', seq, clock: { synced: true, now: now ?? readings.at(-1)?.ts ?? 0 }, readings };
}
const r = (sensor: string, ts: number, value = 20): Reading => ({ sensor, ts, value });

function run(p: PartitionPipeline, envs: Envelope[]): Effects {
  const fx = new Effects();
  for (const e of envs) p.process(e, fx);
  return fx;
}

describe('partition pipeline (pure)', () => {
  it('a heartbeat closes a silent sensor as dropout and raises a dropout alert that resolves when it reports', () => {
    const p = new PartitionPipeline(cfg());
    const fx = run(p, [
      env('d1', [r('a', 0), r('b', 0), r('a', 1000), r('b', 1000)]),
      env('d1', [r('b', 2000), r('b', 20_000)]),
      env('d1', [], 40_000), // heartbeat
      env('d1', [r('a', 41_000)]),
    ]);
    expect(fx.sessions.map((s) => [s.sensor, s.start, s.end, s.count, s.closedBy])).toEqual([
      ['a', 0, 1000, 2, 'dropout'],
      ['b', 0, 2000, 3, 'gap'],
      ['b', 20_000, 20_000, 1, 'dropout'],
    ]);
    const alerts = fx.alerts.map((a) => [a.sensor, a.rule, a.state, a.start, a.end]);
    expect(alerts).toEqual([
      ['a', 'dropout', 'firing', 11_000, undefined],
      ['b', 'dropout', 'firing', 30_000, undefined],
      ['a', 'dropout', 'resolved', 11_000, 41_000],
    ]);
    expect(fx.alerts[0]!.id).toBe('d1:a:dropout:11000');
  });

  it('an unsynced heartbeat clock does not move event time', () => {
    const p = new PartitionPipeline(cfg());
    const hb: Envelope = { ...env('d1', [r('a', 0)]) };
    const fx = run(p, [hb, { ...env('d1', []), clock: { synced: false, now: 1e12 } }]);
    expect(fx.sessions).toEqual([]);
  });

  it('a device silent altogether is closed against its partition event time', () => {
    const p = new PartitionPipeline(cfg());
    // Two messages tell how often 'quiet' reports (one would not: a device needs two to fall silent).
    const fx = run(p, [env('quiet', [r('a', 0)]), env('quiet', [r('a', 1000)]), env('busy', [r('x', 0)]), ...Array.from({ length: 20 }, (_, i) => env('busy', [r('x', 5000 * (i + 1))]))]);
    expect(fx.sessions.filter((s) => s.device === 'quiet').map((s) => s.closedBy)).toEqual(['dropout']);
    expect(fx.alerts.filter((a) => a.device === 'quiet').map((a) => [a.rule, a.state])).toEqual([['dropout', 'firing']]);
  });

  it('event time is per device: a device replaying an old backlog is not late', () => {
    const p = new PartitionPipeline(cfg());
    const fx = run(p, [env('now', [r('a', 3_600_000)]), env('old', [r('a', 0), r('a', 1000)])]);
    expect(fx.late).toBe(0);
  });

  it('readings beyond the allowed lateness go to late_readings (and readings), counted, not windowed', () => {
    const p = new PartitionPipeline(cfg());
    const fx = run(p, [env('d1', [r('a', 100_000)]), env('d1', [r('a', 90_000, 99)])]);
    expect(fx.late).toBe(1);
    expect(fx.points.lines.filter((l) => l.startsWith('late_readings,'))).toEqual(['late_readings,device=d1,sensor=a value=99,lateness_ms=10000i 90000000000']);
    expect(fx.points.lines.filter((l) => l.startsWith('readings,'))).toHaveLength(2);
  });

  it('reading lines are sparse: quality only when not good, unit on the first reading of each sensor per envelope and where it changes', () => {
    const p = new PartitionPipeline(cfg());
    const u = (sensor: string, ts: number, unit?: string, quality?: Reading['quality']): Reading => ({ sensor, ts, value: 1.5, unit, quality });
    const lines = (fx: Effects): string[] => fx.points.lines.filter((l) => l.startsWith('readings,'));
    const first = run(p, [env('d1', [u('a', 0, 'C'), u('b', 0, 'bar', 'good'), u('a', 1000, 'C', 'bad'), u('a', 2000, 'F'), u('b', 2000, 'bar', 'uncertain')])]);
    expect(lines(first)).toEqual([
      'readings,device=d1,sensor=a value=1.5,score=0,unit="C" 0',
      'readings,device=d1,sensor=b value=1.5,score=0,unit="bar" 0',
      'readings,device=d1,sensor=a value=1.5,score=0,quality="bad" 1000000000',
      'readings,device=d1,sensor=a value=1.5,score=0,unit="F" 2000000000',
      'readings,device=d1,sensor=b value=1.5,score=0,quality="uncertain" 2000000000',
    ]);
    // The next envelope starts over: its first reading of a sensor carries the unit again.
    expect(lines(run(p, [env('d1', [u('a', 3000, 'F'), u('a', 4000, 'F')])]))).toEqual([
      'readings,device=d1,sensor=a value=1.5,score=0,unit="F" 3000000000',
      'readings,device=d1,sensor=a value=1.5,score=0 4000000000',
    ]);
  });

  it('a batch seen before (same epoch and seq) has no effect', () => {
    const p = new PartitionPipeline(cfg());
    const e = env('d1', [r('a', 0, 60)]);
    const first = run(p, [e]);
    const again = run(p, [e]);
    expect(first.alerts).toHaveLength(1);
    expect([again.points.lines, again.alerts, again.duplicates]).toEqual([[], [], 1]);
  });

  it('threshold alert fires and resolves, scores land on the readings, anomalies on the session', () => {
    const p = new PartitionPipeline(cfg());
    const fx = run(p, [env('d1', [r('t', 0, 20), r('t', 1000, 70), r('t', 2000, 20)]), env('d1', [], 60_000)]);
    expect(fx.alerts.map((a) => [a.rule, a.state, a.start, a.end, a.severity])).toEqual([
      ['hot', 'firing', 1000, undefined, 'critical'],
      ['hot', 'resolved', 1000, 2000, 'critical'],
      ['dropout', 'firing', 12_000, undefined, 'warning'],
    ]);
    expect(fx.points.lines.filter((l) => l.startsWith('readings,')).map((l) => /score=([^, ]+)/.exec(l)?.[1])).toEqual(['0', '1', '0']);
    expect(fx.sessions[0]).toMatchObject({ count: 3, anomalies: 1, min: 20, max: 70 });
  });

  it('is a pure function of the envelopes in order: two runs give identical effects', () => {
    const envs = Array.from({ length: 50 }, (_, i) => env(`d${i % 3}`, [r('a', i * 3000, (i * 37) % 80), r('b', i * 3000 + 1, i % 7)]));
    const a = run(new PartitionPipeline(cfg()), envs);
    const b = run(new PartitionPipeline(cfg()), envs);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(a.alerts.length).toBeGreaterThan(0);
  });
});
