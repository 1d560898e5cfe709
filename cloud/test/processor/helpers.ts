import { batchId, encodeEnvelope, partitionOf, subjects, type Envelope, type Reading } from '@fieldline/contract';
import { cleanupAll, InfluxServer, NatsServer, teardown, type InfluxSeries } from '@fieldline/harness';
import { connect, type JetStreamClient, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import type { ProcessorConfigInput } from '../../src/processor/config.js';
import { startProcessor, type Processor } from '../../src/processor/processor.js';
import { drained as drainedGroup } from '../../src/processor/progress.js';

export const PARTITIONS = 4;
export const silentLogger = pino({ level: process.env.FL_TEST_LOG ?? 'silent' });

export interface Services {
  nats: NatsServer;
  influx: InfluxServer;
  nc: NatsConnection;
  js: JetStreamClient;
}

export async function startServices(): Promise<Services> {
  const [nats, influx] = await Promise.all([NatsServer.start(), InfluxServer.start()]);
  const nc = await connect({ servers: nats.url });
  return { nats, influx, nc, js: nc.jetstream() };
}

export async function stopServices(s: Services | undefined): Promise<void> {
  if (!s) return;
  await s.nc.close();
  await Promise.all([s.nats.stop(), s.influx.stop()]);
}

/**
 * Tests write fixed dates (2025, 2026) while InfluxDB enforces retention against its wall clock:
 * every tier is kept forever, so no test point falls outside a retention (the defaults, raw 30 d
 * and 1 m 365 d, are tested in cloud/test/influx/retention.test.ts).
 */
/**
 * nats-server, influxd and one processor on them (`config`) for the enclosing `describe`: started
 * before its tests, closed and cleaned up after them. Read `services` and `processor` inside tests.
 */
export function processorFixture(config: (s: Services) => ProcessorConfigInput = (s) => baseConfig(s)): { readonly services: Services; readonly processor: Processor } {
  let services: Services | undefined;
  let processor: Processor | undefined;
  beforeAll(async () => {
    services = await startServices();
    processor = await startProcessor(config(services), { logger: silentLogger });
  });
  afterAll(() => teardown({ 'processor.close': () => processor?.close(), 'services.stop': () => stopServices(services), cleanupAll }));
  return {
    get services() {
      return services!;
    },
    get processor() {
      return processor!;
    },
  };
}

export const KEEP_FOREVER = {
  raw: { retention: 'inf' },
  rollups: [
    { name: '1m', every: '1m', retention: 'inf' },
    { name: '1h', every: '1h', retention: 'inf' },
  ],
} satisfies ProcessorConfigInput['tiers'];

export function baseConfig(s: Services, extra: Partial<ProcessorConfigInput> = {}): ProcessorConfigInput {
  return {
    nats: { servers: [s.nats.url] },
    influx: { url: s.influx.url, database: 'fieldline' },
    tiers: KEEP_FOREVER,
    partitions: { count: PARTITIONS },
    http: { port: 0 },
    sink: { flushIntervalMs: 100 },
    log: { level: 'silent' },
    ...extra,
  };
}

let seqs = new Map<string, number>();
export function resetSeqs(): void {
  seqs = new Map();
}

export function envelope(device: string, readings: Reading[], now?: number): Envelope {
  const seq = (seqs.get(device) ?? 0) + 1;
  seqs.set(device, seq);
  const last = readings.reduce((m, r) => Math.max(m, r.ts), 0);
  return { v: 1, device, epoch: 'testepoch1', seq, clock: { synced: true, now: now ?? last }, readings };
}

/** Publishes like the gateway: subject by partition, `Nats-Msg-Id` = batch id. */
export async function publish(js: JetStreamClient, env: Envelope, msgIdSuffix = ''): Promise<void> {
  await js.publish(subjects.telemetry(partitionOf(env.device, PARTITIONS), env.device), encodeEnvelope(env), { msgID: batchId(env) + msgIdSuffix });
}

export async function queryRows(influx: InfluxServer, q: string): Promise<Record<string, unknown>[]> {
  const series: InfluxSeries[] = await influx.query(q, 'fieldline').catch(() => []);
  const rows: Record<string, unknown>[] = [];
  for (const s of series) {
    for (const v of s.values) rows.push({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, v[i]])) });
  }
  return rows;
}

/** Every stored message committed by the processors of `group` (their commit records: processor/progress.ts). */
export function drained(s: Services, group = 'processor'): Promise<boolean> {
  return drainedGroup(s.nc, { partitions: PARTITIONS, group });
}
