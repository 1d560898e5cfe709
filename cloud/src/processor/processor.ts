import { createServer, type Server } from 'node:http';
import { DEADLETTER_HEADERS, STREAMS, subjects } from '@fieldline/contract';
import { AckPolicy, connect, credsAuthenticator, headers, nanos, type NatsConnection } from 'nats';
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { createInfluxWriter, type InfluxWriter } from '../influx/writer.js';
import { BatchingSink } from '../sinks/batching-sink.js';
import { loadProcessorConfig, type ProcessorConfig, type ProcessorConfigInput } from './config.js';
import { createMetrics, type Metrics } from './metrics.js';
import { PartitionWorker } from './partition-worker.js';
import { ensureStreams } from './streams.js';
import { takeOverPartition } from './warm-up.js';

export interface Processor {
  readonly config: ProcessorConfig;
  readonly metrics: Metrics;
  /** Port of `/metrics` and `/healthz` (null when disabled). */
  readonly httpPort: number | null;
  readonly influx: InfluxWriter;
  /** Open sessions and known sensors across owned partitions (for status and the bench). */
  stats(): { openSessions: number; sensors: number };
  close(): Promise<void>;
}

/** Starts one processor: a durable pull consumer per owned partition of TELEMETRY. */
export async function startProcessor(config: ProcessorConfig | ProcessorConfigInput, opts: { logger?: Logger } = {}): Promise<Processor> {
  const cfg = loadProcessorConfig(config);
  const logger = (opts.logger ?? pino({ level: cfg.log.level })).child({ component: 'processor' });
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
  let server: Server | undefined;
  let influx: InfluxWriter | undefined;
  try {
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    await ensureStreams(jsm);
    influx = await createInfluxWriter(cfg.influx, { logger });
    const sink = new BatchingSink(influx, {
      ...cfg.sink,
      logger,
      onRetry: () => metrics.sinkRetries.inc(),
      quarantine: async (line, err) => {
        metrics.sinkQuarantined.inc();
        const device = /^[^ ]*,device=([a-z0-9_-]+)/.exec(line)?.[1] ?? '';
        const h = headers();
        h.set(DEADLETTER_HEADERS.reason, 'influx_rejected');
        h.set(DEADLETTER_HEADERS.error, err.message.replace(/[\r\n]/g, ' ').slice(0, 1000));
        h.set(DEADLETTER_HEADERS.device, device);
        h.set(DEADLETTER_HEADERS.source, 'processor/influx');
        // The body is the refused point, byte for byte; its line is also its dedup id.
        await js.publish(subjects.deadletter('influx_rejected', device), line, { headers: h, msgID: `influx:${line}`.slice(0, 1024) });
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
        retryMaxMs: cfg.sink.retryMaxMs,
        metrics,
        logger: logger.child({ partition: p }),
      });
      // A sensor's gap can grow with its sample interval up to maxLengthMs (windows.gapReadings).
      const maxGap = cfg.windows.gapReadings > 0 ? Math.max(cfg.windows.gapMs, cfg.windows.maxLengthMs) : cfg.windows.gapMs;
      const replayMs = cfg.consumer.replayMs ?? cfg.windows.maxLengthMs + maxGap + cfg.windows.allowedLatenessMs;
      await takeOverPartition({ jsm, js, config: consumerConfig, pipeline: worker.pipeline, replayMs, logger: logger.child({ partition: p }) });
      worker.attach(await js.consumers.get(STREAMS.TELEMETRY.name, durable));
      workers.push(worker);
    }
    if (cfg.http.port !== null) server = await listen(cfg.http.port, cfg.http.host, metrics, () => nc.isClosed() ? 'nats connection closed' : workers.find((w) => w.lastError)?.lastError?.message);
    for (const w of workers) w.start();
  } catch (err) {
    await nc.close().catch(() => {});
    server?.close();
    throw err;
  }
  const addr = server?.address();
  const httpPort = addr && typeof addr === 'object' ? addr.port : null;
  logger.info({ partitions: workers.length, httpPort, influx: influx.api }, 'processor started');
  let closed: Promise<void> | undefined;
  const writer = influx;
  return {
    config: cfg,
    metrics,
    httpPort,
    influx: writer,
    stats: () => ({
      openSessions: workers.reduce((a, w) => a + w.pipeline.openSessions, 0),
      sensors: workers.reduce((a, w) => a + w.pipeline.sensorCount, 0),
    }),
    close() {
      closed ??= (async () => {
        await Promise.all(workers.map((w) => w.close()));
        await nc.drain().catch(() => {});
        await writer.close();
        await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
        logger.info('processor stopped');
      })();
      return closed;
    },
  };
}

function listen(port: number, host: string, metrics: Metrics, problem: () => string | undefined): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(await metrics.registry.metrics());
      } else if (req.url === '/healthz') {
        const p = problem();
        res.writeHead(p ? 503 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(p ? { status: 'failing', error: p } : { status: 'ok' }));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: try /metrics or /healthz\n');
      }
    })().catch(() => res.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
