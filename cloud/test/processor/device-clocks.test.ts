// Issue 11, defect 1: one device's clock must not disturb its partition. A single envelope stamped
// in the year 2100 (synced: true) closed another device's sessions as dropout, fired dropout alerts
// for it while it kept sending, and sent all the sender's later, correct readings to late_readings
// (so a value above a threshold raised no alert). The pipeline now checks each reading against the
// time JetStream stored its message (clock-check.ts).
import type { AlertEvent, Envelope, Reading } from '@fieldline/contract';
import { describe, expect, it } from 'vitest';
import { detectorEntrySchema } from '../../src/detectors/config.js';
import { loadProcessorConfig } from '../../src/processor/config.js';
import { Effects, PartitionPipeline, type PipelineConfig } from '../../src/processor/pipeline.js';

const T = Date.UTC(2026, 5, 1);
const YEAR_2100 = Date.UTC(2100, 0, 1);

const cfg: PipelineConfig = {
  windows: { gapMs: 10_000, gapReadings: 10, maxLengthMs: 3_600_000, allowedLatenessMs: 5_000, deviceSilenceMs: 60_000 },
  detectors: [
    { rule: 'hot', type: 'threshold', severity: 'critical', params: { above: 50 } },
    { rule: 'dropout', type: 'dropout' },
  ].map((e) => detectorEntrySchema.parse(e)),
  alerts: { anomalyScore: 0.5, clearMs: 0, clearReadings: 1 },
};

class Stream {
  readonly fx = new Effects();
  private readonly seqs = new Map<string, number>();
  constructor(readonly p = new PartitionPipeline(cfg)) {}
  /** One envelope, stored by JetStream at `stored` (ms). */
  send(device: string, readings: Reading[], stored: number, clock: Envelope['clock'] = { synced: true, now: readings.at(-1)?.ts ?? stored }): void {
    const seq = (this.seqs.get(device) ?? 0) + 1;
    this.seqs.set(device, seq);
    this.p.process({ v: 1, device, epoch: 'epoch0001', seq, clock, readings }, this.fx, undefined, stored);
  }
  alerts(device: string): [string, string, string][] {
    return this.fx.alerts.filter((a: AlertEvent) => a.device === device).map((a) => [a.sensor, a.rule, a.state]);
  }
}

describe('device clocks: no device disturbs another, a broken clock is flagged and marked', () => {
  it('an envelope stamped in 2100 leaves the other device alone, and the sender\'s later readings are windowed and alert', () => {
    const s = new Stream();
    for (let i = 0; i <= 300; i++) {
      const ts = T + i * 1000;
      s.send('good', [{ sensor: 't', ts, value: 20 }], ts + 100);
      if (i === 60) s.send('liar', [{ sensor: 't', ts: YEAR_2100, value: 21 }], ts + 100);
      else s.send('liar', [{ sensor: 't', ts, value: i === 120 ? 70 : 20 }], ts + 100);
    }
    // The other device: no session closed as dropout, no dropout alert, while it kept sending.
    expect(s.fx.sessions.filter((x) => x.device === 'good' && x.closedBy === 'dropout')).toEqual([]);
    expect(s.alerts('good')).toEqual([]);
    // The sender: nothing late, its spike at 120 s raised the threshold alert.
    expect(s.fx.late).toBe(0);
    expect(s.fx.alerts.find((a) => a.device === 'liar' && a.rule === 'hot')).toMatchObject({ state: 'firing', start: T + 120_000 });
    // Its 2100 reading: stored, marked by quality and why, counted, not scored; flagged once with a clock alert.
    const line = s.fx.points.lines.find((l) => l.startsWith('readings,device=liar') && l.endsWith(` ${YEAR_2100}000000`));
    expect(line).toBe(`readings,device=liar,sensor=t value=21,quality="uncertain",clock="ahead" ${YEAR_2100}000000`);
    expect(s.fx.implausible).toBe(1);
    expect(s.alerts('liar')).toEqual([
      ['t', 'clock', 'firing'],
      ['t', 'clock', 'resolved'],
      ['t', 'hot', 'firing'],
      ['t', 'hot', 'resolved'],
    ]);
    const clock = s.fx.alerts.filter((a) => a.rule === 'clock');
    expect(clock.map((a) => [a.start, a.end])).toEqual([
      [T + 60_100, undefined],
      [T + 60_100, T + 61_000],
    ]);
    expect(clock[0]!.message).toMatch(/^clock: reading stamped 2100-01-01T00:00:00\.000Z, 73\.\d years after its message was stored/);
  });

  it('a heartbeat whose clock runs ahead does not move event time either', () => {
    const s = new Stream();
    for (let i = 0; i < 30; i++) s.send('good', [{ sensor: 't', ts: T + i * 1000, value: 20 }], T + i * 1000 + 50);
    s.send('good', [], T + 30_000, { synced: true, now: YEAR_2100 });
    s.send('good', [{ sensor: 't', ts: T + 31_000, value: 20 }], T + 31_050);
    expect([s.fx.late, s.fx.sessions.length]).toEqual([0, 0]);
  });

  it('a synced clock at 1970 (a board that booted without its RTC) is flagged and marked, and moves nothing', () => {
    const s = new Stream();
    for (let i = 0; i < 100; i++) {
      const ts = T + i * 1000;
      s.send('good', [{ sensor: 't', ts, value: 20 }], ts + 100);
      s.send('board', [{ sensor: 'b', ts: 5000 + i * 1000, value: 20 }], ts + 100);
    }
    expect(s.fx.implausible).toBe(100);
    expect(s.fx.points.lines.filter((l) => l.startsWith('readings,device=board')).every((l) => l.includes(',quality="uncertain",clock="before_earliest" '))).toBe(true);
    expect(s.alerts('board')).toEqual([['b', 'clock', 'firing']]);
    expect(s.fx.alerts.find((a) => a.device === 'board')!.message).toMatch(/before 2000-01-01T00:00:00\.000Z although its clock says it is synced/);
    expect(s.alerts('good')).toEqual([]);
    // Unsynced, the same times are the edge's honest "uncertain" readings: not flagged.
    const u = new Stream();
    u.send('board', [{ sensor: 'b', ts: 5000, value: 20, quality: 'uncertain' }], T, { synced: false, now: 5000 });
    expect(u.fx.implausible).toBe(0);
  });

  it('a clock a little ahead (within clock.maxAheadMs) is believed; a device stays silent-able only against what the stream has seen', () => {
    const s = new Stream();
    // 'fast' runs 50 s ahead (believed: below the 60 s default); 'quiet' stops after 20 readings.
    for (let i = 0; i < 200; i++) {
      const ts = T + i * 1000;
      s.send('fast', [{ sensor: 'f', ts: ts + 50_000, value: 20 }], ts + 100);
      if (i < 20) s.send('quiet', [{ sensor: 'q', ts, value: 20 }], ts + 100);
    }
    expect(s.fx.implausible).toBe(0);
    // 'quiet' last reported at T+19 s: silent once the stream (not fast's clock) is 60 s past that.
    const dropout = s.fx.alerts.find((a) => a.device === 'quiet' && a.rule === 'dropout');
    expect(dropout).toBeDefined();
    expect(s.fx.sessions.find((x) => x.device === 'quiet')!.closedBy).toBe('dropout');
    // Judged at stream time >= T+19 s + 60 s, i.e. from message ~80 on, not 50 s early as fast's clock would have it.
    const p2 = new Stream();
    for (let i = 0; i < 75; i++) {
      const ts = T + i * 1000;
      p2.send('fast', [{ sensor: 'f', ts: ts + 50_000, value: 20 }], ts + 100);
      if (i < 20) p2.send('quiet', [{ sensor: 'q', ts, value: 20 }], ts + 100);
    }
    expect(p2.fx.sessions.filter((x) => x.device === 'quiet')).toEqual([]);
  });

  it('the processor config carries the limits, and the rule id "clock" is reserved', () => {
    expect(loadProcessorConfig({}).clock).toEqual({ maxAheadMs: 60_000, earliestMs: Date.UTC(2000, 0, 1) });
    expect(() => loadProcessorConfig({ detectors: [{ rule: 'clock', type: 'threshold', params: { above: 1 } }] })).toThrow(/detectors\[0\]\.rule: "clock" is the processor's own clock check/);
  });
});
