/**
 * The whole pipeline as it runs in production, each service its own process: nats-server and
 * influxd (harness), the gateway, the processor, one edge agent per device and firmware-sim, each
 * started from its CLI with a config file, so `kill -9`, SIGSTOP and restarts hit real processes.
 * The fault suite drives it; the ledger (test/ledger) checks what it kept.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InfluxServer, ManagedProcess, NatsServer, freePort, sleep, tempDir, waitFor } from '@fieldline/harness';
import { loadScenario as loadSimScenario, type SimulatedBoard } from '@fieldline/firmware-sim';
import { addDevice } from '@fieldline/gateway';
import { DEFAULT_PARTITIONS } from '@fieldline/contract';
import { partitionProgress } from '../../cloud/src/processor/index.js';
import { connect, type NatsConnection } from 'nats';
import { stringify } from 'yaml';
import { FaultProxy } from './proxy.js';

/** After the boards halt, how long the agents get to read their last frames before a heartbeat counts. */
const HALT_SETTLE_MS = 500;

export const ROOT = resolve(import.meta.dirname, '../..');
const PASSWORD = 'fault-suite-password';

/** `node --conditions=fieldline-src --import tsx <cli> <args>`: a workspace bin from source, as in development. */
function bin(name: string, cli: string, args: string[], ready: (out: string) => boolean | Promise<boolean>): ManagedProcess {
  return new ManagedProcess({
    name,
    command: process.execPath,
    args: ['--conditions=fieldline-src', '--import', 'tsx', join(ROOT, cli), ...args],
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    ready,
    readyTimeoutMs: 90_000,
    keepOutput: 128 * 1024,
  });
}

const httpReady = (port: number) => async (): Promise<boolean> => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200;

export interface StackSpec {
  /** firmware-sim scenario YAML: its device ids are the edge agents'. */
  scenario: string;
  seed: number;
  /** An edge -> gateway proxy that the scenario can make misbehave (test/faults/proxy.ts). */
  proxy?: boolean;
  /** Extra edge config (merged over the suite's), e.g. `{ queue: { maxBytes } }`. */
  edge?: Record<string, unknown>;
  /** Per device: where its state dir goes (e.g. a small tmpfs). */
  stateDir?: (device: string) => string | undefined;
  /** The processor's detectors (the ground truth's rules). */
  detectors: unknown[];
  processor?: Record<string, unknown>;
}

export class Stack {
  readonly dir = tempDir('faults');
  nats!: NatsServer;
  influx!: InfluxServer;
  gateway!: ManagedProcess;
  processor!: ManagedProcess;
  sim!: ManagedProcess;
  readonly edges = new Map<string, ManagedProcess>();
  proxy: FaultProxy | undefined;
  nc!: NatsConnection;
  boards: SimulatedBoard[] = [];
  devices: string[] = [];
  readonly sentFile: string;
  groundTruthFile = '';
  processorPort = 0;
  gatewayHttpPort = 0;
  private gatewayMqttPort = 0;

  private constructor(readonly spec: StackSpec) {
    this.sentFile = join(this.dir, 'sent.jsonl');
  }

  /** Starts everything, the boards last (paused until every edge agent has its ports open). */
  static async start(spec: StackSpec): Promise<Stack> {
    const s = new Stack(spec);
    try {
      await s.boot();
    } catch (err) {
      await s.stop();
      throw err;
    }
    return s;
  }

  private async boot(): Promise<void> {
    const { spec, dir } = this;
    [this.nats, this.influx] = await Promise.all([NatsServer.start(), InfluxServer.start()]);
    this.nc = await connect({ servers: this.nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    this.watchHeartbeats();

    const scenarioFile = join(dir, 'scenario.yaml');
    writeFileSync(scenarioFile, spec.scenario);
    const boardsFile = join(dir, 'boards.json');
    this.sim = bin('firmware-sim', 'firmware-sim/src/cli.ts', ['run', scenarioFile, '--seed', String(spec.seed), '--start', 'now', '--dir', join(dir, 'tty'), '--out', boardsFile, '--record', this.sentFile, '--paused'], (out) => out.includes('paused\t'));

    const registryFile = join(dir, 'devices.json');
    this.gatewayMqttPort = await freePort();
    this.gatewayHttpPort = await freePort();
    writeFileSync(join(dir, 'gateway.yaml'), stringify({ mqtt: { host: '127.0.0.1', port: this.gatewayMqttPort }, auth: { registryFile }, nats: { servers: [this.nats.url] }, http: { port: this.gatewayHttpPort } }));
    this.gateway = bin('gateway', 'gateway/src/cli.ts', ['run', '--config', join(dir, 'gateway.yaml')], httpReady(this.gatewayHttpPort));

    this.processorPort = await freePort();
    writeFileSync(
      join(dir, 'processor.yaml'),
      stringify({
        nats: { servers: [this.nats.url] },
        influx: { url: this.influx.url, api: 'v1' },
        http: { port: this.processorPort },
        windows: { gapMs: 5000, gapReadings: 10, maxLengthMs: 20_000, allowedLatenessMs: 5000, deviceSilenceMs: 60_000 },
        alerts: { anomalyScore: 0.5, clearMs: 1000, clearReadings: 3 },
        sink: { flushIntervalMs: 250 },
        detectors: spec.detectors,
        ...spec.processor,
      }),
    );
    this.processor = bin('processor', 'cloud/src/cli.ts', ['processor', '--config', join(dir, 'processor.yaml')], httpReady(this.processorPort));

    // The boards' ttys have known paths (--dir): the agents start first, retrying their ports,
    // then the boards open them (paused), and write once every agent has its ports open, so the
    // board clocks (virtual time from the start) stay within a second of the agents' clocks.
    const plan = loadSimScenario(spec.scenario);
    this.boards = plan.devices.flatMap((d) =>
      d.boards.map((b) => ({ device: d.id, board: b.id, protocol: b.protocol, baud: b.baud, channels: b.channels.map((c) => c.name), units: [], timestamps: b.timestamps, path: join(dir, 'tty', `${d.id}.${b.id}`) }) as SimulatedBoard),
    );
    this.devices = plan.devices.map((d) => d.id);
    for (const d of this.devices) await addDevice(registryFile, d, PASSWORD);
    writeFileSync(join(dir, 'password'), `${PASSWORD}\n`, { mode: 0o600 });
    await Promise.all([this.gateway.start(), this.processor.start()]);
    if (spec.proxy) this.proxy = await FaultProxy.start(this.gatewayMqttPort);

    for (const d of this.devices) {
      const file = join(dir, `edge-${d}.yaml`);
      writeFileSync(file, stringify(this.edgeConfig(d)));
      this.edges.set(d, bin(`edge-${d}`, 'edge/src/cli.ts', ['run', '--config', file], (out) => out.includes('connected to gateway')));
    }
    await Promise.all([...this.edges.values()].map((e) => e.start()));
    await this.sim.start();
    this.groundTruthFile = (JSON.parse(readFileSync(boardsFile, 'utf8')) as { groundTruthPath: string }).groundTruthPath;
    // Open and still open: an agent that opened a tty before the board side was up loses it and
    // reopens after a backoff; frames written in that gap have no reader (seen on a loaded machine).
    const ready = (): boolean =>
      [...this.edges].every(([d, e]) => e.log.split('serial port open').length - 1 >= this.boards.filter((b) => b.device === d).length && e.log.lastIndexOf('serial port open') > e.log.lastIndexOf('serial port lost'));
    await waitFor(ready, { timeoutMs: 20_000, what: 'every edge agent to open its ports' });
    await sleep(1000);
    await waitFor(ready, { timeoutMs: 20_000, what: 'every edge agent to keep its ports open' });
    process.kill(this.sim.pid!, 'SIGUSR1');
  }

  edgeConfig(device: string): Record<string, unknown> {
    const extra = this.spec.edge ?? {};
    return {
      device,
      stateDir: this.spec.stateDir?.(device) ?? join(this.dir, `state-${device}`),
      mqtt: { url: this.proxy?.url ?? `mqtt://127.0.0.1:${this.gatewayMqttPort}`, passwordFile: join(this.dir, 'password'), keepaliveS: 5, connectTimeoutMs: 3000, reconnect: { minMs: 200, maxMs: 2000 } },
      batching: { maxReadings: 200, maxDelayMs: 500 },
      heartbeat: { intervalMs: 1000 },
      clock: { assumeSynced: true },
      ...extra,
      ports: this.boards
        .filter((b) => b.device === device)
        .map((b) => ({ id: b.board, path: b.path, baudRate: b.baud, driver: b.protocol, timestamps: 'board', silenceTimeoutMs: 0, reopen: { minMs: 50, maxMs: 500 }, channels: Object.fromEntries(b.channels.map((c) => [c, { sensor: c }])) })),
    };
  }

  /** Every service by name, for the scenarios. */
  service(name: string): ManagedProcess {
    if (name === 'nats-server') return this.nats;
    if (name === 'influxd') return this.influx;
    if (name === 'gateway') return this.gateway;
    if (name === 'processor') return this.processor;
    const edge = this.edges.get(name.replace(/^edge-/, ''));
    if (!edge) throw new Error(`no service ${name}`);
    return edge;
  }

  /** `kill -9`, then the same command again (same ports, same store, same state dir). */
  async kill9AndRestart(name: string, downMs = 0): Promise<void> {
    const svc = this.service(name);
    await svc.kill();
    if (downMs > 0) await sleep(downMs);
    await svc.start();
  }

  /** Processor figures from its /metrics. */
  async processorMetric(name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.processorPort}/metrics`)).text();
    let sum = 0;
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum += Number(m[1]);
    return sum;
  }

  /**
   * What still holds data back: '' once every TELEMETRY message is committed and every edge queue is
   * empty. Under steady load (`steady`) a queue is never quite empty (the open batch fills for
   * `batching.maxDelayMs`): then up to `steady` readings queued and one partition a flush behind count as drained.
   */
  async backlog(steady = 0, since = 0): Promise<string> {
    // The processor's commit records (issue 12: leases and commits, no durable consumers).
    const behind = (await partitionProgress(this.nc, { partitions: DEFAULT_PARTITIONS })).filter((x) => x.last > x.committed);
    if (behind.length > (steady ? 1 : 0)) return `partition ${behind[0]!.partition}: stored up to ${behind[0]!.last}, committed ${behind[0]!.committed}`;
    for (const d of this.devices) {
      const h = await this.lastHealth(d);
      if (!h) return `edge ${d}: no heartbeat yet`;
      if ((this.healthAt.get(d) ?? 0) < since) return `edge ${d}: no heartbeat since the fault was cleared`;
      if (h.queue_depth! > steady) return `edge ${d}: ${h.queue_depth} readings queued`;
    }
    return '';
  }

  /** Stops the boards (the record is complete), then waits until every reading sent is through the pipeline. */
  async finish(timeoutMs: number): Promise<void> {
    process.kill(this.sim.pid!, 'SIGUSR2');
    await waitFor(() => this.sim.log.includes('halted\n'), { timeoutMs: 10_000, what: 'firmware-sim to stop writing' });
    // Only a heartbeat sent after the boards stopped (with time for the agent to read their last
    // frames off the pty) says that nothing is queued: an older one says "0 queued" while the last
    // frames are still on their way, and the read-back then counts them lost.
    const since = Date.now() + HALT_SETTLE_MS;
    let why = '';
    // The edges send what they queued; the processor acks it.
    await waitFor(async () => (why = await this.backlog(0, since)) === '', { timeoutMs, intervalMs: 500, what: 'the pipeline to drain' }).catch((err: Error) => {
      throw new Error(`${err.message}: ${why}`, { cause: err });
    });
  }

  /** The health figures of a device's newest heartbeat (watched on `fl.telemetry.>` as the gateway stores them). */
  async lastHealth(device: string): Promise<Record<string, number> | undefined> {
    return this.health.get(device);
  }

  private readonly health = new Map<string, Record<string, number>>();
  /** Wall time each device's newest heartbeat arrived (a heartbeat from before an outage says nothing about after it). */
  private readonly healthAt = new Map<string, number>();

  private watchHeartbeats(): void {
    const sub = this.nc.subscribe('fl.telemetry.>');
    void (async () => {
      for await (const m of sub) {
        try {
          const env = JSON.parse(Buffer.from(m.data).toString()) as { device: string; readings: unknown[]; health?: Record<string, number> };
          if (env.readings.length === 0 && env.health) {
            this.health.set(env.device, env.health);
            this.healthAt.set(env.device, Date.now());
          }
        } catch {
          // not ours to judge
        }
      }
    })();
  }

  /** The last output of every service, for a failure report. */
  logs(): string {
    const all: [string, ManagedProcess | undefined][] = [['gateway', this.gateway], ['processor', this.processor], ['firmware-sim', this.sim], ...[...this.edges].map(([d, e]) => [`edge-${d}`, e] as [string, ManagedProcess])];
    return all.map(([n, p]) => `--- ${n} ---\n${(p?.log ?? '').split('\n').slice(-40).join('\n')}`).join('\n');
  }

  async stop(): Promise<void> {
    await this.proxy?.close();
    for (const e of this.edges.values()) await e.stop();
    await this.sim?.stop();
    await this.processor?.stop();
    await this.gateway?.stop();
    await this.nc?.close().catch(() => undefined);
    await Promise.all([this.nats?.stop(), this.influx?.stop()]);
  }

  get hasGroundTruth(): boolean {
    return existsSync(this.groundTruthFile);
  }
}
