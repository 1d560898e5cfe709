import { parseBundle, parseEnvelope, type Envelope } from '@fieldline/contract';
import type { PubAck } from 'nats';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Bundler } from '../src/bundler.js';
import { BridgeError, PayloadTooLargeError } from '../src/errors.js';
import { loadGatewayConfig, startGateway, type GatewayConfigInput } from '../src/index.js';
import type { StoreJob } from '../src/nats-bridge.js';
import { connectDevice, envelope, metricsText, rigFixture, streamMessages, telemetryBatches } from './helpers.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** The bundler's logic against a store that records its jobs (the real one is below). */
function recorder(): { jobs: StoreJob[]; store: (job: StoreJob) => Promise<PubAck>; fail?: Error } {
  const r: { jobs: StoreJob[]; store: (job: StoreJob) => Promise<PubAck>; fail?: Error } = {
    jobs: [],
    store: (job) => {
      r.jobs.push(job);
      return r.fail ? Promise.reject(r.fail) : Promise.resolve({ stream: 'TELEMETRY', seq: r.jobs.length, duplicate: false } as PubAck);
    },
  };
  return r;
}

const item = (device: string, seq: number): [Envelope, Buffer] => {
  const text = envelope(device, 1, 'testepoch1', seq);
  return [parseEnvelope(text), Buffer.from(text)];
};

describe('bundler: one device\'s envelopes of one turn, one JetStream message', () => {
  it('bundles per subject in arrival order; a lone envelope goes alone, unchanged; each gets its message\'s PubAck', async () => {
    const r = recorder();
    const sizes: number[] = [];
    const b = new Bundler({ store: r.store, maxBytes: () => 512 * 1024, onBundle: (n) => sizes.push(n) });
    const acks = [1, 2, 3].map((s) => b.add('fl.telemetry.1.dev-a', ...item('dev-a', s)));
    const lone = b.add('fl.telemetry.2.dev-b', ...item('dev-b', 9));
    expect(r.jobs).toEqual([]); // nothing before the turn ends
    await turn();
    expect(r.jobs.map((j) => [j.subject, j.msgID, j.envelopes])).toEqual([
      ['fl.telemetry.1.dev-a', 'dev-a:testepoch1:1..testepoch1:3', 3],
      ['fl.telemetry.2.dev-b', 'dev-b:testepoch1:9', undefined],
    ]);
    expect(parseBundle(r.jobs[0]!.payload, 'dev-a').envelopes.map((e) => e!.seq)).toEqual([1, 2, 3]);
    expect(Buffer.from(r.jobs[1]!.payload).toString()).toBe(envelope('dev-b', 1, 'testepoch1', 9));
    expect((await Promise.all(acks)).map((a) => a.seq)).toEqual([1, 1, 1]);
    expect((await lone).seq).toBe(2);
    expect(sizes).toEqual([3]);
  });

  it('cuts at maxBytes (in order, a big one alone), and maxBytes 0 stores each at once', async () => {
    const r = recorder();
    const one = item('dev-a', 1)[1].byteLength;
    const b = new Bundler({ store: r.store, maxBytes: () => 2 * one + 3 });
    for (let s = 1; s <= 5; s++) void b.add('fl.telemetry.1.dev-a', ...item('dev-a', s));
    await turn();
    expect(r.jobs.map((j) => j.msgID)).toEqual(['dev-a:testepoch1:1..testepoch1:2', 'dev-a:testepoch1:3..testepoch1:4', 'dev-a:testepoch1:5']);

    const off = recorder();
    const plain = new Bundler({ store: off.store, maxBytes: () => 0 });
    void plain.add('fl.telemetry.1.dev-a', ...item('dev-a', 1));
    void plain.add('fl.telemetry.1.dev-a', ...item('dev-a', 2));
    expect(off.jobs.map((j) => j.msgID)).toEqual(['dev-a:testepoch1:1', 'dev-a:testepoch1:2']);
  });

  it('a failed store fails every envelope of the bundle (none is PUBACKed)', async () => {
    const r = recorder();
    r.fail = new Error('gateway closed');
    const b = new Bundler({ store: r.store, maxBytes: () => 512 * 1024 });
    const all = [1, 2].map((s) => b.add('fl.telemetry.1.dev-a', ...item('dev-a', s)).then(() => 'acked', (err: Error) => err.message));
    await turn();
    expect(await Promise.all(all)).toEqual(['gateway closed', 'gateway closed']);
    expect(r.jobs).toHaveLength(1);
  });

  it('reads maxBytes at each cut: after it falls (a reconnect to a smaller server) new bundles are cut smaller', async () => {
    const r = recorder();
    const one = item('dev-a', 1)[1].byteLength;
    let max = 512 * 1024;
    const b = new Bundler({ store: r.store, maxBytes: () => max });
    for (let s = 1; s <= 4; s++) void b.add('fl.telemetry.1.dev-a', ...item('dev-a', s));
    await turn();
    max = 2 * one + 3;
    for (let s = 5; s <= 8; s++) void b.add('fl.telemetry.1.dev-a', ...item('dev-a', s));
    await turn();
    expect(r.jobs.map((j) => j.msgID)).toEqual(['dev-a:testepoch1:1..testepoch1:4', 'dev-a:testepoch1:5..testepoch1:6', 'dev-a:testepoch1:7..testepoch1:8']);
  });

  it('a bundle the server refuses as too large is stored envelope by envelope, each under its batch id, each PUBACKed with its own ack', async () => {
    const r = recorder();
    // A server that takes lone envelopes and refuses every bundle, as NatsBridge.store does after a reconnect to a smaller one.
    const b = new Bundler({
      store: (job) => (job.envelopes ? (r.jobs.push(job), Promise.reject(new PayloadTooLargeError(job.payload.byteLength, 16384, 'too large'))) : r.store(job)),
      maxBytes: () => 512 * 1024,
    });
    const acks = [1, 2, 3].map((s) => b.add('fl.telemetry.1.dev-a', ...item('dev-a', s)));
    await turn();
    expect((await Promise.all(acks)).map((a) => a.seq)).toEqual([2, 3, 4]);
    expect(r.jobs.map((j) => [j.msgID, j.envelopes])).toEqual([
      ['dev-a:testepoch1:1..testepoch1:3', 3],
      ['dev-a:testepoch1:1', undefined],
      ['dev-a:testepoch1:2', undefined],
      ['dev-a:testepoch1:3', undefined],
    ]);
    expect(r.jobs.slice(1).map((j) => Buffer.from(j.payload).toString())).toEqual([1, 2, 3].map((s) => envelope('dev-a', 1, 'testepoch1', s)));
  });
});

describe('bundler in the gateway: a device with many envelopes in flight', () => {
  const rig = rigFixture(['dev-a', 'dev-b']);

  it('50 envelopes sent at once: all PUBACKed, stored in order in fewer messages, each envelope once', async () => {
    const c = await connectDevice(rig.mqttUrl, 'dev-a');
    const before = await streamMessages(rig.nc, 'TELEMETRY');
    const bodies = Array.from({ length: 50 }, (_, i) => envelope('dev-a', 2, 'bundleepoch', i + 1));
    await Promise.all(bodies.map((body) => c.publishAsync('fl/v1/dev-a/telemetry', body, { qos: 1 })));
    const stored = (await telemetryBatches(rig.nc)).filter((b) => b.id.startsWith('dev-a:bundleepoch:'));
    expect(stored.map((b) => b.id)).toEqual(bodies.map((_, i) => `dev-a:bundleepoch:${i + 1}`));
    expect(stored.some((b) => b.bundled)).toBe(true);
    expect((await streamMessages(rig.nc, 'TELEMETRY')) - before).toBeLessThan(50);
    expect(await metricsText(rig)).toMatch(/fieldline_gateway_bundle_envelopes_count [1-9]/);
    expect(await metricsText(rig)).toMatch(/fieldline_gateway_readings_in_total 100\b/);

    await c.endAsync();
  });
});

describe('the in-flight bound counts envelopes, and admits in arrival order', () => {
  // Small bundles: a device's envelopes of one turn make several, of different sizes.
  const rig = rigFixture(['dev-a', 'dev-b'], { limits: { maxPendingEnvelopes: 3 }, nats: { bundleBytes: 1500 } });

  it('two devices, 40 envelopes each at once, 3 in flight at most: every envelope stored once, each device in its order', async () => {
    const [a, b] = await Promise.all([connectDevice(rig.mqttUrl, 'dev-a'), connectDevice(rig.mqttUrl, 'dev-b')]);
    const send = (c: typeof a, device: string): Promise<unknown> =>
      // Sizes differ (1 to 30 readings), so a small job could overtake a big one waiting for room.
      Promise.all(Array.from({ length: 40 }, (_, i) => c.publishAsync(`fl/v1/${device}/telemetry`, envelope(device, 1 + ((i * 7) % 30), 'boundepoch', i + 1), { qos: 1 })));
    await Promise.all([send(a, 'dev-a'), send(b, 'dev-b')]);
    const stored = (await telemetryBatches(rig.nc)).map((s) => s.id);
    for (const d of ['dev-a', 'dev-b']) expect(stored.filter((id) => id.startsWith(`${d}:`))).toEqual(Array.from({ length: 40 }, (_, i) => `${d}:boundepoch:${i + 1}`));
    expect(await metricsText(rig)).toMatch(/fieldline_gateway_pending_envelopes 0\b/);
    await Promise.all([a.endAsync(), b.endAsync()]);
  });
});

describe('a server with a small max_payload', () => {
  // The broker's packet limit within the server's (with the default one the gateway does not start: below).
  const rig = rigFixture(['dev-a'], { mqtt: { host: '127.0.0.1', port: 0, maximumPacketSize: 12_288 } } as Partial<GatewayConfigInput>, 'max_payload: 16384');

  it('bundles stay within it: 60 envelopes of ~2.4 KB at once are all stored (a bundle too big for the server would be retried forever)', async () => {
    const c = await connectDevice(rig.mqttUrl, 'dev-a');
    const bodies = Array.from({ length: 60 }, (_, i) => envelope('dev-a', 50, 'smallepoch', i + 1));
    expect(bodies.reduce((n, b) => n + b.length, 0)).toBeGreaterThan(16384 * 8);
    await Promise.all(bodies.map((body) => c.publishAsync('fl/v1/dev-a/telemetry', body, { qos: 1 })));
    const stored = await telemetryBatches(rig.nc, 'dev-a');
    expect(stored.map((b) => b.id)).toEqual(bodies.map((_, i) => `dev-a:smallepoch:${i + 1}`));
    expect(stored.some((b) => b.bundled)).toBe(true);
    expect(await metricsText(rig)).toMatch(/fieldline_gateway_js_publish_retries_total 0\b/);
    await c.endAsync();
  });
  it('a broker packet limit the server cannot store refuses to start, naming both limits (else that envelope is re-sent for ever)', async () => {
    const cfg = loadGatewayConfig({ mqtt: { host: '127.0.0.1', port: 0 }, auth: { registryFile: rig.registryFile }, nats: { servers: [rig.nats.url] }, http: null });
    const err = await startGateway(cfg, { logger: pino({ level: 'silent' }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BridgeError);
    expect((err as Error).message).toBe(
      "mqtt.maximumPacketSize is 263168 bytes, but the NATS server's max_payload is 16384: a packet the broker accepts could never be stored. Lower mqtt.maximumPacketSize to at most 12288 or raise max_payload",
    );
  });
});
