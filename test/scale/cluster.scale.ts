// The cluster path (issue 12, "NATS node kill"): a 3-node JetStream cluster on loopback, every
// stream and bucket with 3 replicas, the gateway and two processors on it, devices publishing
// over MQTT. Under load the TELEMETRY stream's leader is killed with SIGKILL and restarted.
// Every reading the gateway acknowledged (PUBACK) is in InfluxDB exactly once, and so is every
// alert; both equal one uninterrupted run over what the stream holds.
import { join } from 'node:path';
import { batchId, encodeEnvelope, STREAMS, type Envelope } from '@fieldline/contract';
import { addDevice, loadGatewayConfig, startGateway } from '@fieldline/gateway';
import { cleanupAll, InfluxServer, NatsCluster, sleep, tempDir, waitFor } from '@fieldline/harness';
import mqtt, { type MqttClient } from 'mqtt';
import { connect } from 'nats';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { drained, partitionProgress, type ProcessorConfigInput } from '../../cloud/src/processor/index.js';
import { readStream } from '../../cloud/src/processor/stream-reader.js';
import { auditOwnership, expectOutputs, influxDump, recordCommits, reference, streamDump, writeLines } from '../../cloud/test/processor/audit.js';
import { ProcessorProcess } from '../../cloud/test/processor/child.js';
import { KEEP_FOREVER } from '../../cloud/test/processor/helpers.js';

afterAll(() => cleanupAll());

const P = 8;
const DEVICES = 12;
const PASSWORD = 'cluster-device-pw';

describe('3-node JetStream cluster, R3 streams', () => {
  it('a nats-server killed under load and restarted: every acked reading and every alert stored exactly once', async () => {
    const cluster = await NatsCluster.start();
    const influx = await InfluxServer.start();
    const nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    const registryFile = join(tempDir('cluster'), 'devices.json');
    const devices = Array.from({ length: DEVICES }, (_, i) => `cl-${i}`);
    for (const d of devices) await addDevice(registryFile, d, PASSWORD);
    const r3 = { replicas: 3 };
    const gateway = await startGateway(
      loadGatewayConfig({ mqtt: { host: '127.0.0.1', port: 0 }, auth: { registryFile }, nats: { servers: cluster.urls, partitions: P, publishTimeoutMs: 2000, streams: { telemetry: r3, deadletter: r3 } }, http: null, log: { level: 'silent' } }),
      { logger: pino({ level: 'silent' }) },
    );
    const config: ProcessorConfigInput = {
      nats: { servers: cluster.urls, replicas: 3 },
      influx: { url: influx.url, database: 'fieldline' },
      tiers: KEEP_FOREVER,
      partitions: { count: P },
      sink: { flushIntervalMs: 100 },
      coordination: { checkpointMs: 1000 },
      detectors: [{ rule: 'anomaly', type: 'anomaly' }, { rule: 'stuck', type: 'flatline' }, { rule: 'dropout', type: 'dropout' }, { rule: 'hot', type: 'threshold', severity: 'critical', params: { above: 30 } }],
    };
    // The processor creates ALERTS, SESSIONS and its checkpoint bucket with 3 replicas; the commit
    // recorder creates the lease/commit bucket first (with history), so it gives the replicas too.
    const commits = await recordCommits(nc, { replicas: 3 });
    const procs = [await ProcessorProcess.start('c0', config), await ProcessorProcess.start('c1', config)];
    const jsm = await nc.jetstreamManager();
    expect((await jsm.streams.info(STREAMS.TELEMETRY.name)).config.num_replicas).toBe(3);
    expect((await jsm.streams.info(STREAMS.ALERTS.name)).config.num_replicas).toBe(3);
    expect((await jsm.streams.info('KV_fl_processor')).config.num_replicas).toBe(3);

    // Devices: QoS 1, the gateway's PUBACK means JetStream (R3) stored the batch.
    const acked = new Set<string>();
    const sent: Envelope[] = [];
    const clients: MqttClient[] = [];
    const T0 = Date.UTC(2026, 2, 1, 6);
    let stop = false;
    const loops = devices.map(async (device, d) => {
      const c = mqtt.connect(`mqtt://127.0.0.1:${gateway.mqttPort}`, { clientId: device, username: device, password: PASSWORD, protocolVersion: 4, reconnectPeriod: 200 });
      clients.push(c);
      await new Promise((r) => c.once('connect', r));
      for (let seq = 1; !stop; seq++) {
        const t = T0 + seq * 2000 + d * 13;
        const env: Envelope = {
          v: 1,
          device,
          epoch: 'clusterep1',
          seq,
          clock: { synced: true, now: t + 1000 },
          readings: [0, 1].map((i) => ({ sensor: 'temp', ts: t + i * 1000, value: 20 + ((seq * 7 + i) % 5) / 10 + (seq % 60 === 30 && i === 0 ? 20 : 0), unit: 'C' })),
        };
        sent.push(env);
        // Not awaited one by one: several batches in flight per device, as the edge does.
        void c.publishAsync(`fl/v1/${device}/telemetry`, encodeEnvelope(env), { qos: 1 }).then(() => acked.add(batchId(env)), () => undefined);
        await sleep(40);
      }
    });
    await sleep(4000);
    const leader = (await jsm.streams.info(STREAMS.TELEMETRY.name)).cluster!.leader!;
    const victim = Number(leader.slice(leader.lastIndexOf('-n') + 2));
    expect(cluster.servers[victim]).toBeDefined();
    const before = acked.size;
    await cluster.kill(victim);
    await sleep(5000);
    await cluster.restart(victim);
    await sleep(4000);
    stop = true;
    await Promise.all(loops);
    await waitFor(() => sent.every((e) => acked.has(batchId(e))) || null, { timeoutMs: 60_000, intervalMs: 200, what: 'the in-flight batches to be acked' }).catch(() => undefined);
    for (const c of clients) await c.endAsync();
    expect(acked.size).toBeGreaterThan(before + DEVICES * 20);
    await waitFor(() => drained(nc, { partitions: P }), { timeoutMs: 120_000, intervalMs: 500, what: 'every message committed' }).catch(async (err: unknown) => {
      console.log(JSON.stringify(await partitionProgress(nc, { partitions: P })));
      for (const p of procs) console.log(p.name, p.lines(/./).filter((l) => Number(l.level) >= 40).slice(-20).map((l) => JSON.stringify(l)).join('\n'));
      throw err;
    });
    for (const p of procs) await p.stop();
    commits.stop();

    // What the stream holds, in stream order, is the input; every acked batch is in it.
    const stored: Envelope[] = [];
    for await (const m of readStream(jsm, nc.jetstream(), STREAMS.TELEMETRY.name, { from: { seq: 1 } })) stored.push(m.json<Envelope>());
    const storedIds = new Set(stored.map((e) => batchId(e)));
    expect(storedIds.size).toBe(stored.length);
    for (const id of acked) expect(storedIds.has(id), `acked batch ${id} in TELEMETRY`).toBe(true);
    const ref = reference(config, stored);
    const live = await influxDump(influx, 'fieldline');
    // Each acked reading once (a reading is one point: device, sensor, time).
    const points = new Set(
      live.readings!.map((row) => {
        const [tags, fields] = JSON.parse(row) as [{ device: string; sensor: string }, { time: number }];
        return `${tags.device}/${tags.sensor}/${fields.time}`;
      }),
    );
    expect(points.size).toBe(live.readings!.length);
    for (const e of sent.filter((x) => acked.has(batchId(x)))) for (const r of e.readings) expect(points.has(`${e.device}/${r.sensor}/${r.ts * 1e6}`), `${e.device} ${r.ts}`).toBe(true);
    await writeLines(influx, 'reference', ref.points.lines);
    expect(live).toEqual(await influxDump(influx, 'reference'));
    const outputs = { alerts: await streamDump(nc, STREAMS.ALERTS.name), sessions: await streamDump(nc, STREAMS.SESSIONS.name) };
    expect(outputs.alerts.length).toBeGreaterThan(5);
    expectOutputs(outputs, ref);
    auditOwnership(commits.entries, [...outputs.alerts, ...outputs.sessions], P);
    console.log(`cluster: ${acked.size} acked batches (${stored.length} stored), ${outputs.alerts.length} alerts; node ${victim} (TELEMETRY leader) killed after ${before} acks`);
    await gateway.close();
    await nc.close();
    await influx.stop();
    await cluster.stop();
  });
});
