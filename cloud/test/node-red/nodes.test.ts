import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { alertId, STREAMS, subjects, type AlertEvent, type CommandMessage } from '@fieldline/contract';
import { addDevice, loadGatewayConfig, startGateway, type Gateway } from '@fieldline/gateway';
import { InfluxServer, NatsServer, cleanupAll, tempDir, waitFor } from '@fieldline/harness';
import { loadApiConfig, startApi, type ApiHandle } from '../../src/api/index.js';
import { KEEP_FOREVER } from '../processor/helpers.js';
import { startNodeRed, type NodeRedProcess } from '../../node-red/launch.mjs';

// The query and command nodes against the real query API (real InfluxDB, real NATS) and the real
// gateway with an MQTT device, driven through HTTP endpoints of a fixture flow; the `complete`
// ack mode on a real JetStream consumer.
const FLOW = fileURLToPath(new URL('./fixtures/nodes-flow.json', import.meta.url));
const API_TOKEN = 'node-red-test-token-0123456789';
const T0 = Date.parse('2026-01-01T00:00:00Z');

let influx: InfluxServer;
let nats: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let api: ApiHandle;
let nodeRed: NodeRedProcess;
let gateway: Gateway | undefined;
let device: MqttClient;
const received: { topic: string; cmd: CommandMessage }[] = [];
const DEVICE_PASSWORD = 'device-password-1';
const ADMIN_PASSWORD = 'another long password';

async function writeReadings(): Promise<void> {
  const lines: string[] = [];
  for (let i = 0; i < 600; i++) lines.push(`readings,device=pump-1,sensor=temp value=${20 + (i % 10)},score=0.1 ${T0 + i * 1000}`);
  const res = await fetch(`${influx.url}/write?db=fieldline&precision=ms`, { method: 'POST', body: lines.join('\n') });
  expect(res.status).toBe(204);
}

async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${nodeRed.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  [influx, nats] = await Promise.all([InfluxServer.start(), NatsServer.start()]);
  await influx.createDatabase('fieldline');
  await writeReadings();
  nc = await connect({ servers: nats.url });
  jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: STREAMS.ALERTS.name, subjects: [...STREAMS.ALERTS.subjects] });
  const registryFile = join(tempDir('gw'), 'devices.json');
  await addDevice(registryFile, 'pump-1', DEVICE_PASSWORD);
  gateway = await startGateway(
    loadGatewayConfig({ mqtt: { host: '127.0.0.1', port: 0 }, auth: { registryFile }, http: null, nats: { servers: [nats.url] }, log: { level: 'silent' } }),
    { logger: pino({ level: 'silent' }) },
  );
  device = await mqtt.connectAsync(`mqtt://127.0.0.1:${gateway.mqttPort}`, { clientId: 'pump-1', username: 'pump-1', password: DEVICE_PASSWORD, reconnectPeriod: 0 });
  await device.subscribeAsync('fl/v1/pump-1/commands/#', { qos: 1 });
  device.on('message', (topic, payload) => received.push({ topic, cmd: JSON.parse(payload.toString()) as CommandMessage }));
  api = await startApi(loadApiConfig({ port: 0, ops: { port: 0 }, influx: { url: influx.url }, tiers: KEEP_FOREVER, nats: { servers: nats.url }, auth: { tokens: [API_TOKEN] } }), {
    logger: pino({ level: 'silent' }),
  });
  nodeRed = await startNodeRed({
    flowFile: FLOW,
    adminPassword: ADMIN_PASSWORD,
    credentialSecret: 'fixture-secret',
    credentials: { 'fx-config': { apiToken: API_TOKEN } },
    env: { FL_NATS_URL: nats.url, FL_API_URL: api.url },
  });
  await waitFor(() => jsm.consumers.info(STREAMS.ALERTS.name, 'fx-complete').then(() => true), { timeoutMs: 30_000, what: 'consumer fx-complete' });
}, 120_000);

afterAll(async () => {
  await nodeRed?.close();
  await device?.endAsync();
  await gateway?.close();
  await api?.close();
  await nc?.close();
  await Promise.all([influx?.stop(), nats?.stop()]);
  cleanupAll();
});

describe('fieldline query', () => {
  it('fetches a downsampled series with the API token from the encrypted credentials', async () => {
    const res = await fetch(`${nodeRed.url}/t/query?device=pump-1&sensor=temp&from=${T0}&to=${T0 + 600_000}&points=60`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { points: number; time: number[]; mean: number[]; min: number[]; max: number[] };
    expect(body.points).toBe(60);
    expect(body.time[0]).toBe(T0);
    // Each 10 s bucket holds the readings 20..29 once.
    expect([body.min[0], body.mean[0], body.max[0]]).toEqual([20, 24.5, 29]);
  });

  it('accepts ISO times and other kinds (devices)', async () => {
    const iso = await fetch(`${nodeRed.url}/t/query?device=pump-1&sensor=temp&from=${new Date(T0).toISOString()}&to=${new Date(T0 + 60_000).toISOString()}&points=6`);
    const isoBody = (await iso.json()) as { time: number[]; mean: number[] };
    expect(isoBody.time).toEqual([0, 1, 2, 3, 4, 5].map((i) => T0 + i * 10_000));
    expect(isoBody.mean.every((m) => m === 24.5)).toBe(true);
    const devices = (await (await fetch(`${nodeRed.url}/t/query?kind=devices`)).json()) as { devices: { device: string }[] };
    expect(devices.devices.map((d) => d.device)).toContain('pump-1');
  });

  it("reports the API's 400 message as a node error", async () => {
    const res = await fetch(`${nodeRed.url}/t/query?device=pump-1&sensor=temp&from=${T0}&to=${T0 + 1000}&points=999999`);
    expect(res.status).toBe(502);
    const { error } = (await res.json()) as { error: string };
    // Node-RED's Catch node gives the error as its toString(): "Error: <message>".
    expect(error).toMatch(/^Error: fieldline query: \/api\/v1\/series answered 400: query parameter "points"/);
  });

  it('refuses a time it cannot parse before calling the API', async () => {
    const res = await fetch(`${nodeRed.url}/t/query?device=pump-1&sensor=temp&from=yesterday-ish`);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: string }).error).toContain('from: "yesterday-ish" is not epoch ms');
  });
});

describe('fieldline command', () => {
  it('sends a contract CommandMessage through the gateway to the device over MQTT', async () => {
    const res = await post('/t/command', { device: 'pump-1', command: 'set-interval', args: { seconds: 5 } });
    expect(res.status).toBe(200);
    const { command, delivered } = res.body as { command: CommandMessage; delivered: boolean };
    expect(command).toEqual({ v: 1, id: command.id, name: 'set-interval', args: { seconds: 5 } });
    expect(command.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(delivered).toBe(true);
    await waitFor(() => received.find((r) => r.cmd.id === command.id), { what: 'the command at the device' });
    expect(received.find((r) => r.cmd.id === command.id)).toEqual({ topic: 'fl/v1/pump-1/commands/set-interval', cmd: command });
  });

  it('reports delivered: false for a device without a session', async () => {
    const res = await post('/t/command', { device: 'pump-3', command: 'reboot' });
    expect(res.status).toBe(200);
    expect(res.body.delivered).toBe(false);
  });

  it('sends through the query API when configured to', async () => {
    const sub = nc.subscribe(subjects.commands('pump-2'), { max: 1 });
    const got = (async () => {
      for await (const m of sub) return JSON.parse(m.string()) as CommandMessage;
      throw new Error('no command');
    })();
    const res = await post('/t/command-api', { device: 'pump-2', command: 'reboot' });
    expect(res.status).toBe(200);
    expect(await got).toEqual({ v: 1, id: res.body.command.id, name: 'reboot' });
  });

  it('refuses bad device ids and the reserved name with a clear error', async () => {
    expect((await post('/t/command', { device: 'Pump 1', command: 'reboot' })).body.error).toBe(
      'Error: fieldline command: device: device id "Pump 1" must be lower case; must match [a-z0-9][a-z0-9_-]{0,62}',
    );
    expect((await post('/t/command', { device: 'pump-1', command: 'rejected' })).body.error).toBe('Error: fieldline command: name: "rejected" is reserved');
  });

  it('fails clearly when no gateway is listening', async () => {
    await gateway?.close();
    gateway = undefined;
    const res = await post('/t/command', { device: 'pump-1', command: 'reboot' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('Error: fieldline command: no gateway is subscribed to fl.commands.pump-1');
  });
});

describe('fieldline alerts, ack when every wired node is done', () => {
  function alert(severity: AlertEvent['severity'], value: number, start: number): AlertEvent {
    const a = { v: 1 as const, state: 'firing' as const, severity, device: 'pump-9', sensor: 'temp', rule: 'zscore', start, ts: start, value, score: 5, message: 'test' };
    return { ...a, id: alertId(a) };
  }
  const js = () => nc.jetstream();

  it('acks after done(), naks on done(err) until max deliveries, acks filtered alerts at once', async () => {
    const maxed: number[] = [];
    const adv = nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${STREAMS.ALERTS.name}.fx-complete`);
    void (async () => {
      for await (const m of adv) maxed.push((JSON.parse(m.string()) as { stream_seq: number }).stream_seq);
    })();
    const good = alert('critical', 5, T0);
    const bad = alert('critical', -1, T0 + 1000);
    const filtered = alert('info', 1, T0 + 2000);
    await js().publish(subjects.alerts('critical', 'pump-9'), JSON.stringify(good));
    const badSeq = (await js().publish(subjects.alerts('critical', 'pump-9'), JSON.stringify(bad))).seq;
    await js().publish(subjects.alerts('info', 'pump-9'), JSON.stringify(filtered));
    await waitFor(() => maxed.includes(badSeq), { timeoutMs: 30_000, what: 'the max-deliveries advisory for the failing alert' });
    const info = await jsm.consumers.info(STREAMS.ALERTS.name, 'fx-complete');
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
    expect(nodeRed.log.match(/will be redelivered: node fx-check reported: negative value -1/g)).toHaveLength(2);
    adv.unsubscribe();
  });
});

describe('Node-RED editor (headless Chromium)', () => {
  it('logs in, shows the fieldline palette and opens a node dialog without script errors', async () => {
    const browser = await chromium.launchPersistentContext(tempDir('chromium'), {
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(nodeRed.url);
      await page.fill('#node-dialog-login-username', 'admin');
      await page.fill('#node-dialog-login-password', ADMIN_PASSWORD);
      await page.click('#node-dialog-login-submit');
      for (const type of ['fieldline alerts', 'fieldline ack', 'fieldline query', 'fieldline command']) {
        await page.waitForSelector(`.red-ui-palette-node[data-palette-type="${type}"]`, { timeout: 30_000 });
      }
      await page.evaluate(() => {
        const RED = (globalThis as unknown as { RED: { editor: { edit(n: unknown): void }; nodes: { node(id: string): unknown } } }).RED;
        RED.editor.edit(RED.nodes.node('fx-alerts'));
      });
      await page.waitForSelector('#node-input-durable', { state: 'visible', timeout: 15_000 });
      expect(await page.inputValue('#node-input-durable')).toBe('fx-complete');
      expect(await page.inputValue('#node-input-ackMode')).toBe('complete');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 90_000);
});
