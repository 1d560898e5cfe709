import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { cleanupAll, NatsServer, teardown, tempDir } from '@fieldline/harness';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll } from 'vitest';
import { addDevice, loadGatewayConfig, startGateway, type Gateway, type GatewayConfigInput } from '../src/index.js';
import { telemetryBatches } from '../../test/ledger/read.js';

// What TELEMETRY holds, envelope by envelope: one reader for the gateway's, the edge's and the fault suite's tests.
export { distinctBatches, telemetryBatches, unexplainedRepeats, type StoredBatch } from '../../test/ledger/read.js';

export const PASSWORD = 'correct-horse-battery';

export interface Rig {
  nats: NatsServer;
  nc: NatsConnection;
  gateway: Gateway;
  registryFile: string;
  dir: string;
  mqttUrl: string;
  close(): Promise<void>;
}

/**
 * A rig (`startRig`) for the enclosing `describe`: started before its tests, closed and cleaned up
 * after them. The returned object reads through to the started rig, inside tests only.
 */
export function rigFixture(devices: string[], overrides: Partial<GatewayConfigInput> = {}, natsConfig?: string): Rig {
  let rig: Rig | undefined;
  beforeAll(async () => {
    rig = await startRig(devices, overrides, natsConfig);
  });
  afterAll(() => teardown({ 'rig.close': () => rig?.close(), cleanupAll }));
  return new Proxy({} as Rig, { get: (_, key) => (rig as unknown as Record<string | symbol, unknown>)[key] });
}

/** nats-server (`natsConfig`: extra lines of its config) + a registry with `devices` (password {@link PASSWORD}) + an in-process gateway. */
export async function startRig(devices: string[], overrides: Partial<GatewayConfigInput> = {}, natsConfig?: string): Promise<Rig> {
  const dir = tempDir('gw');
  const registryFile = join(dir, 'devices.json');
  for (const d of devices) await addDevice(registryFile, d, PASSWORD);
  const nats = await NatsServer.start(natsConfig ? { extraConfig: natsConfig } : {});
  const cfg = loadGatewayConfig({
    mqtt: { host: '127.0.0.1', port: 0 },
    auth: { registryFile },
    http: { host: '127.0.0.1', port: 0 },
    ...overrides,
    nats: { ...overrides.nats, servers: [nats.url] },
  } as GatewayConfigInput);
  const gateway = await startGateway(cfg, { logger: pino({ level: process.env.GW_LOG ?? 'silent' }) });
  // Reconnects forever: the outage test stops nats-server for longer than the default retries last.
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  return {
    nats,
    nc,
    gateway,
    registryFile,
    dir,
    mqttUrl: `mqtt://127.0.0.1:${gateway.mqttPort}`,
    async close() {
      await gateway.close();
      await nc.close();
      await nats.stop();
    },
  };
}

/** Connects as `device`; rejects with the CONNACK error when refused. */
export function connectDevice(url: string, device: string, extra: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { clientId: device, username: device, password: PASSWORD, reconnectPeriod: 0, protocolVersion: 4, ...extra });
    c.once('connect', () => resolve(c));
    c.once('error', (err) => {
      c.end(true);
      reject(err);
    });
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

let seq = 0;
export function envelope(device: string, readings = 1, epoch = 'testepoch1', s = ++seq): string {
  return JSON.stringify({
    v: 1,
    device,
    epoch,
    seq: s,
    clock: { synced: true, now: 1_700_000_000_000 },
    readings: Array.from({ length: readings }, (_, i) => ({ sensor: 't1', ts: 1_700_000_000_000 + i, value: i })),
  });
}

/** The gateway's `/metrics` text. */
export async function metricsText(rig: Rig): Promise<string> {
  return (await fetch(`http://127.0.0.1:${rig.gateway.httpPort}/metrics`)).text();
}

export async function streamMessages(nc: NatsConnection, stream: string): Promise<number> {
  const jsm = await nc.jetstreamManager();
  return (await jsm.streams.info(stream)).state.messages;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a CLI (mosquitto_pub/sub) to completion or `timeoutMs`, then kills it. */
export function run(cmd: string, args: string[], timeoutMs = 10_000, onStart?: (child: ChildProcess) => void, cwd?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    onStart?.(child);
  });
}

export function nextMessage(c: MqttClient): Promise<[string, Buffer]> {
  return new Promise((resolve) => c.once('message', (topic, payload) => resolve([topic, payload])));
}

/**
 * A device that keeps publishing numbered QoS 1 envelopes through disconnects (MQTT.js resends
 * unacknowledged PUBLISHes after every reconnect) and records which ones were PUBACKed.
 */
export class SteadyDevice {
  readonly client: MqttClient;
  sent = 0;
  readonly acked = new Set<number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(url: string, readonly device: string, readonly epoch = 'steadyepoch1') {
    this.client = mqtt.connect(url, { clientId: device, username: device, password: PASSWORD, reconnectPeriod: 250, protocolVersion: 4, keepalive: 30 });
    this.client.on('error', () => undefined); // refused while the gateway restarts: keep retrying
  }

  /** Publishes `perTick` envelopes every `intervalMs` until {@link stop}. */
  start(intervalMs: number, perTick: number, readings = 10): void {
    this.timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) this.publishOne(readings);
    }, intervalMs);
  }

  publishOne(readings = 10): void {
    const seq = ++this.sent;
    this.client.publish(`fl/v1/${this.device}/telemetry`, envelope(this.device, readings, this.epoch, seq), { qos: 1 }, (err) => {
      if (!err) this.acked.add(seq);
    });
  }

  stop(): void {
    clearInterval(this.timer);
  }

  allAcked(): boolean {
    return this.acked.size === this.sent;
  }

  expectedIds(): string[] {
    return Array.from({ length: this.sent }, (_, i) => `${this.device}:${this.epoch}:${i + 1}`);
  }
}

/** The batch id of every envelope in the TELEMETRY stream, in stream order. */
export async function telemetryIds(nc: NatsConnection): Promise<string[]> {
  return (await telemetryBatches(nc)).map((b) => b.id);
}

