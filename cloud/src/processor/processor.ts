import { readFileSync } from 'node:fs';
import { deadLetter, STREAMS, subjects } from '@fieldline/contract';
import { createLogger, Health, packageVersion, startOpsServer, type OpsServer } from '@fieldline/runtime';
import { toHeaders } from '@fieldline/runtime/nats';
import { AckPolicy, connect, credsAuthenticator, nanos, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { BatchingSink } from '../influx/batching.js';
import { readTag } from '../influx/line-protocol.js';
import { connectInflux } from '../influx/connection.js';
import { ensureRetention } from '../influx/retention.js';
import { RollupRepairer } from '../influx/rollup-repair.js';
import { resolveTiers } from '../influx/tiers.js';
import { createInfluxWriter, type LineWriter } from '../influx/writer.js';
import { RollupSink } from '../rollups/sink.js';
import { loadProcessorConfig, replayMsOf, type ProcessorConfig, type ProcessorConfigInput } from './config.js';
import { createMetrics, type Metrics } from './metrics.js';
import { PartitionWorker } from './partition-worker.js';
import { ensureStreams } from './streams.js';
import { takeOverPartition } from './warm-up.js';

export interface Processor {
  readonly config: ProcessorConfig;
  readonly metrics: Metrics;
  /** Port of the ops server: `/metrics`, `/healthz`, `/readyz` (null when disabled). */
  readonly httpPort: number | null;
  readonly health: Health;
  readonly influx: LineWriter;
  /** Open sessions and known sensors across owned partitions (for status and the bench). */
  stats(): { openSessions: number; sensors: number };
  close(): Promise<void>;
}

/** Starts one processor: a durable pull consumer per owned partition of TELEMETRY. */
export async function startProcessor(config: ProcessorConfig | ProcessorConfigInput, opts: { logger?: Logger } = {}): Promise<Processor> {
  const cfg = loadProcessorConfig(config);
  const logger = opts.logger ?? createLogger({ service: 'processor', level: cfg.log.level });
  const metrics = createMetrics();
  const n = cfg.nats;
  const nc: NatsConnection = await connect({
    servers: n.servers,
    name: n.name,
    user: n.user,
    pass: n.pass,
    token: n.token,
    authenticator: n.credsFile ? credsAuthenticator(readFileSync(n.credsFile)) : undefined,
    maxReconnectAttempts: -1,
  });
  const workers: PartitionWorker[] = [];
  let ops: OpsServer | undefined;
  let influx: LineWriter | undefined;
  const health = new Health({
    service: 'processor',
    version: packageVersion(import.meta.url),
    checks: {
      nats: () => ({ ok: !nc.isClosed(), detail: nc.isClosed() ? 'connection closed' : 'connected' }),
      partitions: () => {
        const failing = workers.filter((w) => w.problem);
        return { ok: failing.length === 0, detail: failing.length ? { failing: failing.map((w) => w.partition), error: failing[0]!.problem!.message } : { owned: workers.length } };
      },
    },
  });
  try {
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    await ensureStreams(jsm);
    const conn = await connectInflux(cfg.influx);
    const tiers = resolveTiers(cfg.tiers, conn.config);
    // Retention policies (1.x) made or checked, buckets (2.x/3.x) checked, before anything is written.
    await ensureRetention(conn, tiers, { logger });
    influx = await createInfluxWriter(conn, { logger });
    const sink = new BatchingSink(influx, {
      batchLines: cfg.sink.batchLines,
      logger,
      quarantine: async (line, err) => {
        metrics.sinkQuarantined.inc();
        // The body is the refused point, byte for byte; same point = same msgID.
        const dl = deadLetter({ reason: 'influx_rejected', device: readTag(line, 'device') ?? '', source: 'processor/influx', error: err, payload: line });
        await js.publish(dl.subject, dl.payload, { headers: toHeaders(dl.headers), msgID: dl.msgID });
      },
    });
    const owned = cfg.partitions.owned ?? Array.from({ length: cfg.partitions.count }, (_, i) => i);
    for (const p of owned) {
      const durable = `${cfg.consumer.durablePrefix}-${p}`;
      const consumerConfig = {
        durable_name: durable,
        filter_subject: subjects.telemetryPartition(p),
        ack_policy: AckPolicy.All,
        ack_wait: nanos(cfg.consumer.ackWaitMs),
        max_ack_pending: cfg.consumer.maxAckPending,
      };
      const worker = new PartitionWorker({
        partition: p,
        partitions: cfg.partitions.count,
        js,
        sink,
        pipeline: cfg,
        fetchBatch: cfg.consumer.fetchBatch,
        batchLines: cfg.sink.batchLines,
        flushIntervalMs: cfg.sink.flushIntervalMs,
        retryBaseMs: cfg.sink.retryBaseMs,
        retryMaxMs: cfg.sink.retryMaxMs,
        unhealthyAfter: cfg.sink.maxRetries,
        rollups: tiers.rollups.length ? new RollupSink(sink, tiers.rollups, new RollupRepairer(conn), logger) : undefined,
        metrics,
        logger: logger.child({ partition: p }),
      });
      const replayMs = replayMsOf(cfg);
      await takeOverPartition({ jsm, js, config: consumerConfig, pipeline: worker.pipeline, replayMs, logger: logger.child({ partition: p }) });
      worker.attach(await js.consumers.get(STREAMS.TELEMETRY.name, durable));
      workers.push(worker);
    }
    if (cfg.http.port !== null) ops = await startOpsServer({ host: cfg.http.host, port: cfg.http.port, health, metrics: metrics.registry });
    for (const w of workers) w.start();
  } catch (err) {
    await nc.close().catch(() => {});
    await ops?.close();
    throw err;
  }
  health.setState('ready');
  const httpPort = ops?.port ?? null;
  logger.info({ partitions: workers.length, httpPort, influx: influx.api }, 'processor started');
  let closed: Promise<void> | undefined;
  const writer = influx;
  return {
    config: cfg,
    metrics,
    httpPort,
    health,
    influx: writer,
    stats: () => ({
      openSessions: workers.reduce((a, w) => a + w.pipeline.openSessions, 0),
      sensors: workers.reduce((a, w) => a + w.pipeline.sensorCount, 0),
    }),
    close() {
      closed ??= (async () => {
        health.setState('stopping');
        await Promise.all(workers.map((w) => w.close()));
        await nc.drain().catch(() => {});
        await writer.close();
        await ops?.close();
        logger.info('processor stopped');
      })();
      return closed;
    },
  };
}
