/**
 * Rollups through the live processor (real nats-server + influxd 1.6): every point of
 * `readings_1m` and `readings_1h` equals the aggregate InfluxDB computes over the raw `readings`
 * of its window, with readings late within the allowed lateness (re-emission), late beyond it
 * (repair from the raw points), a processor restarted midway, and every message redelivered.
 */
import type { Envelope, Reading } from '@fieldline/contract';
import { cleanupAll, waitFor } from '@fieldline/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcessor, type Processor } from '../../src/processor/index.js';
import type { ProcessorConfigInput } from '../../src/processor/config.js';
import { baseConfig, drained, envelope, publish, queryRows, silentLogger, startServices, stopServices, type Services } from '../processor/helpers.js';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const MIN = 60_000;
const HOUR = 3_600_000;
const DEVICES = ['roll-a', 'roll-b', 'roll-c'];

/** 1 Hz per sensor for 2 h 20 min, 10 s per message, two sensors per device; late readings mixed in. */
function scenario(): { envs: Envelope[]; lateBeyond: number } {
  const envs: Envelope[] = [];
  let lateBeyond = 0;
  const value = (d: number, s: number, t: number) => Math.round((20 + d + 5 * Math.sin(t / 600_000 + s) + ((t / 1000) % 7) * 0.13) * 100) / 100;
  for (let k = 0; k < 140 * 6; k++) {
    for (const [d, device] of DEVICES.entries()) {
      const readings: Reading[] = [];
      for (let i = 0; i < 10; i++) {
        const ts = T0 + (k * 10 + i) * 1000;
        // roll-b holds back 't' at the last second of each minute: it comes two messages later,
        // after the next message moved the device past the minute and its window was emitted
        // (late, within the 15 s allowed lateness: the window is emitted again).
        if (!(device === 'roll-b' && i === 9 && k % 6 === 5)) readings.push({ sensor: 't', ts, value: value(d, 0, ts) });
        readings.push({ sensor: 'h', ts, value: value(d, 1, ts) });
      }
      if (device === 'roll-b' && k % 6 === 1 && k > 1) {
        const ts = T0 + ((k - 1) * 10 - 1) * 1000;
        readings.unshift({ sensor: 't', ts, value: value(d, 0, ts) });
      }
      // roll-c: now and then a reading 4 minutes late (beyond the lateness: the 1 m window is final,
      // the 1 h one still open), and once one 90 minutes late (both final).
      if (device === 'roll-c' && k % 37 === 20) {
        const ts = T0 + (k * 10) * 1000 - 4 * MIN + 500;
        readings.push({ sensor: 'x', ts, value: value(d, 2, ts) });
        lateBeyond++;
      }
      if (device === 'roll-c' && k === 700) {
        readings.push({ sensor: 't', ts: T0 + (k * 10) * 1000 - 90 * MIN + 250, value: 99.5 });
        lateBeyond++;
      }
      envs.push(envelope(device, readings));
    }
  }
  // Heartbeats two hours on close every window.
  for (const device of DEVICES) envs.push(envelope(device, [], T0 + 140 * MIN + 2 * HOUR));
  return { envs, lateBeyond };
}


type Agg = { count: number; sum: number; min: number; max: number; first: number; last: number; mean: number };
const key = (r: Record<string, unknown>) => `${r.device}/${r.sensor}/${r.time}`;

async function rollups(s: Services, tier: string): Promise<Map<string, Agg>> {
  const rows = await queryRows(s.influx, `SELECT * FROM "fieldline"."rollup_${tier}"."readings_${tier}" GROUP BY *`);
  return new Map(rows.map((r) => [key(r), r as unknown as Agg]));
}

/** What InfluxDB computes over the raw points, per window of the tier. */
async function fromRaw(s: Services, every: string): Promise<Map<string, Agg>> {
  const rows = await queryRows(
    s.influx,
    `SELECT count(value) AS count, sum(value) AS sum, min(value) AS min, max(value) AS max, first(value) AS first, last(value) AS last, mean(value) AS mean ` +
      `FROM readings WHERE time >= ${T0 - 2 * HOUR}ms AND time < ${T0 + 6 * HOUR}ms GROUP BY time(${every}), "device", "sensor" fill(none)`,
  );
  return new Map(rows.map((r) => [key(r), r as unknown as Agg]));
}

function expectEqual(rollup: Map<string, Agg>, raw: Map<string, Agg>): void {
  expect([...rollup.keys()].sort()).toEqual([...raw.keys()].sort());
  for (const [k, want] of raw) {
    const got = rollup.get(k)!;
    expect({ k, count: got.count, min: got.min, max: got.max, first: got.first, last: got.last }).toEqual({ k, count: want.count, min: want.min, max: want.max, first: want.first, last: want.last });
    expect(Math.abs(got.sum - want.sum), k).toBeLessThanOrEqual(1e-9 * Math.abs(want.sum));
    expect(Math.abs(got.mean - want.mean), k).toBeLessThanOrEqual(1e-9 * Math.abs(want.mean));
  }
}

describe('rollups on real nats-server + influxd: equal to the raw points of their window', () => {
  let s: Services | undefined;
  let p: Processor | undefined;
  const { envs, lateBeyond } = scenario();
  const cfg = (prefix: string): ProcessorConfigInput =>
    baseConfig(s!, {
      coordination: { group: prefix },
      windows: { gapMs: 30_000, allowedLatenessMs: 15_000 },
      detectors: [{ rule: 'hot', type: 'threshold', params: { above: 90 } }],
    });
  let before: { m: Map<string, Agg>; h: Map<string, Agg> } | undefined;

  beforeAll(async () => {
    s = await startServices();
    const jsm = await s.nc.jetstreamManager();
    // Restarted midway: the open windows are re-derived by the replay.
    const half = Math.floor(envs.length / 2) + 7;
    p = await startProcessor(cfg('processor'), { logger: silentLogger });
    for (const e of envs.slice(0, half)) await publish(s.js, e);
    await waitFor(() => drained(s!, 'processor'), { timeoutMs: 60_000, intervalMs: 100, what: 'first half' });
    await p.close();
    p = await startProcessor(cfg('processor'), { logger: silentLogger });
    for (const e of envs.slice(half)) await publish(s.js, e);
    await waitFor(() => drained(s!, 'processor'), { timeoutMs: 60_000, intervalMs: 100, what: 'second half' });
  }, 180_000);
  afterAll(async () => {
    await p?.close();
    await stopServices(s);
    cleanupAll();
  });

  it('every 1 m and 1 h point equals the aggregate of the raw points of its window', async () => {
    const m = await rollups(s!, '1m');
    const h = await rollups(s!, '1h');
    expectEqual(m, await fromRaw(s!, '1m'));
    expectEqual(h, await fromRaw(s!, '1h'));
    // 3 devices x 2 sensors x 140 minutes, the late sensor 'x' and the 90-minute-late reading's window.
    expect(m.size).toBeGreaterThan(3 * 2 * 140);
    expect(h.get(`roll-c/t/${T0}`)?.max).toBe(99.5);
    before = { m, h };
  });

  it('late readings were re-emitted within the lateness and repaired beyond it', async () => {
    const repairs = (await p!.metrics.rollupRepairs.get()).values[0]?.value ?? 0;
    // Each held-back reading re-emits its minute: more 1 m lines than 1 m windows in the second half.
    const lines = (await p!.metrics.rollupLines.get()).values[0]?.value ?? 0;
    expect(lines).toBeGreaterThan(before!.m.size / 2 + before!.h.size / 2 + 50);
    // The processor restarted once: the counter covers the second half only.
    expect(repairs).toBeGreaterThan(0);
    expect(repairs).toBeLessThanOrEqual(2 * lateBeyond);
    const late = (await queryRows(s!.influx, `SELECT count(value) FROM late_readings`))[0]?.count;
    expect(late).toBe(lateBeyond);
  });

  it('a redelivery of every message changes no rollup point', async () => {
    for (const e of envs) await publish(s!.js, e, ':again');
    const jsm = await s!.nc.jetstreamManager();
    await waitFor(() => drained(s!, 'processor'), { timeoutMs: 60_000, intervalMs: 100, what: 'redelivered messages acked' });
    expect(await rollups(s!, '1m')).toEqual(before!.m);
    expect(await rollups(s!, '1h')).toEqual(before!.h);
  });
});
