// The gateway reconnects to a nats-server (the same one, restarted on its port and JetStream store
// dir) whose max_payload is now smaller than at start-up, and back. Bundles already cut too large
// are split, new ones are cut by the live limit, and a lone envelope too large for the server is
// held, visibly (log, metric, /healthz), until a server takes it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PARTITIONS, partitionOf, subjects } from '@fieldline/contract';
import { cleanupAll, NatsServer, teardown, tempDir, waitFor } from '@fieldline/harness';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDevice, loadGatewayConfig, startGateway, type Gateway } from '../src/index.js';
import { connectDevice, envelope, PASSWORD, telemetryBatches } from './helpers.js';

const LARGE = 1024 * 1024;
const SMALL = 16_384;

interface HealthBody {
  status: string;
  checks: { nats: { ok: boolean; detail: { pending: unknown; problem?: string } } };
}

describe('a reconnect to a server with a smaller max_payload, then back to a larger one', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let gateway: Gateway;
  let a: MqttClient;
  let b: MqttClient;
  const logs: { level: number; msg: string }[] = [];
  const sent: string[] = [];

  const gauge = async (g: Gateway['metrics']['natsConnected']): Promise<number> => (await g.get()).values[0]?.value ?? 0;
  const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${gateway.httpPort}/metrics`)).text();
  const health = async (): Promise<{ status: number; body: HealthBody }> => {
    const res = await fetch(`http://127.0.0.1:${gateway.httpPort}/healthz`);
    return { status: res.status, body: (await res.json()) as HealthBody };
  };

  /** Stops nats-server and waits until the gateway has seen it go. */
  async function stopNats(): Promise<void> {
    await nats.stop();
    await waitFor(async () => (await gauge(gateway.metrics.natsConnected)) === 0, { what: 'the gateway to see NATS go' });
  }

  /** Starts it again, same port and store dir, with `maxPayload`, and waits until the gateway is back. */
  async function startNats(maxPayload: number): Promise<void> {
    writeFileSync(nats.configFile, readFileSync(nats.configFile, 'utf8').replace(/max_payload: \d+/, `max_payload: ${maxPayload}`));
    await nats.start();
    await waitFor(async () => (await gauge(gateway.metrics.natsConnected)) === 1, { timeoutMs: 20_000, what: 'the gateway to reconnect' });
    // The test's own connection reconnects on its own schedule: a stream read before would time out.
    await waitFor(async () => !!(await (await nc.jetstreamManager()).streams.info('TELEMETRY')), { timeoutMs: 20_000, what: 'the test client to reconnect' });
  }

  /** Publishes `bodies` on dev-a all at once, not waiting for PUBACKs; resolves when every one is PUBACKed. */
  const publishAll = (bodies: string[]): Promise<unknown> => {
    sent.push(...bodies);
    return Promise.all(bodies.map((body) => a.publishAsync('fl/v1/dev-a/telemetry', body, { qos: 1 })));
  };

  beforeAll(async () => {
    const dir = tempDir('gwmaxpayload');
    const registryFile = join(dir, 'devices.json');
    for (const d of ['dev-a', 'dev-b']) await addDevice(registryFile, d, PASSWORD);
    nats = await NatsServer.start({ extraConfig: `max_payload: ${LARGE}` });
    const cfg = loadGatewayConfig({ mqtt: { host: '127.0.0.1', port: 0 }, auth: { registryFile }, http: { host: '127.0.0.1', port: 0 }, nats: { servers: [nats.url] } });
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) });
    gateway = await startGateway(cfg, { logger });
    nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    [a, b] = await Promise.all([connectDevice(`mqtt://127.0.0.1:${gateway.mqttPort}`, 'dev-a'), connectDevice(`mqtt://127.0.0.1:${gateway.mqttPort}`, 'dev-b')]);
  });

  afterAll(() =>
    teardown({
      'devices.end': () => Promise.all([a?.endAsync(true), b?.endAsync(true)]),
      'gateway.close': () => gateway?.close(),
      'nc.close': () => nc?.close(),
      'nats.stop': () => nats?.stop(),
      cleanupAll,
    }),
  );

  it('many envelopes of one turn, bigger together than the new limit: all PUBACKed, each stored once', async () => {
    // Cut while NATS is away, for the server the gateway knew (1 MiB), then refused by the new one: split.
    await stopNats();
    const held = Array.from({ length: 40 }, (_, i) => envelope('dev-a', 100, 'splitepoch', i + 1));
    expect(held.reduce((n, s) => n + s.length, 0)).toBeGreaterThan(SMALL * 8);
    const acked = publishAll(held);
    // aedes hands over one socket read (~13 of them) and reads on once those are PUBACKed: one bundle over 16 KiB.
    await waitFor(async () => ((await gateway.metrics.pendingEnvelopes.get()).values[0]?.value ?? 0) >= 4, { what: 'envelopes waiting for NATS' });
    await startNats(SMALL);
    await acked;
    expect(await metrics()).toMatch(/fieldline_gateway_js_payload_too_large_total\{action="split"\} [1-9]/);

    // Connected to the small server: new bundles are cut within its max_payload, none refused.
    const splitsBefore = /fieldline_gateway_js_payload_too_large_total\{action="split"\} (\d+)/.exec(await metrics())![1];
    const fresh = Array.from({ length: 60 }, (_, i) => envelope('dev-a', 100, 'liveepoch', i + 1));
    await publishAll(fresh);
    expect(/fieldline_gateway_js_payload_too_large_total\{action="split"\} (\d+)/.exec(await metrics())![1]).toBe(splitsBefore);

    const stored = await telemetryBatches(nc, 'dev-a');
    expect(stored.map((s) => s.id)).toEqual([...held.map((_, i) => `dev-a:splitepoch:${i + 1}`), ...fresh.map((_, i) => `dev-a:liveepoch:${i + 1}`)]);
    expect(stored.filter((s) => s.id.includes(':liveepoch:')).some((s) => s.bundled)).toBe(true);
    expect((await health()).status).toBe(200);
  });

  let loneAcked = false;
  const lone = envelope('dev-a', 600, 'loneepoch', 1);

  it('a lone envelope bigger than the new limit: no PUBACK, an error log naming both figures, counted, /healthz failing with the cause', async () => {
    const bytes = Buffer.byteLength(lone);
    expect(bytes).toBeGreaterThan(SMALL);
    sent.push(lone);
    a.publish('fl/v1/dev-a/telemetry', lone, { qos: 1 }, (err) => {
      if (!err) loneAcked = true;
    });
    const failing = await waitFor(
      async () => {
        const h = await health();
        return h.status === 503 && h.body.checks.nats.detail.problem ? h : undefined;
      },
      { what: '/healthz to report the held envelope' },
    );
    expect(failing.body.status).toBe('failing');
    expect(failing.body.checks.nats.ok).toBe(false);
    expect(failing.body.checks.nats.detail.problem).toBe(
      `1 message(s) held unacknowledged, the largest: a ${bytes}-byte message on ${subjects.telemetry(partitionOf('dev-a', DEFAULT_PARTITIONS), 'dev-a')} is over the NATS server's max_payload of ${SMALL} bytes (headers included); lower mqtt.maximumPacketSize to at most ${SMALL - 4096} bytes or raise the NATS server's max_payload`,
    );
    expect(await metrics()).toMatch(/fieldline_gateway_js_payload_too_large_total\{action="held"\} 1\b/);
    const errors = logs.filter((l) => l.level === 50 && l.msg.includes(`a ${bytes}-byte message`));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.msg).toContain(`max_payload of ${SMALL} bytes`);
    expect(errors[0]!.msg).toContain('lower mqtt.maximumPacketSize');

    // The gateway goes on for everyone else: another device's envelope is stored and PUBACKed.
    await b.publishAsync('fl/v1/dev-b/telemetry', envelope('dev-b', 1, 'otherepoch', 1), { qos: 1 });
    expect((await telemetryBatches(nc, 'dev-b')).map((s) => s.id)).toEqual(['dev-b:otherepoch:1']);
    expect(loneAcked).toBe(false);
    expect((await telemetryBatches(nc, 'dev-a')).some((s) => s.id === 'dev-a:loneepoch:1')).toBe(false);
  });

  it('back on a server with the large max_payload: the held envelope is stored and PUBACKed, /healthz healthy again', async () => {
    await stopNats();
    await startNats(LARGE);
    await waitFor(() => loneAcked, { timeoutMs: 30_000, what: 'the PUBACK of the held envelope' });
    const stored = (await telemetryBatches(nc, 'dev-a')).map((s) => s.id);
    expect(stored.filter((id) => id === 'dev-a:loneepoch:1')).toHaveLength(1);
    expect(new Set(stored).size).toBe(stored.length); // every envelope of dev-a exactly once, all phases
    expect(stored).toHaveLength(sent.length);
    const h = await health();
    expect(h.status).toBe(200);
    expect(h.body.checks.nats.ok).toBe(true);
    expect(h.body.checks.nats.detail.problem).toBeUndefined();
    expect(await metrics()).toMatch(/fieldline_gateway_js_payload_too_large_total\{action="held"\} 1\b/);
  });
});
