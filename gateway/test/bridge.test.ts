import { waitFor } from '@fieldline/harness';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadGatewayConfig, startGateway } from '../src/index.js';
import { connectDevice, envelope, rigFixture, streamMessages } from './helpers.js';

describe('bridge: MQTT QoS 1 -> JetStream, PUBACK after store', () => {
  const rig = rigFixture(['dev-a']);

  it('stores a valid envelope under fl.telemetry.{p}.{device} with Nats-Msg-Id = batch id, before the PUBACK', async () => {
    const c = await connectDevice(rig.mqttUrl, 'dev-a');
    const body = envelope('dev-a', 3, 'epochaaaa', 7);
    await c.publishAsync('fl/v1/dev-a/telemetry', body, { qos: 1 });
    // PUBACK received: the message must already be in the stream.
    const jsm = await rig.nc.jetstreamManager();
    const msg = await jsm.streams.getMessage('TELEMETRY', { last_by_subj: 'fl.telemetry.*.dev-a' });
    expect(msg.header.get('Nats-Msg-Id')).toBe('dev-a:epochaaaa:7');
    expect(Buffer.from(msg.data).toString()).toBe(body);
    // A resend of the same batch is deduplicated.
    await c.publishAsync('fl/v1/dev-a/telemetry', body, { qos: 1 });
    expect(await streamMessages(rig.nc, 'TELEMETRY')).toBe(1);
    await c.endAsync();
  });

  it('keep-alive limit: none (0) or above keepaliveLimitS is refused, 60 s is fine', async () => {
    // aedes answers with CONNACK code 6, which MQTT 3.1.1 does not define; MQTT.js calls it "Connection refused".
    await expect(connectDevice(rig.mqttUrl, 'dev-a', { keepalive: 0 })).rejects.toThrow(/Connection refused/);
    await expect(connectDevice(rig.mqttUrl, 'dev-a', { keepalive: 301 })).rejects.toThrow(/Connection refused/);
    const c = await connectDevice(rig.mqttUrl, 'dev-a', { keepalive: 60 });
    await c.endAsync();
  });

  it('a second start with changed limits updates the streams in place (idempotent set-up)', async () => {
    const before = await streamMessages(rig.nc, 'TELEMETRY');
    const cfg = loadGatewayConfig({
      mqtt: { host: '127.0.0.1', port: 0 },
      auth: { registryFile: rig.registryFile },
      nats: { servers: [rig.nats.url], streams: { telemetry: { maxAgeS: 3600, duplicateWindowS: 60 } } },
      http: null,
    });
    const second = await startGateway(cfg, { logger: pino({ level: 'silent' }) });
    await second.close();
    const jsm = await rig.nc.jetstreamManager();
    const info = await jsm.streams.info('TELEMETRY');
    expect(info.config.max_age).toBe(3600 * 1e9);
    expect(info.config.duplicate_window).toBe(60 * 1e9);
    expect(info.config.storage).toBe('file');
    expect(info.state.messages).toBe(before);
    expect((await jsm.streams.info('DEADLETTER')).config.subjects).toEqual(['fl.deadletter.>']);
  });

  it('serves /metrics and /healthz', async () => {
    const h = await fetch(`http://127.0.0.1:${rig.gateway.httpPort}/healthz`);
    expect(h.status).toBe(200);
    const m = await (await fetch(`http://127.0.0.1:${rig.gateway.httpPort}/metrics`)).text();
    expect(m).toMatch(/fieldline_gateway_readings_in_total 3/);
    await waitFor(async () => /fieldline_gateway_connected_devices 0/.test(await (await fetch(`http://127.0.0.1:${rig.gateway.httpPort}/metrics`)).text()));
  });
});
