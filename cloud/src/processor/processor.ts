import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { deadLetter } from '@fieldline/contract';
import { createLogger, Health, packageVersion, startOpsServer, type OpsServer } from '@fieldline/runtime';
import { drainOrClose, toHeaders, useNativeObjectDigest } from '@fieldline/runtime/nats';
import { connect, credsAuthenticator, StorageType, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { BatchingSink } from '../influx/batching.js';
import { readTag } from '../influx/line-protocol.js';
import { connectInflux } from '../influx/connection.js';
import { ensureRetention } from '../influx/retention.js';
import { RollupRepairer } from '../influx/rollup-repair.js';
import { resolveTiers } from '../influx/tiers.js';
import { InfluxWatch } from '../influx/watch.js';
import { createInfluxWriter, type LineWriter } from '../influx/writer.js';
import { RollupSink } from '../rollups/sink.js';
import { Commits, Snapshots } from './checkpoints.js';
import { loadProcessorConfig, replayMsOf, type ProcessorConfig, type ProcessorConfigInput } from './config.js';
import { LeaseTable } from './leases.js';
import { createMetrics, type Metrics } from './metrics.js';
import { PartitionWorker } from './partition-worker.js';
import { ensureStreams } from './streams.js';
import { planTakeover } from './takeover.js';

export interface OwnedPartition {
  partition: number;
  epoch: number;
  /** State restored and replayed up to the last commit. */
  live: boolean;
  committed: number;
}

export interface Processor {
  readonly config: ProcessorConfig;
  readonly metrics: Metrics;
  /** This instance in leases, commits and logs (unique per start). */
  readonly id: string;
  /** Port of the ops server: `/metrics`, `/healthz`, `/readyz` (null when disabled). */
  readonly httpPort: number | null;
  readonly health: Health;
  readonly influx: LineWriter;
  /** The partitions this processor owns now. */
  owned(): OwnedPartition[];
  /** Open sessions and known sensors across owned partitions (for status and the bench). */
  stats(): { openSessions: number; sensors: number };
  /** Stops cleanly: every owned partition is flushed, checkpointed, committed and released. */
  close(): Promise<void>;
}

interface Owner {
  epoch: number;
  startedAt: number;
  worker?: PartitionWorker;
  live: boolean;
  /** Takeover done (worker started) or failed. */
  ready: Promise<void>;
  /** Set once the owner is being stopped. */
  stopped?: Promise<void>;
  error?: Error;
}

/**
 * Starts one processor of its group: it takes the partitions the leases give it (leases.ts),
 * rebuilds each from its checkpoint (takeover.ts) and runs a worker per partition.
 */
export async function startProcessor(
  config: ProcessorConfig | ProcessorConfigInput,
  opts: {
    logger?: Logger;
    /** Tests: wraps the InfluxDB writer (to slow or fail writes, and see which succeeded). */
    wrapWriter?: (w: LineWriter) => LineWriter;
  } = {},
): Promise<Processor> {
  const cfg = loadProcessorConfig(config);
  const c = cfg.coordination;
  const id = `${c.instance ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-${process.pid}`}-${randomBytes(3).toString('hex')}`;
  const logger = (opts.logger ?? createLogger({ service: 'processor', level: cfg.log.level })).child({ instance: id });
  const metrics = createMetrics();
  // Probed from the start, so that an idle processor, too, says when InfluxDB is gone.
  const influxWatch = new InfluxWatch(cfg.influx.url, cfg.sink.unhealthyAfterMs);
  const n = cfg.nats;
  const nc: NatsConnection = await connect({
    servers: n.servers,
    name: n.name,
    user: n.user,
    pass: n.pass,
    token: n.token,
    authenticator: n.credsFile ? credsAuthenticator(readFileSync(n.credsFile)) : undefined,
    maxReconnectAttempts: -1,
    // nats.js otherwise captures a stack (`new Error()`) for every request and JetStream publish
    // (each alert, session and dead letter): ~2 % of the processor's CPU in the bench's profile.
    noAsyncTraces: true,
  });
  const owners = new Map<number, Owner>();
  let ops: OpsServer | undefined;
  let influx: LineWriter | undefined;
  let leases: LeaseTable | undefined;
  const workers = (): PartitionWorker[] => [...owners.values()].flatMap((o) => (o.worker ? [o.worker] : []));
  const health = new Health({
    service: 'processor',
    version: packageVersion(import.meta.url),
    checks: {
      nats: () => ({ ok: !nc.isClosed(), detail: nc.isClosed() ? 'connection closed' : 'connected' }),
      influx: () => influxWatch.check(),
      partitions: () => {
        const failing = [...owners.entries()].filter(([, o]) => o.error || o.worker?.problem);
        const owned = [...owners.keys()].sort((a, b) => a - b);
        if (failing.length === 0) return { ok: true, detail: { owned } };
        const [p, o] = failing[0]!;
        return { ok: false, detail: { owned, failing: failing.map(([q]) => q), error: `partition ${p}: ${(o.error ?? o.worker!.problem!).message}` } };
      },
    },
  });
  try {
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    await ensureStreams(jsm, undefined, { replicas: n.replicas });
    const conn = await connectInflux(cfg.influx);
    const tiers = resolveTiers(cfg.tiers, conn.config);
    // Retention policies (1.x) made or checked, buckets (2.x/3.x) checked, before anything is written.
    await ensureRetention(conn, tiers, { logger });
    const kv = await js.views.kv(c.bucket, { history: 1, replicas: n.replicas, storage: StorageType.File });
    // Checkpoints are digested with node:crypto, not nats.js's JavaScript SHA-256 (nats-digest.ts: the event loop's longest turns).
    const digest = useNativeObjectDigest();
    if (digest !== 'native') logger.warn('checkpoint digests use nats.js\'s JavaScript SHA-256 (this nats.js version did not pass the native hasher\'s self-check)');
    const os = await js.views.os(c.checkpointBucket, { replicas: n.replicas, storage: StorageType.File });
    const commits = new Commits(kv, c.group);
    const snapshots = new Snapshots(os, c.group);
    influx = await createInfluxWriter(conn, { logger });
    const writer = opts.wrapWriter ? opts.wrapWriter(influx) : influx;
    const sink = new BatchingSink(writer, {
      batchLines: cfg.sink.batchLines,
      logger,
      quarantine: async (line, err) => {
        metrics.sinkQuarantined.inc();
        // The body is the refused point, byte for byte; same point = same msgID.
        const dl = deadLetter({ reason: 'influx_rejected', device: readTag(line, 'device') ?? '', source: 'processor/influx', error: err, payload: line });
        await js.publish(dl.subject, dl.payload, { headers: toHeaders(dl.headers), msgID: dl.msgID });
      },
    });
    const replayMs = replayMsOf(cfg);
    // Rollup lines and repairs, written after each batch's raw lines (none without rollup tiers).
    const rollups = tiers.rollups.length ? new RollupSink(sink, tiers.rollups, new RollupRepairer(conn), logger) : undefined;

    const stop = (p: number, o: Owner, how: 'abort' | 'close'): Promise<void> =>
      (o.stopped ??= (async () => {
        await o.ready;
        if (how === 'abort') await o.worker?.abort();
        else await o.worker?.close();
        if (owners.get(p) === o) owners.delete(p);
      })());

    const takeOver = (p: number, epoch: number): void => {
      const previous = owners.get(p);
      const log = logger.child({ partition: p });
      const o: Owner = { epoch, startedAt: performance.now(), live: false, ready: Promise.resolve() };
      owners.set(p, o);
      o.ready = (async () => {
        // A worker of an older epoch of ours is still stopping: let it finish first.
        if (previous) await stop(p, previous, 'abort');
        const plan = await planTakeover({
          partition: p,
          partitions: cfg.partitions.count,
          epoch,
          owner: id,
          pipeline: cfg,
          commits,
          snapshots,
          jsm,
          js,
          replayMs,
          raiseEpoch: (min) => leases!.raiseEpoch(p, min),
          logger: log,
          metrics,
        });
        o.epoch = plan.epoch;
        if (o.stopped || owners.get(p) !== o) return;
        const worker = new PartitionWorker({
          partition: p,
          partitions: cfg.partitions.count,
          owner: id,
          js,
          sink,
          commits,
          snapshots,
          plan,
          leaseValid: () => leases!.valid(p, plan.epoch),
          onFenced: () => {
            void stop(p, o, 'abort');
            void leases!.release(p);
          },
          onLive: () => {
            o.live = true;
            const s = (performance.now() - o.startedAt) / 1000;
            metrics.takeoverSeconds.observe(s);
            metrics.takeovers.inc({ partition: String(p), state: plan.state });
            log.info({ epoch: plan.epoch, state: plan.state, committed: plan.committed, checkpoint: plan.checkpoint?.seq ?? null, seconds: Math.round(s * 1000) / 1000 }, 'partition taken over; live');
          },
          fetchBatch: cfg.consumer.fetchBatch,
          batchLines: cfg.sink.batchLines,
          flushIntervalMs: cfg.sink.flushIntervalMs,
          checkpointMs: c.checkpointMs,
          checkpointSliceMs: c.checkpointSliceMs,
          retryBaseMs: cfg.sink.retryBaseMs,
          retryMaxMs: cfg.sink.retryMaxMs,
          unhealthyAfterMs: cfg.sink.unhealthyAfterMs,
          rollups,
          metrics,
          logger: log,
        });
        o.worker = worker;
        worker.start();
      })().catch(async (err: unknown) => {
        o.error = err as Error;
        log.error({ err, epoch }, 'takeover failed; giving the partition up to be retried');
        await new Promise((r) => setTimeout(r, 1000));
        if (owners.get(p) === o) owners.delete(p);
        await leases?.release(p);
      });
    };

    leases = new LeaseTable({
      kv,
      group: c.group,
      id,
      partitions: cfg.partitions.count,
      leaseMs: c.leaseMs,
      renewMs: c.renewMs,
      logger: logger.child({ component: 'leases' }),
      metrics,
      events: {
        acquired: (p, epoch) => takeOver(p, epoch),
        lost: (p) => {
          const o = owners.get(p);
          if (o) void stop(p, o, 'abort');
        },
        handOver: (p) => {
          const o = owners.get(p);
          if (!o) return void leases!.release(p);
          void stop(p, o, 'close').then(() => leases!.release(p));
        },
      },
    });
    await leases.start();
    // The first round's partitions are being taken over: wait until their workers run.
    await Promise.all([...owners.values()].map((o) => o.ready));
    if (cfg.http.port !== null) ops = await startOpsServer({ host: cfg.http.host, port: cfg.http.port, health, metrics: metrics.registry });
  } catch (err) {
    influxWatch.close();
    await leases?.close();
    for (const [, o] of owners) await o.worker?.abort();
    await nc.close().catch(() => {});
    await ops?.close();
    throw err;
  }
  health.setState('ready');
  const httpPort = ops?.port ?? null;
  logger.info({ partitions: cfg.partitions.count, owned: [...owners.keys()].sort((a, b) => a - b), httpPort, influx: influx.api, group: c.group }, 'processor started');
  let closed: Promise<void> | undefined;
  const writer = influx;
  const table = leases;
  return {
    config: cfg,
    metrics,
    id,
    httpPort,
    health,
    influx: writer,
    owned: () =>
      [...owners.entries()]
        .filter(([, o]) => o.worker)
        .map(([partition, o]) => ({ partition, epoch: o.epoch, live: o.live, committed: o.worker!.committedSeq }))
        .sort((a, b) => a.partition - b.partition),
    stats: () => ({
      openSessions: workers().reduce((a, w) => a + w.pipeline.openSessions, 0),
      sensors: workers().reduce((a, w) => a + w.pipeline.sensorCount, 0),
    }),
    close() {
      closed ??= (async () => {
        health.setState('stopping');
        influxWatch.close();
        // Leases stay renewed while the workers flush their last batch and checkpoint; then each is released.
        table.keepRenewing();
        await Promise.all(
          [...owners.entries()].map(async ([p, o]) => {
            await o.ready;
            await o.worker?.close();
            await table.release(p);
          }),
        );
        await table.close();
        await drainOrClose(nc, { log: logger });
        await writer.close();
        await ops?.close();
        logger.info('processor stopped');
      })();
      return closed;
    },
  };
}
