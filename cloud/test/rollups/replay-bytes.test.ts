/**
 * Windowed outputs are deterministic and byte-identical under replay: the same stream through a
 * fresh pipeline, however the processor happens to cut it into flushes, writes the same rollup
 * lines, the same repairs, the same raw lines and the same window-rule alerts, byte for byte; and
 * a redelivered message adds nothing. The pipeline is pure, so this is what a replay or a
 * restarted processor writes to InfluxDB (rollups-e2e.test.ts checks the stored points).
 */
import type { Envelope } from '@fieldline/contract';
import { generateSamples, loadScenario } from '@fieldline/firmware-sim';
import { describe, expect, it } from 'vitest';
import { loadProcessorConfig } from '../../src/processor/config.js';
import { Effects, PartitionPipeline } from '../../src/processor/pipeline.js';

const scenario = loadScenario(new URL('../../../firmware-sim/scenarios/window-rules.yaml', import.meta.url).pathname);

const cfg = loadProcessorConfig({
  windows: { gapMs: 30_000, allowedLatenessMs: 15_000 },
  detectors: [
    { rule: 'temp-5m-hot', type: 'window', match: { sensor: 'temp' }, params: { window: { kind: 'tumbling', size: '5m' }, aggregate: 'mean', condition: { above: 30, hysteresis: 1 }, latenessMs: 15_000 } },
    { rule: 'few-readings', type: 'window', match: { sensor: 'hum' }, params: { window: { kind: 'tumbling', size: '1m' }, aggregate: 'count', condition: { below: 50 } } },
    { rule: 'vib-spread', type: 'window', match: { sensor: 'vib' }, params: { window: { kind: 'hopping', size: '10m', hop: '1m' }, aggregate: 'spread', condition: { above: 2, hysteresis: 0.2 } } },
    { rule: 'vib-rate', type: 'window', match: { sensor: 'vib' }, params: { window: { kind: 'sliding', size: '30s' }, aggregate: 'rate', condition: { above: 1 } } },
  ],
});

/**
 * One message per device per 5 s; every 7th message holds back its last temp reading and sends
 * it with the next message (late within the lateness), and every 50th message carries a reading
 * 3 minutes old (beyond it: a rollup repair and the late side output).
 */
function envelopes(): Envelope[] {
  const seqs = new Map<string, number>();
  const envs: Envelope[] = [];
  let cur: Envelope | undefined;
  let held: Envelope['readings'] = [];
  const flush = (): void => {
    if (!cur) return;
    const n = envs.length;
    const readings = [...held, ...cur.readings];
    held = [];
    if (n % 7 === 3) {
      const i = readings.findLastIndex((r) => r.sensor === 'temp');
      if (i >= 0) held = readings.splice(i, 1);
    }
    if (n % 50 === 20) readings.push({ sensor: 'temp', ts: cur.clock.now - 180_000 + 333, value: 55.5 });
    envs.push({ ...cur, readings });
    cur = undefined;
  };
  for (const s of generateSamples(scenario, { seed: 11 })) {
    if (cur && (cur.device !== s.device || s.ts - cur.readings[0]!.ts >= 5000)) flush();
    if (!cur) {
      const seq = (seqs.get(s.device) ?? 0) + 1;
      seqs.set(s.device, seq);
      cur = { v: 1, device: s.device, epoch: 'replay0001', seq, clock: { synced: true, now: s.ts }, readings: [] };
    }
    cur.readings.push({ sensor: s.sensor, ts: s.ts, value: s.value, unit: s.unit });
    cur.clock.now = s.ts;
  }
  flush();
  // A heartbeat an hour on closes every window.
  for (const device of seqs.keys()) envs.push({ v: 1, device, epoch: 'replay0001', seq: seqs.get(device)! + 1, clock: { synced: true, now: envs.at(-1)!.clock.now + 3_600_000 }, readings: [] });
  return envs;
}

/** Everything a run would write or publish, as the bytes it would send, one stream per destination. */
function bytes(fxs: Effects[]): string {
  const raw: string[] = [];
  const tiers: string[][] = [];
  const repairs: string[] = [];
  const alerts: string[] = [];
  const sessions: string[] = [];
  for (const fx of fxs) {
    raw.push(...fx.points.lines);
    fx.points.tiers.forEach((lines, tier) => (tiers[tier] ??= []).push(...(lines ?? [])));
    repairs.push(...fx.points.repairs.map((r) => `repair ${JSON.stringify(r)}`));
    alerts.push(...fx.alerts.map((a) => `alert ${JSON.stringify(a)}`));
    sessions.push(...fx.sessions.map((s) => `session ${JSON.stringify(s)}`));
  }
  return [...raw, ...tiers.flatMap((lines, tier) => lines.map((l) => `tier${tier} ${l}`)), ...repairs, ...alerts, ...sessions].join('\n');
}

describe('windowed outputs under replay', () => {
  const envs = envelopes();

  it('the stream holds what the test is about: rollups, repairs, late readings and window-rule alerts', () => {
    const fx = new Effects();
    const p = new PartitionPipeline(cfg);
    for (const e of envs) p.process(e, fx);
    // Three sensors: a 1 m point each per minute of the 80 (hum silent for 3), two 1 h points each.
    expect(fx.points.rollupCount).toBeGreaterThanOrEqual(3 * 80 - 3 + 3 * 2);
    expect(fx.points.repairs.length).toBeGreaterThan(0);
    expect(fx.late).toBeGreaterThan(0);
    expect(new Set(fx.alerts.map((a) => a.rule))).toEqual(new Set(['temp-5m-hot', 'few-readings', 'vib-spread']));
  });

  it('a fresh pipeline writes the same bytes, whether the stream is one flush or one flush per message', () => {
    const whole = new Effects();
    const a = new PartitionPipeline(cfg);
    for (const e of envs) a.process(e, whole);
    const b = new PartitionPipeline(cfg);
    const perMessage = envs.map((e) => {
      const fx = new Effects();
      b.process(e, fx);
      return fx;
    });
    const expected = bytes([whole]);
    expect(bytes(perMessage)).toBe(expected);
    // And again, from scratch: nothing depends on the clock or on the order of a map built elsewhere.
    const again = new Effects();
    const c = new PartitionPipeline(cfg);
    for (const e of envs) c.process(e, again);
    expect(bytes([again])).toBe(expected);
  });

  it('a redelivered message adds nothing: no rollup line, repair or alert', () => {
    const p = new PartitionPipeline(cfg);
    for (const e of envs) p.process(e, new Effects());
    const fx = new Effects();
    for (const e of envs.slice(-200)) p.process(e, fx);
    expect(fx.duplicates).toBe(200);
    expect(bytes([fx])).toBe('');
  });
});
