import type { Envelope } from '@fieldline/contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectorEntrySchema } from '../../src/detectors/config.js';
import { getDetectorPlugin } from '../../src/detectors/index.js';
import { SnapshotError, StateReader, StateWriter } from '../../src/detectors/state-codec.js';
import { registerWindowedGaussian } from '../../src/evaluate/windowed-gaussian.js';
import { loadProcessorConfig } from '../../src/processor/config.js';
import { ASSEMBLY_PIECE, configFingerprint, readSnapshotHeader, restorePipeline, SNAPSHOT_FORMAT, SnapshotCut, snapshotPipeline } from '../../src/processor/pipeline-state.js';
import { Effects, PartitionPipeline, type PipelineConfig } from '../../src/processor/pipeline.js';
import { rng, workload } from './workload.js';

/** Window rules of each kind (issue 14's `window` detector): their open windows are state too. */
const WINDOW_RULES = [
  { rule: 'mean-5m', type: 'window', match: { sensor: 'temp' }, params: { window: { kind: 'tumbling', size: '5m' }, aggregate: 'mean', condition: { above: 21.5, hysteresis: 0.2 }, latenessMs: '30s' } },
  { rule: 'few', type: 'window', params: { window: { kind: 'tumbling', size: '1m' }, aggregate: 'count', condition: { below: 8 } } },
  { rule: 'spread', type: 'window', match: { sensor: 'hum' }, params: { window: { kind: 'hopping', size: '3m', hop: '1m' }, aggregate: 'spread', condition: { above: 9 } } },
  { rule: 'rise', type: 'window', match: { sensor: 'temp' }, params: { window: { kind: 'sliding', size: '30s' }, aggregate: 'rate', condition: { above: 0.3 } } },
];

/** The default detectors (what users run) plus a threshold rule and window rules, with the processor's default windows and rollup tiers (1m, 1h). */
function config(extra: object[] = [{ rule: 'hot', type: 'threshold', severity: 'critical', params: { above: 30 } }, ...WINDOW_RULES]): PipelineConfig {
  const base = loadProcessorConfig({});
  return { ...base, detectors: [...base.detectors, ...extra.map((e) => detectorEntrySchema.parse(e))] };
}

interface Out {
  lines: string[];
  /** Rollup lines, per tier in order, and repairs. */
  tiers: string[][];
  repairs: string[];
  scores: number[];
  alerts: string[];
  sessions: string[];
}

function run(p: PartitionPipeline, envs: Envelope[], out: Out): void {
  const fx = new Effects();
  fx.scores = [];
  for (const e of envs) p.process(e, fx);
  out.lines.push(...fx.points.lines);
  fx.points.tiers.forEach((lines, tier) => (out.tiers[tier] ??= []).push(...(lines ?? [])));
  out.repairs.push(...fx.points.repairs.map((r) => JSON.stringify(r)));
  out.scores.push(...fx.scores);
  out.alerts.push(...fx.alerts.map((a) => JSON.stringify(a)));
  out.sessions.push(...fx.sessions.map((s) => JSON.stringify(s)));
}

const empty = (): Out => ({ lines: [], tiers: [], repairs: [], scores: [], alerts: [], sessions: [] });
const META = { partition: 3, partitions: 8 };

describe('pipeline checkpoints (snapshot / restore)', () => {
  const cfg = config();
  const envs = workload({ devices: 3, envelopes: 900 });

  it('a pipeline restored from a snapshot at any point continues exactly as an uninterrupted one (default detectors, threshold, window rules, rollups)', () => {
    const whole = empty();
    run(new PartitionPipeline(cfg), envs, whole);
    // The workload exercises what the state holds.
    expect(whole.alerts.some((a) => a.includes('"rule":"anomaly"'))).toBe(true);
    expect(whole.alerts.some((a) => a.includes('"rule":"stuck"'))).toBe(true);
    expect(whole.alerts.some((a) => a.includes('"rule":"dropout"'))).toBe(true);
    expect(whole.alerts.some((a) => a.includes('"rule":"hot"'))).toBe(true);
    expect(whole.sessions.some((s) => s.includes('"closedBy":"dropout"'))).toBe(true);
    expect(whole.lines.some((l) => l.startsWith('late_readings'))).toBe(true);
    for (const rule of WINDOW_RULES) expect(whole.alerts.some((a) => a.includes(`"rule":"${rule.rule}"`)), rule.rule).toBe(true);
    expect(whole.tiers[0]!.length).toBeGreaterThan(100);
    expect(whole.tiers[1]!.length).toBeGreaterThan(5);
    expect(whole.repairs.length).toBeGreaterThan(0);

    // Cut at several points (one of them inside an open session, an open alert and the anomaly
    // detector's warm-up), snapshotting and restoring each time, as a chain of takeovers would.
    const cuts = [1, 137, 700, 1400, 2051, envs.length - 1];
    const chained = empty();
    let p = new PartitionPipeline(cfg);
    let from = 0;
    for (const cut of cuts) {
      run(p, envs.slice(from, cut), chained);
      const bytes = snapshotPipeline(p, { ...META, seq: cut });
      expect(readSnapshotHeader(bytes)).toMatchObject({ ...META, seq: cut, fingerprint: configFingerprint(cfg) });
      const restored = restorePipeline(cfg, bytes, META);
      expect(restored.seq).toBe(cut);
      // The restored state snapshots to the same bytes: nothing is lost or reordered.
      expect(Buffer.from(snapshotPipeline(restored.pipeline, { ...META, seq: cut })).equals(Buffer.from(bytes))).toBe(true);
      p = restored.pipeline;
      from = cut;
    }
    run(p, envs.slice(from), chained);
    expect(chained.lines).toEqual(whole.lines);
    expect(chained.tiers).toEqual(whole.tiers);
    expect(chained.repairs).toEqual(whole.repairs);
    expect(chained.alerts).toEqual(whole.alerts);
    expect(chained.sessions).toEqual(whole.sessions);
    // Raw scores, not only the 1e-4 InfluxDB keeps: the detectors' state is bit for bit the same.
    expect(Object.is(chained.scores.length, whole.scores.length)).toBe(true);
    chained.scores.forEach((s, i) => expect(Object.is(s, whole.scores[i])).toBe(true));
  });

  it('the anomaly detector state is most of a checkpoint: ≈ 5.7 KB per sensor with the defaults', () => {
    const p = new PartitionPipeline(config([]));
    run(p, envs.slice(0, 300), empty());
    const sensors = p.sensorCount;
    const bytes = snapshotPipeline(p, { ...META, seq: 300 }).length;
    expect(sensors).toBe(9);
    expect(bytes / sensors).toBeGreaterThan(5000);
    expect(bytes / sensors).toBeLessThan(7000);
  });

  it('strings round-trip through the state codec, ASCII (written in place) or not, and a second snapshot is the same bytes (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 40 })), { nil: undefined }), { maxLength: 20 }), (xs) => {
        const w = new StateWriter(8);
        for (const x of xs) w.str(x).u8(7);
        const bytes = w.finish();
        const r = new StateReader(bytes);
        for (const x of xs) {
          expect(r.str()).toBe(x);
          expect(r.u8()).toBe(7);
        }
        expect(r.remaining).toBe(0);
        // The same bytes as TextEncoder gives (the format did not change).
        const ref: number[] = [];
        for (const x of xs) {
          const b = x === undefined ? undefined : new TextEncoder().encode(x);
          const len = b === undefined ? 0xffffffff : b.length;
          ref.push(len & 0xff, (len >>> 8) & 0xff, (len >>> 16) & 0xff, len >>> 24, ...(b ?? []), 7);
        }
        expect([...bytes]).toEqual(ref);
      }),
    );
    const cfg = loadProcessorConfig({} as never);
    const p = new PartitionPipeline(cfg);
    const fx = new Effects();
    for (const e of workload({ envelopes: 200 })) p.process(e, fx);
    const meta = { partition: 0, partitions: 1, seq: 9 };
    const a = snapshotPipeline(p, meta);
    expect([...snapshotPipeline(p, meta)]).toEqual([...a]);
  });

  it('every registered detector round-trips its state through snapshot/restore', () => {
    registerWindowedGaussian();
    const params: Record<string, Record<string, unknown>> = { threshold: { above: 25 }, 'rate-of-change': { maxPerSecond: 1 }, 'windowed-gaussian': { window: 50, step: 5 } };
    const cases: [string, Record<string, unknown>][] = [
      ...['threshold', 'baseline', 'rate-of-change', 'flatline', 'dropout', 'anomaly', 'windowed-gaussian'].map((t): [string, Record<string, unknown>] => [t, params[t] ?? {}]),
      ...WINDOW_RULES.map((r): [string, Record<string, unknown>] => ['window', r.params]),
    ];
    for (const [type, p] of cases) {
      const plugin = getDetectorPlugin(type)!;
      const det = plugin.create(plugin.params.parse(p));
      const g = rng(7);
      const a = det.init();
      for (let i = 0; i < 400; i++) det.update(a, i * 1000, 20 + g() * (i % 50 === 0 ? 20 : 1));
      det.onSilence?.(a, 400_000);
      const w = new StateWriter(16);
      det.snapshot(a, w);
      const b = det.restore(new StateReader(w.finish()));
      for (let i = 400; i < 800; i++) {
        const v = 20 + g() * (i % 50 === 0 ? 20 : 1);
        expect(det.update(b, i * 1000, v), `${type} at ${i}`).toEqual(det.update(a, i * 1000, v));
      }
      expect(det.describe(b, 1)).toBe(det.describe(a, 1));
    }
  });

  it('refuses, with a SnapshotError and never anything else, a snapshot of another config, partition or format, and any corrupt bytes', () => {
    const p = new PartitionPipeline(cfg);
    run(p, envs.slice(0, 200), empty());
    const bytes = snapshotPipeline(p, { ...META, seq: 200 });
    const other = config([{ rule: 'hot', type: 'threshold', severity: 'critical', params: { above: 31 } }]);
    expect(() => restorePipeline(other, bytes, META)).toThrow(/another windows\/detectors\/alerts config/);
    expect(() => restorePipeline(cfg, bytes, { partition: 2, partitions: 8 })).toThrow(/partition 3\/8, not 2\/8/);
    const next = Uint8Array.from(bytes);
    next[4] = SNAPSHOT_FORMAT + 1;
    expect(() => restorePipeline(cfg, next, META)).toThrow(new RegExp(`format ${SNAPSHOT_FORMAT + 1} is unknown`));
    expect(() => restorePipeline(cfg, new Uint8Array(0), META)).toThrow(SnapshotError);
    expect(() => restorePipeline(cfg, bytes.subarray(0, bytes.length - 100), META)).toThrow(SnapshotError);

    // Any flipped byte, any truncation, any garbage: a SnapshotError, never a crash or a hang.
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const bad = Uint8Array.from(bytes);
        bad[at]! ^= xor;
        expect(() => restorePipeline(cfg, bad, META)).toThrow(SnapshotError);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (garbage) => {
        expect(() => restorePipeline(cfg, garbage, META)).toThrow(SnapshotError);
      }),
      { numRuns: 300 },
    );
  });

  it('bytes that pass the CRC but break a detector (a state of another size) are still only a SnapshotError', () => {
    const det = getDetectorPlugin('anomaly')!.create(getDetectorPlugin('anomaly')!.params.parse({}));
    const w = new StateWriter();
    det.snapshot(det.init(), w);
    const bytes = w.finish();
    // Shrink the f64 array's length field: the reader refuses rather than read past it.
    const r = new StateReader(bytes);
    r.raw(1 + 14 * 8, 'fields');
    const at = r.offset;
    const bad = Uint8Array.from(bytes);
    new DataView(bad.buffer).setUint32(at, 3, true);
    expect(() => det.restore(new StateReader(bad))).toThrow(/has 3 numbers/);
    const v9 = Uint8Array.from(bytes);
    v9[0] = 9;
    expect(() => det.restore(new StateReader(v9))).toThrow(/anomaly state version 9 is unknown/);
  });
});

describe('a checkpoint written beside the processing (SnapshotCut, issue 16: nothing waits for a checkpoint)', () => {
  const cfg = config();
  // Twelve devices; wl-11 is new only after the cut. Device 1 is silent from 5 s before the cut
  // (workload.ts: envelopes 200-239), so it sends nothing while the cut is open and the silence
  // check is what marks it silent (and writes it first).
  const envs = workload({ devices: 12, envelopes: 400, seed: 5 });
  const cutAt = envs.findIndex((e) => e.device === 'wl-0' && (e.readings[0]?.ts ?? 0) >= Date.UTC(2026, 0, 5, 8) + 201 * 5000);
  const before = envs.slice(0, cutAt).filter((e) => e.device !== 'wl-11');
  const after = envs.slice(cutAt);
  const meta = { ...META, seq: before.length };

  it('is byte for byte the one-piece snapshot of the moment it was taken, however the processing interleaves with its slices', () => {
    const p = new PartitionPipeline(cfg);
    run(p, before, empty());
    const whole = snapshotPipeline(p, meta);
    const straight = empty();
    run(restorePipeline(cfg, whole, META).pipeline, after, straight);
    expect(straight.alerts.length).toBeGreaterThan(0);
    // Messages processed between two slices of one device each: 1 (every message hits a device
    // not written yet, early on), 3, 17, one slice for the whole state, and none (0: each device
    // written only when it is about to change, the rest at the end).
    for (const every of [1, 3, 17, Infinity, 0]) {
      const q = restorePipeline(cfg, whole, META).pipeline;
      const cut = new SnapshotCut(q, meta);
      const hook = q.beforeChange!;
      // wl-1 sends nothing while the cut is open: only the silence check changes it.
      let silenced = 0;
      q.beforeChange = (d) => {
        if (d.id === 'wl-1') silenced++;
        hook(d);
      };
      const out = empty();
      const fx = new Effects();
      fx.scores = [];
      let done = false;
      after.forEach((e, i) => {
        if (every > 0 && !done && i % every === 0) done = cut.step(every === Infinity ? 60_000 : 0);
        q.process(e, fx);
      });
      q.beforeChange = hook;
      const bytes = cut.finish();
      expect(q.beforeChange, 'the hook is released').toBeUndefined();
      expect(Buffer.from(bytes).equals(Buffer.from(whole)), `a slice every ${every} messages`).toBe(true);
      // The processing itself is not changed by the cut beside it.
      out.lines.push(...fx.points.lines);
      out.alerts.push(...fx.alerts.map((a) => JSON.stringify(a)));
      out.sessions.push(...fx.sessions.map((x) => JSON.stringify(x)));
      expect(out.lines).toEqual(straight.lines);
      expect(out.alerts).toEqual(straight.alerts);
      expect(out.sessions).toEqual(straight.sessions);
      // The silence check ran during the cut, and wrote first the device it marked silent.
      if (every === 0) expect(silenced, 'the silence check wrote wl-1 before marking it silent').toBeGreaterThan(0);
    }
  });

  it('restores exactly from its bytes, writes at least one device a step, and is one at a time per pipeline', () => {
    const p = new PartitionPipeline(cfg);
    run(p, before, empty());
    const cut = new SnapshotCut(p, meta);
    expect(() => new SnapshotCut(p, meta)).toThrow(/being cut already/);
    let steps = 1;
    while (!cut.step(0)) steps++;
    const bytes = cut.finish();
    // A device a step; the last device's step also checks the first piece of the bytes, each later step one more.
    expect(steps).toBe(p.devices.size + Math.ceil((bytes.length - 4) / ASSEMBLY_PIECE) - 1);
    expect(cut.finish()).toBe(bytes);
    const straight = empty();
    run(p, after, straight);
    const restored = empty();
    run(restorePipeline(cfg, bytes, META).pipeline, after, restored);
    expect(restored).toEqual(straight);
    // Released: the next checkpoint can start.
    expect(() => new SnapshotCut(p, meta).finish()).not.toThrow();
  });

  it('puts a state of several 256 KiB pieces in order and checks it in slices, with and without devices written ahead of their turn', () => {
    const big = workload({ devices: 60, envelopes: 40, seed: 9, prefix: 'big' });
    const p = new PartitionPipeline(cfg);
    run(p, big.slice(0, -60), empty());
    const whole = snapshotPipeline(p, meta);
    expect(whole.length, 'the state spans several assembly pieces').toBeGreaterThan(3 * ASSEMBLY_PIECE);
    for (const ahead of [false, true]) {
      const q = restorePipeline(cfg, whole, META).pipeline;
      const cut = new SnapshotCut(q, meta);
      const fx = new Effects();
      // Ahead: the last envelope of each device is processed before the cut writes it.
      if (ahead) for (const e of big.slice(-60)) q.process(e, fx);
      let steps = 1;
      while (!cut.step(0)) steps++;
      // One device per step, and the assembly's pieces after the last device.
      expect(steps, `ahead: ${ahead}`).toBeGreaterThan(q.devices.size);
      expect(Buffer.from(cut.finish()).equals(Buffer.from(whole)), `ahead: ${ahead}`).toBe(true);
      expect(q.beforeChange).toBeUndefined();
    }
  });
});
