import { STREAMS, type AlertEvent, type Envelope, type SessionSummary } from '@fieldline/contract';
import { generateSamples, parseScenario, type GroundTruthRecord } from '@fieldline/firmware-sim';
import { cleanupAll, waitFor } from '@fieldline/harness';
import { AckPolicy, DeliverPolicy } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drained, startProcessor, type Processor } from '../../src/processor/index.js';
import type { ProcessorConfigInput } from '../../src/processor/config.js';
import { PARTITIONS, baseConfig, envelope, publish, queryRows, silentLogger, startServices, stopServices, type Services } from './helpers.js';

// A greenhouse bay at 1 Hz for 9 minutes: a temperature spike, a stuck humidity sensor and a
// temperature dropout (humidity keeps reporting, so the device's event time moves on).
const scenario = parseScenario({
  name: 'processor-it',
  start: '2026-01-05T12:00:00Z',
  duration: '9m',
  devices: [
    {
      id: 'bay-1',
      boards: [
        {
          id: 'climate',
          protocol: 'jsonl',
          hz: 1,
          timestamps: true,
          channels: [
            { name: 'temp', model: 'temperature', level: 22 },
            { name: 'hum', model: 'humidity', level: 65 },
          ],
          anomalies: [
            { kind: 'spike', channel: 'temp', at: '2m', duration: '5s', magnitude: 15 },
            { kind: 'stuck', channel: 'hum', at: '4m', duration: '60s' },
            { kind: 'dropout', channel: 'temp', at: '6m', duration: '60s' },
          ],
        },
      ],
    },
    { id: 'bay-2', boards: [{ id: 'climate', protocol: 'jsonl', hz: 1, timestamps: true, channels: [{ name: 'temp', model: 'temperature', level: 20 }] }] },
  ],
});

const detectors: ProcessorConfigInput['detectors'] = [
  { rule: 'temp-anomaly', type: 'baseline', severity: 'warning', match: { sensor: 'temp' }, params: { z: 6, warmup: 30, alpha: 0.05 } },
  { rule: 'stuck', type: 'flatline', severity: 'info', params: { forMs: 20_000 } },
  { rule: 'dropout', type: 'dropout', severity: 'critical' },
];

const ruleFor: Record<string, string> = { spike: 'temp-anomaly', stuck: 'stuck', dropout: 'dropout' };

/** Envelopes as an edge would batch them: one per device per 5 s of event time. */
function envelopes(): { envs: Envelope[]; truth: GroundTruthRecord[]; readings: number } {
  const run = generateSamples(scenario, { seed: 7 });
  const open = new Map<string, Envelope>();
  const envs: Envelope[] = [];
  let readings = 0;
  for (const s of run) {
    readings++;
    let e = open.get(s.device);
    if (e && s.ts - e.readings[0]!.ts >= 5000) {
      envs.push(e);
      e = undefined;
    }
    if (!e) open.set(s.device, (e = envelope(s.device, [])));
    e.readings.push({ sensor: s.sensor, ts: s.ts, value: s.value, unit: s.unit });
    e.clock.now = s.ts;
  }
  envs.push(...open.values());
  return { envs, truth: run.groundTruth, readings };
}

const drainedGroup = (s: Services, group: string): Promise<boolean> => drained(s.nc, { partitions: PARTITIONS, group });

async function snapshotInflux(s: Services): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const m of ['readings', 'sessions', 'alerts', 'late_readings']) out[m] = await queryRows(s.influx, `SELECT * FROM "${m}" GROUP BY *`);
  return out;
}

async function streamMessages<T>(s: Services, stream: string): Promise<T[]> {
  const jsm = await s.nc.jetstreamManager();
  const name = `snap-${stream}-${Math.floor(performance.now())}`;
  await jsm.consumers.add(stream, { name, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All, inactive_threshold: 60_000_000_000 });
  const total = (await jsm.streams.info(stream)).state.messages;
  const c = await s.js.consumers.get(stream, name);
  const out: T[] = [];
  while (out.length < total) {
    const msgs = await c.fetch({ max_messages: total - out.length, expires: 2000 });
    for await (const m of msgs) out.push(m.json<T>());
  }
  await jsm.consumers.delete(stream, name);
  return out;
}

describe('processor on real nats-server + influxd: firmware-sim scenario with injected anomalies', () => {
  let s: Services | undefined;
  let p: Processor | undefined;
  const { envs, truth, readings } = envelopes();
  const cfg = (prefix: string): ProcessorConfigInput =>
    baseConfig(s!, {
      coordination: { group: prefix },
      windows: { gapMs: 10_000, maxLengthMs: 3_600_000, allowedLatenessMs: 5_000, deviceSilenceMs: 120_000 },
      alerts: { anomalyScore: 0.5, clearMs: 5_000, clearReadings: 1 },
      detectors,
    });

  beforeAll(async () => {
    s = await startServices();
    p = await startProcessor(cfg('processor'), { logger: silentLogger });
    for (const e of envs) await publish(s.js, e);
    await waitFor(() => drainedGroup(s!, 'processor'), { timeoutMs: 60_000, intervalMs: 200, what: 'the processor to ack every message' });
  });
  afterAll(async () => {
    await p?.close();
    await stopServices(s);
    cleanupAll();
  });

  it('stores every reading with a score, and alerts whose intervals overlap each injected anomaly', async () => {
    const rows = await queryRows(s!.influx, 'SELECT count(value), count(score) FROM readings');
    expect(rows[0]).toMatchObject({ count: readings, count_1: readings });
    const alerts = await streamMessages<AlertEvent>(s!, STREAMS.ALERTS.name);
    const intervals = new Map<string, { rule: string; sensor: string; start: number; end: number }>();
    for (const a of alerts) {
      const cur = intervals.get(a.id) ?? { rule: a.rule, sensor: a.sensor, start: a.start, end: Infinity };
      if (a.state === 'resolved') cur.end = a.end!;
      intervals.set(a.id, cur);
    }
    const gts = truth.filter((g) => g.kind in ruleFor);
    expect(gts.map((g) => g.kind).sort()).toEqual(['dropout', 'spike', 'stuck']);
    for (const g of gts) {
      const hit = [...intervals.values()].find((i) => i.rule === ruleFor[g.kind] && i.sensor === g.sensor && i.start < g.end && i.end > g.start);
      expect(hit, `${g.kind} on ${g.device}/${g.sensor} ${g.start}..${g.end}`).toBeDefined();
    }
    // Precision: no alert of these rules far from any injected anomaly.
    for (const i of intervals.values()) {
      const near = truth.some((g) => g.sensor === i.sensor && i.start < g.end + 30_000 && i.end > g.start - 30_000);
      expect(near, `alert ${i.rule} ${i.sensor} ${i.start}..${i.end}`).toBe(true);
    }
    const influxAlerts = await queryRows(s!.influx, 'SELECT * FROM alerts GROUP BY *');
    expect(influxAlerts).toHaveLength(alerts.length);
  });

  it('the dropout closes the sensor session as dropout and raises a dropout alert', async () => {
    const gt = truth.find((g) => g.kind === 'dropout')!;
    const sessions = await streamMessages<SessionSummary>(s!, STREAMS.SESSIONS.name);
    const closed = sessions.find((x) => x.device === gt.device && x.sensor === gt.sensor && x.closedBy === 'dropout');
    expect(closed).toBeDefined();
    expect(closed!.end).toBeLessThan(gt.start);
    expect(closed!.end).toBeGreaterThanOrEqual(gt.start - 2000);
    const stored = await queryRows(s!.influx, `SELECT * FROM sessions WHERE closed_by='dropout' GROUP BY *`);
    expect(stored.some((r) => r.sensor === gt.sensor && r.time === Math.floor(closed!.start))).toBe(true);
    const alerts = await streamMessages<AlertEvent>(s!, STREAMS.ALERTS.name);
    const dropout = alerts.filter((a) => a.rule === 'dropout' && a.sensor === gt.sensor);
    expect(dropout.map((a) => a.state)).toEqual(['firing', 'resolved']);
    expect(dropout[0]!.start).toBe(closed!.end + 10_000);
    expect(dropout[1]!.end).toBeGreaterThanOrEqual(gt.end);
  });

  it('redelivering every message once more leaves InfluxDB and ALERTS identical', async () => {
    const before = await snapshotInflux(s!);
    const alertsBefore = await streamMessages<AlertEvent>(s!, STREAMS.ALERTS.name);
    // New Nats-Msg-Ids so JetStream's dedup window does not hide them: the processor must.
    for (const e of envs) await publish(s!.js, e, ':again');
    await waitFor(() => drainedGroup(s!, 'processor'), { timeoutMs: 60_000, intervalMs: 200, what: 'redelivered messages acked' });
    expect(await snapshotInflux(s!)).toEqual(before);
    expect(await streamMessages<AlertEvent>(s!, STREAMS.ALERTS.name)).toEqual(alertsBefore);
    const dup = await p!.metrics.duplicates.get();
    expect(dup.values.reduce((n, v) => n + v.value, 0)).toBe(envs.length);
  });

  it('a fresh processor replaying the stream from the start rewrites exactly the same points', async () => {
    const before = await snapshotInflux(s!);
    const alertsBefore = await streamMessages<AlertEvent>(s!, STREAMS.ALERTS.name);
    await p!.close();
    p = await startProcessor(cfg('replay'), { logger: silentLogger });
    await waitFor(() => drainedGroup(s!, 'replay'), { timeoutMs: 60_000, intervalMs: 200, what: 'replay to finish' });
    const lines = (await p.metrics.sinkLines.get()).values[0]?.value ?? 0;
    expect(lines).toBeGreaterThan(readings);
    expect(await snapshotInflux(s!)).toEqual(before);
    expect(await streamMessages<AlertEvent>(s!, STREAMS.ALERTS.name)).toEqual(alertsBefore);
  });
});
