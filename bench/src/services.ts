/**
 * The pipeline as it runs in production, each service its own process: nats-server (JetStream),
 * influxd, `fieldline-gateway run`, `fieldline-cloud processor` and `fieldline-cloud api`, the
 * last three from the repository's TypeScript sources (`node --conditions=fieldline-src --import
 * tsx …/cli.ts`, what the bins run once built), with production defaults: only addresses, the
 * registry, log level and the bench's probe rule are set.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { PROCESSOR_NODE_FLAGS } from '@fieldline/cloud';
import { addDevice, GATEWAY_NODE_FLAGS } from '@fieldline/gateway';
import { freePort, InfluxServer, ManagedProcess, NatsServer, tempDir } from '@fieldline/harness';
import { histogramBuckets, histogramByLabel, metricByLabel, metricSum, scrape } from './prom.js';

/** The processor's flush steps (seconds and count each) and its loops' waits on the flush chain, s. */
export interface FlushFigures {
  stages: Record<string, { sum: number; count: number }>;
  loop_wait_s: number;
  /** `fieldline_processor_delay_seconds`' cumulative buckets (stored in JetStream -> processed), all processors. */
  delay: { le: number; count: number }[];
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GATEWAY_CLI = join(ROOT, 'gateway/src/cli.ts');
const CLOUD_CLI = join(ROOT, 'cloud/src/cli.ts');

/** The probe's rule: any reading of a `probe-*` device above 1000 fires at once. */
export const PROBE_RULE = 'probe-limit';
export const PROBE_VALUE = 5000;
export const DATABASE = 'fieldline';

export interface PipelineOptions {
  /** Write a CPU profile of the gateway, processor and API into this dir when they stop. */
  profileDir?: string;
  /** Processor processes of one group, sharing the partitions by leases (the design's way to scale out). @default 1 */
  processors?: number;
}

/** `node … cli.ts <args>` as a managed child, ready when its ops server answers /readyz. */
async function nodeService(name: string, cli: string, args: string[], opsPort: number, profileDir?: string, nodeFlags: readonly string[] = []): Promise<ManagedProcess> {
  const prof = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`] : [];
  if (profileDir) mkdirSync(join(profileDir, name), { recursive: true });
  const proc = new ManagedProcess({
    name,
    command: process.execPath,
    args: [...nodeFlags, ...prof, '--conditions=fieldline-src', '--import', 'tsx', cli, ...args],
    cwd: ROOT,
    readyTimeoutMs: 60_000,
    keepOutput: 64 * 1024,
    ready: async () => (await fetch(`http://127.0.0.1:${opsPort}/readyz`, { signal: AbortSignal.timeout(1000) })).ok,
  });
  await proc.start();
  return proc;
}

function yamlFile(dir: string, name: string, config: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, stringify(config), { mode: 0o600 });
  return file;
}

export class Pipeline {
  private constructor(
    readonly nats: NatsServer,
    readonly influx: InfluxServer,
    readonly gateway: ManagedProcess,
    readonly processors: ManagedProcess[],
    readonly api: ManagedProcess,
    readonly mqttUrl: string,
    readonly gatewayOps: string,
    readonly processorOps: string[],
    readonly registryFile: string,
    /** Every bench device shares this password (the registry keeps a scrypt hash of it). */
    readonly password: string,
  ) {}

  static async start(devices: string[], opts: PipelineOptions = {}): Promise<Pipeline> {
    const dir = tempDir('bench');
    const [nats, influx] = await Promise.all([NatsServer.start(), InfluxServer.start()]);
    const password = randomBytes(12).toString('base64url');
    const registryFile = join(dir, 'devices.json');
    await registerDevices(registryFile, password, devices);
    const [mqttPort, gwOps, apiPort, apiOps] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const procOps = await Promise.all(Array.from({ length: opts.processors ?? 1 }, () => freePort()));
    const gatewayConfig = yamlFile(dir, 'gateway.yaml', {
      mqtt: { host: '127.0.0.1', port: mqttPort },
      auth: { registryFile },
      nats: { servers: [nats.url] },
      http: { host: '127.0.0.1', port: gwOps },
      log: { level: 'warn' },
    });
    const processorConfig = (i: number): string => yamlFile(dir, `processor-${i + 1}.yaml`, {
      nats: { servers: [nats.url] },
      influx: { url: influx.url, api: 'v1', database: DATABASE },
      http: { host: '127.0.0.1', port: procOps[i] },
      log: { level: 'warn' },
      // The defaults (what a processor runs when its config lists none), and the probe's limit.
      detectors: [
        { rule: 'anomaly', type: 'anomaly', severity: 'warning' },
        { rule: 'stuck', type: 'flatline', severity: 'warning' },
        { rule: 'dropout', type: 'dropout', severity: 'warning' },
        { rule: PROBE_RULE, type: 'threshold', severity: 'critical', match: { device: 'probe-*' }, params: { above: 1000 } },
      ],
    });
    const apiConfig = yamlFile(dir, 'api.yaml', {
      host: '127.0.0.1',
      port: apiPort,
      logLevel: 'warn',
      influx: { url: influx.url, api: 'v1', database: DATABASE },
      nats: { servers: [nats.url] },
      auth: { tokens: [randomBytes(18).toString('base64url')] },
      ops: { host: '127.0.0.1', port: apiOps },
    });
    // The gateway creates TELEMETRY, the processor its output streams: one after the other.
    const gateway = await nodeService('gateway', GATEWAY_CLI, ['run', '--config', gatewayConfig], gwOps, opts.profileDir, GATEWAY_NODE_FLAGS);
    const processorService = (i: number): Promise<ManagedProcess> => nodeService(i === 0 ? 'processor' : `processor-${i + 1}`, CLOUD_CLI, ['processor', '--config', processorConfig(i)], procOps[i]!, opts.profileDir, PROCESSOR_NODE_FLAGS);
    const [first, api] = await Promise.all([processorService(0), nodeService('api', CLOUD_CLI, ['api', '--config', apiConfig], apiOps, opts.profileDir)]);
    // More processors join the group once the first has made the streams and buckets; the leases share the partitions out.
    const others = await Promise.all(procOps.slice(1).map((_, i) => processorService(i + 1)));
    return new Pipeline(nats, influx, gateway, [first, ...others], api, `mqtt://127.0.0.1:${mqttPort}`, `http://127.0.0.1:${gwOps}`, procOps.map((port) => `http://127.0.0.1:${port}`), registryFile, password);
  }

  /** Process ids by name, for CPU and RSS. */
  pids(): Record<string, number | undefined> {
    const processors = Object.fromEntries(this.processors.map((p, i) => [i === 0 ? 'processor' : `processor-${i + 1}`, p.pid]));
    return { gateway: this.gateway.pid, ...processors, api: this.api.pid, 'nats-server': this.nats.pid, influxd: this.influx.pid };
  }

  /** Every processor's `/metrics`, one after the other (each sample line stays whole, so sums add up across them). */
  private async scrapeProcessors(): Promise<string> {
    return (await Promise.all(this.processorOps.map((u) => scrape(u)))).join('\n');
  }

  /** Readings the processor has written to InfluxDB (its counter moves only after InfluxDB accepted them). */
  async processedReadings(): Promise<number> {
    return metricSum(await this.scrapeProcessors(), 'fieldline_processor_readings_total');
  }

  /**
   * `processedReadings` and `backlogMessages` from one scrape of each processor: the bench polls
   * them together, and every scrape costs the processor CPU it would otherwise spend on readings
   * (prom-client renders every series and reads /proc on each one; ~2 ms a scrape in a profile).
   */
  async processorProgress(): Promise<{ processed: number; backlog: number }> {
    const text = await this.scrapeProcessors();
    return { processed: metricSum(text, 'fieldline_processor_readings_total'), backlog: metricSum(text, 'fieldline_processor_lag_messages') };
  }

  /** Readings the gateway stored in JetStream (its counter moves after the JetStream ack). */
  async storedReadings(): Promise<number> {
    return metricSum(await scrape(this.gatewayOps), 'fieldline_gateway_readings_in_total');
  }

  /** Connections, publishes and subscriptions the gateway refused so far, by why (connection_rate, bad_password, …). */
  async refusedByGateway(): Promise<Record<string, number>> {
    return metricByLabel(await scrape(this.gatewayOps), 'fieldline_gateway_refused_total', 'why');
  }

  /**
   * Where the processor's flush time went so far (its own histogram, issue 16): seconds and count
   * of each flush step, and the seconds its message loops stood still waiting on the flush chain.
   */
  async flushFigures(): Promise<FlushFigures> {
    const text = await this.scrapeProcessors();
    return {
      stages: histogramByLabel(text, 'fieldline_processor_flush_stage_seconds', 'stage'),
      loop_wait_s: metricSum(text, 'fieldline_processor_backpressure_seconds_total'),
      delay: histogramBuckets(text, 'fieldline_processor_delay_seconds'),
    };
  }

  /** TELEMETRY messages not yet delivered to the processor's consumers. */
  async backlogMessages(): Promise<number> {
    return metricSum(await this.scrapeProcessors(), 'fieldline_processor_lag_messages');
  }

  /**
   * Readings in InfluxDB of devices `{prefix}-…` with event time in [fromMs, toMs): a run's own
   * (the warm-up used the same devices earlier; fleet event time follows the wall clock).
   */
  async countReadings(prefix: string, fromMs: number, toMs = Date.now() + 3_600_000): Promise<number> {
    return countIn(this.influx, DATABASE, `"device" =~ /^${prefix}-/ AND time >= ${Math.floor(fromMs)}ms AND time < ${Math.ceil(toMs)}ms`);
  }

  /** Stops the services in the order production does (producers first), gracefully (profiles are written at exit). */
  async stopServices(): Promise<void> {
    await this.gateway.stop('SIGTERM', 30_000);
    await this.api.stop('SIGTERM', 30_000);
    for (const p of this.processors) await p.stop('SIGTERM', 30_000);
    await this.nats.stop();
  }
}

/** `SELECT count("value") FROM "readings" WHERE …` in `db`. */
export async function countIn(influx: InfluxServer, db: string, where: string): Promise<number> {
  const series = await influx.query(`SELECT count("value") FROM "readings" WHERE ${where}`, db);
  return Number(series[0]?.values[0]?.[1] ?? 0);
}

/**
 * Registers devices that share one password. The gateway's own `addDevice` hashes it once (scrypt
 * is slow by design); the other records repeat that hash, written atomically so the running
 * gateway's registry reload never sees half a file.
 */
export async function registerDevices(registryFile: string, password: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await addDevice(registryFile, ids[0]!, password);
  const reg = JSON.parse(readFileSync(registryFile, 'utf8')) as { v: 1; devices: Record<string, unknown> };
  const record = reg.devices[ids[0]!];
  for (const id of ids) reg.devices[id] = record;
  const tmp = `${registryFile}.bench.tmp`;
  writeFileSync(tmp, `${JSON.stringify(reg)}\n`, { mode: 0o600 });
  renameSync(tmp, registryFile);
}
