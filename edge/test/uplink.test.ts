import { spawn } from 'node:child_process';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseEnvelope, type Envelope, type RejectionNotice } from '@fieldline/contract';
import { cleanupAll, onCleanup, PtyPair, sleep, tempDir, waitFor } from '@fieldline/harness';
import { startEdge, type Edge } from '../src/index.js';
import { quietLogger, TestBroker, testConfig } from './helpers.js';

afterAll(() => cleanupAll());

const write = (path: string, text: string): void => {
  const fd = openSync(path, 'w');
  writeSync(fd, text);
  closeSync(fd);
};

describe('MQTT uplink', () => {
  let broker: TestBroker;
  let pty: PtyPair;
  let edge: Edge | undefined;

  afterEach(async () => {
    await edge?.close();
    await pty?.close();
    await broker?.close();
  });

  async function start(overrides: Record<string, unknown> = {}): Promise<Edge> {
    pty = await PtyPair.create();
    const cfg = testConfig(broker.url, { ports: [{ id: 'p', path: pty.hostPath, driver: 'text-kv', channels: { n: { sensor: 'n' } } }], ...overrides });
    edge = await startEdge(cfg, { logger: quietLogger() });
    await waitFor(() => edge!.health().ports.p!.open && edge!.health().connected, { what: 'port open and connected' });
    return edge;
  }

  it('publishes a retained online status, heartbeats with health figures, and offline on close', async () => {
    broker = await TestBroker.start();
    const e = await start({ heartbeat: { intervalMs: 200 } });
    // The first heartbeat may predate the port opening; wait for one that sees it open.
    const hb = await waitFor(() => broker.envelopes.find((x) => x.readings.length === 0 && x.health?.ports_open === 1), { what: 'a heartbeat' });
    expect(Object.keys(hb.health!)).toEqual(expect.arrayContaining(['queue_depth', 'queue_bytes', 'queue_max_bytes', 'dropped_overflow', 'bad_frames', 'clock_synced', 'uptime_s', 'rss_mb', 'ports_open']));
    expect(hb.epoch).toBe(e.epoch);
    expect(JSON.parse(broker.statuses[0]!)).toMatchObject({ v: 1, device: 'dev-1', state: 'online' });
    await e.close();
    edge = undefined;
    expect(JSON.parse(broker.statuses.at(-1)!)).toMatchObject({ state: 'offline' });
  });

  it('queues through a broker outage and drains in order afterwards; an unacknowledged batch is resent with the same id', async () => {
    broker = await TestBroker.start();
    let swallowed: string | undefined;
    // The first batch reaches the broker but its PUBACK never comes (the uplink dies first).
    broker.broker.authorizePublish = (_client, packet, cb) => {
      if (!swallowed && packet.topic.endsWith('/telemetry') && parseEnvelope(packet.payload as Buffer).readings.length) {
        swallowed = packet.payload.toString();
        return;
      }
      cb(null);
    };
    const e = await start();
    write(pty.devicePath, 'n=0\r\n');
    await waitFor(() => swallowed, { what: 'first batch published' });
    await broker.stop();
    await waitFor(() => !e.health().connected, { what: 'disconnect' });
    for (let i = 1; i <= 120; i++) write(pty.devicePath, `n=${i}\r\n`);
    await waitFor(() => e.health().readings_in === 121, { what: 'readings queued' });
    expect(e.health().queue.depth).toBe(121);
    await broker.listen();
    await waitFor(() => broker.readings().length === 121 && e.health().queue.depth === 0, { what: 'drained', timeoutMs: 15_000 });
    expect(broker.readings().map((r) => r.value)).toEqual(Array.from({ length: 121 }, (_, i) => i));
    const first = JSON.parse(swallowed!) as Envelope;
    expect(broker.envelopes.find((x) => x.seq === first.seq)).toEqual(first);
    // Offline, batches close on count (50), not on delay: the backlog goes out in full batches.
    expect(broker.envelopes.filter((x) => x.readings.length === 50).length).toBeGreaterThanOrEqual(2);
  });

  it('drops a batch the gateway rejected (commands/rejected) and counts it; ignores notices for other epochs', async () => {
    broker = await TestBroker.start();
    const held: Envelope[] = [];
    // A broker that takes telemetry but never acknowledges it, like a gateway that dead-letters.
    broker.broker.authorizePublish = (_client, packet, cb) => {
      if (packet.topic.endsWith('/telemetry')) {
        const env = parseEnvelope(packet.payload as Buffer);
        if (env.readings.length) return void held.push(env);
      }
      cb(null);
    };
    const e = await start();
    write(pty.devicePath, 'n=1\r\nn=2\r\n');
    const env = await waitFor(() => held[0], { what: 'a telemetry batch' });
    const notice = (batch: string): RejectionNotice => ({ v: 1, name: 'rejected', args: { batch, reason: 'bad_reading', error: 'readings[0].value: test' } });
    const send = (n: RejectionNotice): Promise<void> =>
      new Promise((r) => broker.broker.publish({ cmd: 'publish', topic: 'fl/v1/dev-1/commands/rejected', payload: Buffer.from(JSON.stringify(n)), qos: 1, retain: false, dup: false }, () => r()));
    await send(notice(`dev-1:otherepoch1:${env.seq}`));
    await sleep(300);
    expect(e.health().queue.depth).toBe(2);
    await send(notice(`dev-1:${env.epoch}:${env.seq}`));
    await waitFor(() => e.health().queue.dropped_rejected === 2, { what: 'rejected batch dropped' });
    expect(e.health().queue.depth).toBe(0);
    expect(e.health().uplink.commands_rejected).toBe(2);
  });

  it('the broker publishes the Last Will (retained offline) when the agent process is killed', async () => {
    broker = await TestBroker.start();
    const dir = tempDir('edge-will');
    const configFile = join(dir, 'edge.yaml');
    writeFileSync(configFile, stringify({ device: 'dev-will', stateDir: join(dir, 'state'), mqtt: { url: broker.url }, clock: { assumeSynced: true }, log: { level: 'warn' } }));
    const root = new URL('../../', import.meta.url).pathname;
    const child = spawn(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', join(root, 'edge/src/cli.ts'), 'run', '--config', configFile], { cwd: root, stdio: 'ignore' });
    onCleanup(() => child.kill('SIGKILL'));
    await waitFor(() => broker.statuses.some((x) => x.includes('"online"')), { what: 'online status', timeoutMs: 20_000 });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    await waitFor(() => broker.statuses.at(-1)?.includes('"offline"'), { what: 'Last Will' });
    expect(JSON.parse(broker.statuses.at(-1)!)).toEqual({ v: 1, device: 'dev-will', state: 'offline' });
    // A late subscriber (the gateway's status view, a dashboard) gets the retained offline.
    const viewer = await mqtt.connectAsync(broker.url, { clientId: 'viewer' });
    const retained = new Promise<Buffer>((r) => viewer.on('message', (_t, payload, packet) => packet.retain && r(payload)));
    await viewer.subscribeAsync('fl/v1/dev-will/status', { qos: 1 });
    expect(JSON.parse((await retained).toString())).toMatchObject({ state: 'offline' });
    await viewer.endAsync();
  });
});
