import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { NatsServer, tempDir } from '@fieldline/harness';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { addDevice, loadGatewayConfig, startGateway, type Gateway, type GatewayConfigInput } from '../src/index.js';

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

/** nats-server + a registry with `devices` (password {@link PASSWORD}) + an in-process gateway. */
export async function startRig(devices: string[], overrides: Partial<GatewayConfigInput> = {}): Promise<Rig> {
  const dir = tempDir('gw');
  const registryFile = join(dir, 'devices.json');
  for (const d of devices) await addDevice(registryFile, d, PASSWORD);
  const nats = await NatsServer.start();
  const cfg = loadGatewayConfig({
    mqtt: { host: '127.0.0.1', port: 0 },
    auth: { registryFile },
    nats: { servers: [nats.url] },
    http: { host: '127.0.0.1', port: 0 },
    ...overrides,
  } as GatewayConfigInput);
  const gateway = await startGateway(cfg, { logger: pino({ level: process.env.GW_LOG ?? 'silent' }) });
  const nc = await connect({ servers: nats.url });
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
export function run(cmd: string, args: string[], timeoutMs = 10_000, onStart?: (child: ChildProcess) => void): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
