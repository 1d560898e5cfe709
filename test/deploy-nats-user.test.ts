// docs/deploy.md, "Point at an existing NATS cluster": the NATS user it tells operators to make is
// enough for the whole cloud side. nats-server runs with exactly that `authorization` block (read
// from the guide); the gateway, the processor and the query API log in as that user, and a
// device's reading goes MQTT → JetStream → processor → InfluxDB, its threshold alert reaches the
// ALERTS stream, its status the KV bucket the API reads, and a command from the API reaches the
// device. A client without the user is refused.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { connect } from 'nats';
import { pino } from 'pino';
import { commandsTopic, statusTopic, telemetryTopic } from '@fieldline/contract';
import { cleanupAll, InfluxServer, NatsServer, tempDir, waitFor } from '@fieldline/harness';
import { addDevice, loadGatewayConfig, startGateway, type Gateway } from '@fieldline/gateway';
import { drained, loadApiConfig, loadProcessorConfig, startApi, startProcessor, type ApiHandle, type Processor } from '@fieldline/cloud';

const guide = readFileSync(resolve(import.meta.dirname, '../docs/deploy.md'), 'utf8');
const block = /<<'CONF'\n([\s\S]*?)\nCONF/.exec(guide)?.[1];
const PASSWORD = 'nats-user-test-password';
const TOKEN = 'nats-user-test-api-token-0123';
const logger = pino({ level: 'silent' });

let nats: NatsServer;
let influx: InfluxServer;
let gateway: Gateway;
let processor: Processor;
let api: ApiHandle;
let device: MqttClient;

beforeAll(async () => {
  expect(block, 'the authorization block in docs/deploy.md').toMatch(/^authorization \{/);
  [nats, influx] = await Promise.all([NatsServer.start({ extraConfig: block!.replace('CHANGE-ME', PASSWORD) }), InfluxServer.start()]);
  const dir = tempDir('nats-user');
  const registryFile = join(dir, 'devices.json');
  await addDevice(registryFile, 'pi-01', 'device-password-0123');
  const passFile = join(dir, 'nats-pass');
  writeFileSync(passFile, PASSWORD);
  gateway = await startGateway(loadGatewayConfig({ mqtt: { host: '127.0.0.1', port: 0 }, auth: { registryFile }, nats: { servers: [nats.url], user: 'fieldline', password: PASSWORD }, http: null }), { logger });
  processor = await startProcessor(
    loadProcessorConfig({
      nats: { servers: [nats.url], user: 'fieldline', pass: PASSWORD },
      influx: { url: influx.url },
      http: { port: null },
      sink: { flushIntervalMs: 100 },
      // A checkpoint soon after the reading: the Object Store's subjects ($O.>) are in the block too.
      coordination: { checkpointMs: 200 },
      detectors: [{ rule: 'hot', type: 'threshold', severity: 'critical', params: { above: 30 } }],
    }),
    { logger },
  );
  api = await startApi(loadApiConfig({ port: 0, ops: null, influx: { url: influx.url }, nats: { servers: [nats.url], user: 'fieldline', passFile }, auth: { tokens: [TOKEN] } }), { logger });
  device = await mqtt.connectAsync(`mqtt://127.0.0.1:${gateway.mqttPort}`, { clientId: 'pi-01', username: 'pi-01', password: 'device-password-0123', reconnectPeriod: 0 });
}, 120_000);

afterAll(async () => {
  await device?.endAsync();
  await api?.close();
  await processor?.close();
  await gateway?.close();
  await Promise.all([nats?.stop(), influx?.stop()]);
  cleanupAll();
});

it('the fieldline NATS user of the guide carries readings, alerts, status and commands end to end', async () => {
  const now = Date.now();
  await device.publishAsync(statusTopic('pi-01'), JSON.stringify({ v: 1, device: 'pi-01', state: 'online', ts: now }), { qos: 1, retain: true });
  const readings = [20, 21, 35, 36].map((value, i) => ({ sensor: 'temp', ts: now - 4000 + i * 1000, value, unit: 'C' }));
  await device.publishAsync(telemetryTopic('pi-01'), JSON.stringify({ v: 1, device: 'pi-01', epoch: 'natsuser1', seq: 1, clock: { synced: true, now }, readings }), { qos: 1 });

  // Stored by JetStream (PUBACK above), processed into InfluxDB by the processor.
  await waitFor(async () => (await influx.query('SELECT count(value) FROM readings', 'fieldline'))[0]?.values[0]?.[1] === 4, { timeoutMs: 30_000, what: '4 readings in InfluxDB' });

  // Its partition's state checkpointed to the Object Store (leases and commits are KV writes).
  await waitFor(async () => ((await processor.metrics.checkpoints.get()).values.find((v) => v.labels.result === 'ok')?.value ?? 0) > 0, { timeoutMs: 15_000, what: 'a checkpoint stored' });

  // The threshold alert in the ALERTS stream, read as the same user.
  const nc = await connect({ servers: nats.url, user: 'fieldline', pass: PASSWORD });
  try {
    const jsm = await nc.jetstreamManager();
    await waitFor(async () => (await jsm.streams.info('ALERTS')).state.messages >= 1, { timeoutMs: 30_000, what: 'an alert in ALERTS' });
    // The processor committed the message (its commit record in KV is the ack).
    await waitFor(() => drained(nc, { partitions: processor.config.partitions.count }), { timeoutMs: 15_000, what: 'every TELEMETRY message committed' });
  } finally {
    await nc.close();
  }

  // The API reads the status KV bucket and sends a command that reaches the device.
  const get = async (path: string): Promise<Response> => fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  await waitFor(async () => JSON.stringify(await (await get('/api/v1/devices')).json()).includes('"state":"online"'), { timeoutMs: 15_000, what: 'device status through the API' });
  await device.subscribeAsync(commandsTopic('pi-01'), { qos: 1 });
  const received = new Promise<string>((r) => device.once('message', (topic) => r(topic)));
  const sent = await fetch(`${api.url}/api/v1/devices/pi-01/commands`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ping' }) });
  expect(sent.status, await sent.text()).toBe(202);
  expect(await received).toBe('fl/v1/pi-01/commands/ping');
  // No service was refused anything along the way (nats-server logs each refused publish or subscribe).
  expect(nats.log).not.toMatch(/Violation/);
});

it('refuses a NATS client without the user', async () => {
  await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow(/Authorization/i);
});
