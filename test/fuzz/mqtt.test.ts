// Hostile input at the gateway: MQTT packets broken at the byte level (CONNECT, PUBLISH, SUBSCRIBE:
// lengths, flags, truncation), envelopes broken by structure (types, depth, size, numbers, strings,
// prototype keys), and a device acting as another (its topic, a Last Will or a retained status on
// another device's topic). Every one gets an answer or a closed connection, and a well-behaved
// device served at the same time keeps an exact ledger: each envelope PUBACKed, stored once, in order.
import { once } from 'node:events';
import { connect as tcp } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { cleanupAll, NatsServer, tempDir, waitFor } from '@fieldline/harness';
import { addDevice, loadGatewayConfig, startGateway, type Gateway } from '@fieldline/gateway';
import mqtt, { type MqttClient } from 'mqtt';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPacket, PINGREQ, publishPacket, subscribePacket, varint } from '../../gateway/test/mqtt-packets.js';
import { fcParams, TEST_TIMEOUT } from './profile.js';

const PASSWORD = 'fuzz-password-0123';
const T = Date.UTC(2026, 0, 1);
let nats: NatsServer;
let nc: NatsConnection;
let gateway: Gateway;
let good: GoodDevice;

const envelope = (device: string, epoch: string, seq: number, readings = 3): string =>
  JSON.stringify({ v: 1, device, epoch, seq, clock: { synced: true, now: T + seq }, readings: Array.from({ length: readings }, (_, i) => ({ sensor: `s${i}`, ts: T + seq * 10 + i, value: seq + i / 10 })) });

/** The well-behaved device: a QoS 1 envelope every 20 ms, each PUBACK recorded. */
class GoodDevice {
  readonly client: MqttClient;
  sent = 0;
  readonly acked: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  constructor(url: string) {
    this.client = mqtt.connect(url, { clientId: 'good', username: 'good', password: PASSWORD, protocolVersion: 4, reconnectPeriod: 200 });
    this.client.on('error', () => undefined);
  }
  start(): void {
    this.timer = setInterval(() => {
      const seq = ++this.sent;
      this.client.publish('fl/v1/good/telemetry', envelope('good', 'goodepoch1', seq), { qos: 1 }, (err) => {
        if (!err) this.acked.push(seq);
      });
    }, 20);
  }
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await waitFor(() => this.acked.length === this.sent, { timeoutMs: 20_000, what: 'every envelope of the good device PUBACKed' });
    await this.client.endAsync();
  }
}

async function telemetryIds(): Promise<string[]> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info('TELEMETRY');
  const ids: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage('TELEMETRY', { seq }).catch(() => null);
    if (m) ids.push(m.header.get('Nats-Msg-Id'));
  }
  return ids;
}

/** Writes bytes on a raw socket and waits for the gateway to close it (or `ms`), then destroys it. */
async function rawSession(bytes: Buffer, ms = 300): Promise<{ closed: boolean; answered: number }> {
  const s = tcp(gateway.mqttPort, '127.0.0.1');
  let answered = 0;
  let closed = false;
  s.on('data', (d: Buffer) => (answered += d.length));
  s.on('error', () => undefined);
  const end = once(s, 'close').then(() => (closed = true));
  await once(s, 'connect');
  s.write(bytes);
  await Promise.race([end, new Promise((r) => setTimeout(r, ms))]);
  s.destroy();
  return { closed, answered };
}

beforeAll(async () => {
  nats = await NatsServer.start();
  const registryFile = join(tempDir('fuzz-gw'), 'devices.json');
  for (const d of ['good', 'evil', 'other']) await addDevice(registryFile, d, PASSWORD);
  const cfg = loadGatewayConfig({ mqtt: { host: '127.0.0.1', port: 0, maximumPacketSize: 262_144 }, auth: { registryFile }, http: { host: '127.0.0.1', port: 0 }, nats: { servers: [nats.url] } });
  gateway = await startGateway(cfg, { logger: pino({ level: 'silent' }) });
  nc = await connect({ servers: nats.url });
  good = new GoodDevice(`mqtt://127.0.0.1:${gateway.mqttPort}`);
  await new Promise<void>((r) => good.client.once('connect', () => r()));
  good.start();
});

afterAll(async () => {
  await gateway?.close();
  await nc?.close();
  await nats?.stop();
  cleanupAll();
});

/** One mutation of a packet's bytes. */
const mutation = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('length' as const), len: fc.oneof(fc.integer({ min: 0, max: 268_435_455 }), fc.constant(-1)) }),
  fc.record({ op: fc.constant('flags' as const), nibble: fc.integer({ min: 0, max: 15 }) }),
  fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(p: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(p);
  for (const m of ms) {
    if (m.op === 'flip' && b.length > 0) b[m.at % b.length] = m.byte;
    else if (m.op === 'truncate') b = b.subarray(0, m.at % (b.length + 1));
    else if (m.op === 'flags' && b.length > 0) b[0] = (b[0]! & 0xf0) | m.nibble;
    else if (m.op === 'append') b = Buffer.concat([b, m.bytes]);
    else if (m.op === 'length' && b.length > 1) {
      // Replace the Remaining Length: any value, or five continuation bytes (malformed, 2.2.3).
      let i = 1;
      while (i < b.length && b[i]! & 0x80) i++;
      b = Buffer.concat([b.subarray(0, 1), m.len < 0 ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]) : varint(m.len), b.subarray(i + 1)]);
    }
  }
  return b;
}

const evilConnect = connectPacket('evil', 'evil', PASSWORD);
/** What a hostile client sends: a CONNECT and one more packet, either of which is then broken. */
const sessions: [string, Buffer[]][] = [
  ['CONNECT', [evilConnect, PINGREQ]],
  ['CONNECT with a foreign will', [connectPacket('evil', 'evil', PASSWORD, { topic: 'fl/v1/other/status', payload: '{"v":1,"device":"other","state":"offline"}', retain: true }), PINGREQ]],
  ['CONNECT as another device', [connectPacket('other', 'evil', PASSWORD), PINGREQ]],
  ['PUBLISH own telemetry', [evilConnect, publishPacket('fl/v1/evil/telemetry', envelope('evil', 'evilepoch1', 1))]],
  ['PUBLISH as another device', [evilConnect, publishPacket('fl/v1/other/telemetry', envelope('other', 'otherepoch', 1))]],
  ['PUBLISH retained foreign status', [evilConnect, publishPacket('fl/v1/other/status', '{"v":1,"device":"other","state":"online"}', { id: 3, retain: true })]],
  ['SUBSCRIBE', [evilConnect, subscribePacket('fl/v1/evil/commands/#')]],
  ['SUBSCRIBE foreign', [evilConnect, subscribePacket('fl/v1/+/commands/#')]],
];

describe('hostile input at the gateway, with a well-behaved device served at the same time', () => {
  it('MQTT packets broken at the byte level: each gets an answer or a closed connection, never a crash or a hang', async () => {
    let closedOrAnswered = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: sessions.length - 1 }), fc.boolean(), fc.array(mutation, { minLength: 1, maxLength: 4 }), async (which, breakFirst, ms) => {
        const [, packets] = sessions[which]!;
        const bytes = breakFirst ? Buffer.concat([mutate(packets[0]!, ms), packets[1]!]) : Buffer.concat([packets[0]!, mutate(packets[1]!, ms)]);
        const r = await rawSession(bytes);
        runs++;
        if (r.closed || r.answered > 0) closedOrAnswered++;
      }),
      fcParams(1101, 150, 3000),
    );
    // A session that neither closed nor answered sent a partial packet the broker is still waiting
    // on (MQTT has no other answer to it): most must have been answered or closed.
    expect(closedOrAnswered).toBeGreaterThan(runs / 2);
    // The gateway still serves a fresh client.
    const ok = await rawSession(Buffer.concat([connectPacket('evil', 'evil', PASSWORD), PINGREQ]));
    expect(ok.answered).toBeGreaterThanOrEqual(4 + 2); // CONNACK + PINGRESP
  }, TEST_TIMEOUT);

  it('envelopes broken by structure: every one PUBACKed (stored, or dead-lettered and the device told), the connection kept', async () => {
    const evil = await mqtt.connectAsync(`mqtt://127.0.0.1:${gateway.mqttPort}`, { clientId: 'evil', username: 'evil', password: PASSWORD, protocolVersion: 4, reconnectPeriod: 0 });
    const notices: string[] = [];
    evil.on('message', (topic, payload) => {
      if (topic === 'fl/v1/evil/commands/rejected') notices.push(payload.toString());
    });
    await evil.subscribeAsync('fl/v1/evil/commands/#', { qos: 1 });
    let closed = false;
    evil.on('close', () => (closed = true));
    const RAW = ['1e309', '-1e309', '1e-400', '-0', '9007199254740993', '123456789012345678901234567890', '"\\ud800"', '"\\u0000"', `${'['.repeat(6000)}${']'.repeat(6000)}`, `${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`];
    const hostileValue = fc.oneof(
      fc.anything({ maxDepth: 3 }),
      fc.constantFrom(...RAW.map((_, i) => `\u0001RAW${i}\u0001`)),
      fc.string({ maxLength: 20_000 }),
      fc.constantFrom('__proto__', 'constructor', 'prototype', '', ' ', '\u0000', 'a'.repeat(300)),
      fc.double(),
      fc.array(fc.record({ sensor: fc.string({ maxLength: 70 }), ts: fc.oneof(fc.double(), fc.integer()), value: fc.oneof(fc.double(), fc.boolean(), fc.string({ maxLength: 10 })) }), { maxLength: 50 }),
    );
    const fields = ['v', 'device', 'epoch', 'seq', 'clock', 'readings', 'health', '__proto__', 'constructor', 'extra'];
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...fields), hostileValue), { minLength: 1, maxLength: 4 }), fc.boolean(), async (changes, asArray) => {
        const seq = ++n;
        // A valid envelope's text, with some fields replaced (or added) by hostile values; raw
        // tokens (1e309, deep nesting) go in as text, JSON.stringify cannot write them.
        const base = JSON.parse(envelope('evil', 'evilepoch2', seq)) as Record<string, unknown>;
        let text = JSON.stringify(base).slice(0, -1);
        for (const [k, v] of changes) text += `,${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`;
        text += '}';
        text = text.replace(/"\\u0001RAW(\d+)\\u0001"/g, (_, i: string) => RAW[Number(i)]!);
        if (asArray) text = `[${text}]`;
        if (Buffer.byteLength(text) > 200_000) return;
        await Promise.race([
          evil.publishAsync('fl/v1/evil/telemetry', text, { qos: 1 }),
          new Promise((_, reject) => setTimeout(() => reject(new Error(`no PUBACK within 10 s for ${text.slice(0, 200)}`)), 10_000)),
        ]);
        expect(closed).toBe(false);
      }),
      fcParams(1102, 120, 3000),
    );
    // Refused ones were told why (the notice names the reason); the good device was never touched.
    await waitFor(() => notices.length > 0, { what: 'a rejection notice for a broken envelope' });
    for (const t of notices.slice(0, 50)) expect(JSON.parse(t)).toMatchObject({ name: 'rejected', args: { reason: expect.any(String), error: expect.any(String) } });
    expect(Math.max(...notices.map((t) => t.length))).toBeLessThan(4096);
    await evil.endAsync();
  }, TEST_TIMEOUT);

  it("the good device's ledger is exact, and nothing was stored or recorded for the device nobody was", async () => {
    await good.stop();
    expect(good.acked).toEqual(Array.from({ length: good.sent }, (_, i) => i + 1));
    const ids = await telemetryIds();
    expect(ids.filter((id) => id.startsWith('good:'))).toEqual(good.acked.map((s) => `good:goodepoch1:${s}`));
    expect(ids.filter((id) => id.startsWith('other:'))).toEqual([]);
    const kv = await nc.jetstream().views.kv('fl_device_status');
    expect(await kv.get('other')).toBeNull();
  }, TEST_TIMEOUT);
});
