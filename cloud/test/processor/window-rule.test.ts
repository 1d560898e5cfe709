/**
 * The `window` rule on a firmware-sim scenario made for it (firmware-sim/scenarios/window-rules.yaml),
 * through the live processor on real nats-server + influxd: each rule fires and resolves once per
 * injected episode, and stays one alert per episode when every message is delivered again and
 * when a fresh processor replays the stream from the start.
 */
import { STREAMS, type AlertEvent, type Envelope } from '@fieldline/contract';
import { generateSamples, loadScenario, type GroundTruthRecord } from '@fieldline/firmware-sim';
import { cleanupAll, waitFor } from '@fieldline/harness';
import { AckPolicy, DeliverPolicy } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcessor, type Processor } from '../../src/processor/index.js';
import type { ProcessorConfigInput } from '../../src/processor/config.js';
import { baseConfig, drained, envelope, publish, queryRows, silentLogger, startServices, stopServices, type Services } from './helpers.js';

const scenario = loadScenario(new URL('../../../firmware-sim/scenarios/window-rules.yaml', import.meta.url).pathname);

const detectors: ProcessorConfigInput['detectors'] = [
  { rule: 'temp-5m-hot', type: 'window', match: { sensor: 'temp' }, params: { window: { kind: 'tumbling', size: '5m' }, aggregate: 'mean', condition: { above: 30, hysteresis: 1 } } },
  { rule: 'few-readings', type: 'window', severity: 'info', match: { sensor: 'hum' }, params: { window: { kind: 'tumbling', size: '1m' }, aggregate: 'count', condition: { below: 50 } } },
  { rule: 'vib-spread', type: 'window', match: { sensor: 'vib' }, params: { window: { kind: 'hopping', size: '10m', hop: '1m' }, aggregate: 'spread', condition: { above: 2, hysteresis: 0.2 } } },
];
const ruleFor: Record<string, string> = { level_shift: 'temp-5m-hot', dropout: 'few-readings', noise_burst: 'vib-spread' };

/** As an edge batches them: one message per device per 5 s. */
function envelopes(): { envs: Envelope[]; truth: GroundTruthRecord[] } {
  const run = generateSamples(scenario, { seed: 3 });
  const envs: Envelope[] = [];
  let cur: Envelope | undefined;
  for (const s of run) {
    if (cur && s.ts - cur.readings[0]!.ts >= 5000) {
      envs.push(cur);
      cur = undefined;
    }
    cur ??= envelope(s.device, []);
    cur.readings.push({ sensor: s.sensor, ts: s.ts, value: s.value, unit: s.unit });
    cur.clock.now = s.ts;
  }
  envs.push(cur!);
  return { envs, truth: run.groundTruth };
}


async function alertStream(s: Services): Promise<AlertEvent[]> {
  const jsm = await s.nc.jetstreamManager();
  const name = `read-alerts-${Math.floor(performance.now())}`;
  await jsm.consumers.add(STREAMS.ALERTS.name, { name, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
  const total = (await jsm.streams.info(STREAMS.ALERTS.name)).state.messages;
  const out: AlertEvent[] = [];
  const c = await s.js.consumers.get(STREAMS.ALERTS.name, name);
  while (out.length < total) for await (const m of await c.fetch({ max_messages: total - out.length, expires: 2000 })) out.push(m.json<AlertEvent>());
  await jsm.consumers.delete(STREAMS.ALERTS.name, name);
  return out;
}

const published = async (p: Processor): Promise<number> => (await p.metrics.alerts.get()).values.reduce((n, v) => n + v.value, 0);

describe('window rules on the live processor: a firmware-sim scenario made for them', () => {
  let s: Services | undefined;
  let p: Processor | undefined;
  const { envs, truth } = envelopes();
  const cfg = (prefix: string): ProcessorConfigInput => baseConfig(s!, { coordination: { group: prefix }, detectors });

  beforeAll(async () => {
    s = await startServices();
    p = await startProcessor(cfg('processor'), { logger: silentLogger });
    for (const e of envs) await publish(s.js, e);
    await waitFor(async () => drained(s!, 'processor'), { timeoutMs: 60_000, intervalMs: 200, what: 'the processor to ack every message' });
  }, 120_000);
  afterAll(async () => {
    await p?.close();
    await stopServices(s);
    cleanupAll();
  });

  it('each rule fires and resolves exactly once, over its injected episode, at window ends', async () => {
    const alerts = await alertStream(s!);
    expect(alerts.map((a) => [a.rule, a.state, new Date(a.start).toISOString().slice(11, 19), a.end === undefined ? '' : new Date(a.end).toISOString().slice(11, 19)])).toEqual([
      // The 5-minute mean is above 30 in the windows ending 00:25, 00:30 and 00:35 (the shift is 00:20 to 00:35).
      ['temp-5m-hot', 'firing', '00:25:00', ''],
      ['temp-5m-hot', 'resolved', '00:25:00', '00:40:00'],
      // The minute 00:50 has no humidity reading; judged when the sensor reports again (00:54).
      ['few-readings', 'firing', '00:51:00', ''],
      ['few-readings', 'resolved', '00:51:00', '00:54:01'],
      // Every 10-minute window holding a minute of the 4-minute burst (00:60 to 00:64): ends 01:01 to 01:13.
      ['vib-spread', 'firing', '01:01:00', ''],
      ['vib-spread', 'resolved', '01:01:00', '01:14:00'],
    ]);
    for (const g of truth) {
      const fired = alerts.find((a) => a.rule === ruleFor[g.kind] && a.state === 'resolved')!;
      expect(fired.start, g.kind).toBeGreaterThan(g.start);
      expect(fired.start, g.kind).toBeLessThanOrEqual(g.end + 10 * 60_000);
    }
    expect(alerts[0]!.message).toBe('temp-5m-hot: 5m mean 34 in the window ending 2026-01-12T00:25:00.000Z beyond limit (above 30)');
    expect(await queryRows(s!.influx, 'SELECT * FROM alerts GROUP BY *')).toHaveLength(6);
  });

  it('under redelivery: no alert published again, InfluxDB and ALERTS unchanged', async () => {
    const before = { stream: await alertStream(s!), influx: await queryRows(s!.influx, 'SELECT * FROM alerts GROUP BY *'), published: await published(p!) };
    // New Nats-Msg-Ids, so JetStream's dedup window does not hide them: the processor must.
    for (const e of envs) await publish(s!.js, e, ':again');
    await waitFor(async () => drained(s!, 'processor'), { timeoutMs: 60_000, intervalMs: 200, what: 'redelivered messages acked' });
    expect(await published(p!)).toBe(before.published);
    expect(await alertStream(s!)).toEqual(before.stream);
    expect(await queryRows(s!.influx, 'SELECT * FROM alerts GROUP BY *')).toEqual(before.influx);
  });

  it('a fresh processor replaying the stream from the start raises the same alerts, same ids', async () => {
    const before = await alertStream(s!);
    await p!.close();
    p = await startProcessor(cfg('replay'), { logger: silentLogger });
    await waitFor(async () => drained(s!, 'replay'), { timeoutMs: 60_000, intervalMs: 200, what: 'replay to finish' });
    // It published each transition again under the same msgID ({id}:{state}): one alert per episode still.
    expect(await published(p)).toBe(6);
    const after = await alertStream(s!);
    expect(after).toEqual(before);
    expect(new Set(after.map((a) => a.id)).size).toBe(3);
  });
});
