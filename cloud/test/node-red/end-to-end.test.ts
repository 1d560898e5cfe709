import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { batchId, encodeEnvelope, partitionOf, STREAMS, subjects, type AlertEvent, type Envelope } from '@fieldline/contract';
import { generateSamples, loadScenario } from '@fieldline/firmware-sim';
import { InfluxServer, NatsServer, cleanupAll, waitFor } from '@fieldline/harness';
import { KEEP_FOREVER } from '../processor/helpers.js';
import { startProcessor, type Processor } from '../../src/processor/index.js';
import { startNodeRed, type NodeRedProcess } from '../../node-red/launch.mjs';
import { WebhookReceiver } from './webhook-receiver.js';

// firmware-sim anomaly -> TELEMETRY envelopes -> processor (threshold detector, InfluxDB) ->
// ALERTS -> Node-RED with the example flow -> the test's webhook. All real processes.
const SCENARIO = fileURLToPath(new URL('../../../firmware-sim/scenarios/greenhouse.yaml', import.meta.url));
const DEVICE = 'gh-01';

let nats: NatsServer;
let influx: InfluxServer;
let nc: NatsConnection;
let processor: Processor;
let webhook: WebhookReceiver;
let nodeRed: NodeRedProcess;

beforeAll(async () => {
  [nats, influx] = await Promise.all([NatsServer.start(), InfluxServer.start()]);
  await influx.createDatabase('fieldline');
  nc = await connect({ servers: nats.url });
  processor = await startProcessor(
    {
      nats: { servers: [nats.url] },
      influx: { url: influx.url, database: 'fieldline' },
      tiers: KEEP_FOREVER,
      http: { port: null },
      sink: { flushIntervalMs: 100 },
      log: { level: 'silent' },
      detectors: [{ rule: 'temp-high', type: 'threshold', severity: 'critical', match: { sensor: 'temp' }, params: { above: 27, hysteresis: 1 } }],
    },
    { logger: pino({ level: 'silent' }) },
  );
  webhook = await WebhookReceiver.start();
  nodeRed = await startNodeRed({
    adminPassword: 'e2e admin password',
    credentialSecret: 'e2e-secret',
    env: { FL_NATS_URL: nats.url, FL_API_URL: 'http://127.0.0.1:9', FL_ALERT_WEBHOOK_URL: `${webhook.url}/alerts` },
  });
  const jsm = await nc.jetstreamManager();
  await waitFor(() => jsm.consumers.info(STREAMS.ALERTS.name, 'node-red-alerts').then(() => true), { timeoutMs: 30_000, what: 'the Node-RED consumer' });
}, 120_000);

afterAll(async () => {
  await nodeRed?.close();
  await processor?.close();
  await nc?.close();
  await webhook?.close();
  await Promise.all([nats?.stop(), influx?.stop()]);
  cleanupAll();
});

it('a firmware-sim temperature spike reaches the webhook as one critical alert, even when replayed', async () => {
  const scenario = loadScenario(SCENARIO);
  const run = generateSamples(scenario, { seed: 1, until: scenario.start + 90_000 });
  const spike = run.groundTruth.find((g) => g.device === DEVICE && g.sensor === 'temp' && g.kind === 'spike')!;
  expect(spike).toBeDefined();
  // Envelopes of 5 s of gh-01 readings, published the way the gateway does.
  const js = nc.jetstream();
  const readings = [...run].filter((s) => s.device === DEVICE).map((s) => ({ sensor: s.sensor, ts: s.ts, value: s.value, unit: s.unit }));
  let seq = 0;
  for (let t = scenario.start; t < scenario.start + 90_000; t += 5000) {
    const batch = readings.filter((r) => r.ts >= t && r.ts < t + 5000);
    const env: Envelope = { v: 1, device: DEVICE, epoch: 'e2eepoch01', seq: ++seq, clock: { synced: true, now: t + 5000 }, readings: batch };
    await js.publish(subjects.telemetry(partitionOf(DEVICE), DEVICE), encodeEnvelope(env), { msgID: batchId(env) });
  }

  const firing = await waitFor(() => webhook.calls.find((c) => (c.body as AlertEvent).state === 'firing'), { timeoutMs: 60_000, what: 'the firing alert at the webhook' });
  const alert = firing.body as AlertEvent;
  expect(alert).toMatchObject({ v: 1, device: DEVICE, sensor: 'temp', rule: 'temp-high', severity: 'critical', state: 'firing' });
  expect(alert.start).toBeGreaterThanOrEqual(spike.start);
  expect(alert.start).toBeLessThan(spike.end);
  expect(alert.value).toBeGreaterThan(27);

  // A replay after JetStream's dedup window: the processor's own ALERTS messages published again.
  const jsm = await nc.jetstreamManager();
  const { state } = await jsm.streams.info(STREAMS.ALERTS.name);
  for (let s = state.first_seq; s <= state.last_seq; s++) {
    const m = await jsm.streams.getMessage(STREAMS.ALERTS.name, { seq: s });
    await js.publish(m.subject, m.data, { msgID: `replay-${s}` });
  }
  const last = (await jsm.streams.info(STREAMS.ALERTS.name)).state.last_seq;
  await waitFor(
    async () => {
      const ci = await jsm.consumers.info(STREAMS.ALERTS.name, 'node-red-alerts');
      return ci.num_ack_pending === 0 && ci.num_pending === 0 && ci.ack_floor.stream_seq >= last;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: 'Node-RED to ack the replayed alerts' },
  );
  const keys = webhook.calls.map((c) => `${(c.body as AlertEvent).id}|${(c.body as AlertEvent).state}`);
  expect(keys.filter((k) => k === `${alert.id}|firing`)).toHaveLength(1);
  expect(new Set(keys).size).toBe(keys.length);
});
