import { createServer, type AddressInfo, type Server } from 'node:net';
import { parseEnvelope, type Envelope } from '@fieldline/contract';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFleet } from '../src/index.js';

// A plain aedes on a real loopback socket: it checks credentials and records every envelope.
describe('fleet mode against a real aedes broker', () => {
  let broker: Aedes;
  let server: Server;
  let url: string;
  const received: Envelope[] = [];
  const logins: string[] = [];

  beforeAll(async () => {
    broker = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        const ok = username === client.id && password?.toString() === `pw-${client.id}`;
        if (ok) logins.push(client.id);
        done(null, ok);
      },
      authorizePublish: (client, packet, done) => {
        done(packet.topic === `fl/v1/${client?.id}/telemetry` ? null : new Error('not your topic'));
      },
    });
    broker.on('publish', (packet, client) => {
      if (client) received.push(parseEnvelope(packet.payload as Buffer, client.id));
    });
    server = createServer(broker.handle);
    // Port 0: the OS picks it as it binds, so no other test file can take it in between.
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    await new Promise<void>((r) => broker?.close(() => r()));
  });

  it('publishes valid envelopes at QoS 1 with per-device increasing seq and counts acks', async () => {
    received.length = 0;
    const result = await runFleet({
      url,
      devices: 5,
      prefix: 'fl-test',
      credentials: (id) => ({ username: id, password: `pw-${id}` }),
      rate: 0,
      readingsPerEnvelope: 10,
      envelopes: 500,
      maxInflight: 8,
    });
    expect(result.envelopesSent).toBe(500);
    expect(result.envelopesAcked).toBe(500);
    expect(result.readingsAcked).toBe(5000);
    expect(result.errors).toBe(0);
    expect(result.pubackLatencyMs.p99).toBeGreaterThanOrEqual(result.pubackLatencyMs.p50);
    expect(new Set(logins)).toEqual(new Set(['fl-test-1', 'fl-test-2', 'fl-test-3', 'fl-test-4', 'fl-test-5']));
    expect(received.length).toBe(500);
    const byDevice = new Map<string, Envelope[]>();
    for (const env of received) byDevice.set(env.device, [...(byDevice.get(env.device) ?? []), env]);
    expect(byDevice.size).toBe(5);
    for (const envs of byDevice.values()) {
      expect(envs.map((e) => e.seq)).toEqual(envs.map((_, i) => i + 1));
      expect(new Set(envs.map((e) => e.epoch)).size).toBe(1);
      expect(envs[0]!.epoch).toMatch(/^[a-z0-9]{8,32}$/);
      expect(envs.every((e) => e.readings.length === 10 && e.clock.synced)).toBe(true);
      const keys = envs.flatMap((e) => e.readings.map((r) => `${r.sensor}@${r.ts}`));
      expect(new Set(keys).size).toBe(keys.length);
    }
  });

  it('paces to the requested rate for a duration', async () => {
    const result = await runFleet({ url, devices: 3, credentials: (id) => ({ username: id, password: `pw-${id}` }), rate: 200, durationMs: 1500 });
    // 200 readings/s for 1.5 s: about 300, never far more (pacing is global, not per device).
    expect(result.envelopesAcked).toBeGreaterThan(150);
    expect(result.envelopesAcked).toBeLessThanOrEqual(302);
  });

  it('fails clearly when the broker refuses the credentials', async () => {
    await expect(runFleet({ url, devices: 2, credentials: () => ({ username: 'x', password: 'wrong' }), envelopes: 1 })).rejects.toThrow(/could not connect every device/);
    // Bad credentials are final: retrying cannot fix them.
    await expect(runFleet({ url, devices: 1, credentials: () => ({ username: 'x', password: 'wrong' }), envelopes: 1, connectRetry: { totalMs: 5000, minMs: 10 } })).rejects.toThrow(/could not connect/);
  });

  it('sends each device\'s backlog of past event time, then stops', async () => {
    received.length = 0;
    const before = Date.now();
    const result = await runFleet({
      url,
      devices: 3,
      prefix: 'fl-backlog',
      credentials: (id) => ({ username: id, password: `pw-${id}` }),
      rate: 0,
      readingsPerEnvelope: 50,
      sensorsPerDevice: 4,
      backlogMs: 60_000,
      sampleIntervalMs: 1000,
    });
    // 4 sensors x 60 readings = 240 per device: envelopes of 50, 50, 50, 50, 40.
    expect(result.readingsAcked).toBe(720);
    expect(result.envelopesAcked).toBe(15);
    expect(result.errors).toBe(0);
    expect(result.pubackLatencyMs.max).toBeGreaterThanOrEqual(result.pubackLatencyMs.p99);
    for (const id of ['fl-backlog-1', 'fl-backlog-2', 'fl-backlog-3']) {
      const envs = received.filter((e) => e.device === id).sort((a, b) => a.seq - b.seq);
      expect(envs.map((e) => e.readings.length)).toEqual([50, 50, 50, 50, 40]);
      for (const sensor of ['s0', 's1', 's2', 's3']) {
        const ts = envs.flatMap((e) => e.readings.filter((r) => r.sensor === sensor).map((r) => r.ts));
        expect(ts).toHaveLength(60);
        // One reading a second from a minute ago, in order, none in the future.
        expect(ts.every((t, i) => i === 0 || t - ts[i - 1]! === 1000)).toBe(true);
        expect(ts[0]!).toBeGreaterThanOrEqual(before - 60_000);
        expect(ts.at(-1)!).toBeLessThan(Date.now());
      }
    }
  });
});

describe('fleet mode against a broker that refuses connections for a while', () => {
  it('retries "server unavailable" with backoff when asked to, and fails without', async () => {
    let refusals = 4;
    const broker = await Aedes.createBroker({
      authenticate: (_client, _u, _p, done) => {
        if (refusals-- > 0) return done(Object.assign(new Error('busy'), { returnCode: 3 }) as Parameters<typeof done>[0], false);
        done(null, true);
      },
    });
    const server = createServer(broker.handle);
    // Port 0, as above.
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(runFleet({ url, devices: 1, envelopes: 1 })).rejects.toThrow(/could not connect every device/);
      const result = await runFleet({ url, devices: 2, envelopes: 10, rate: 0, connectRetry: { totalMs: 20_000, minMs: 20, maxMs: 100 } });
      expect(result.envelopesAcked).toBe(10);
      expect(result.connectRetries).toBe(3);
      expect(result.connectMs).toBeGreaterThan(0);
    } finally {
      await new Promise((r) => server.close(r));
      await new Promise<void>((r) => broker.close(() => r()));
    }
  });
});
