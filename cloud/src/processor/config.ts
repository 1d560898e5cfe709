import { DEFAULT_PARTITIONS, ID_PATTERN } from '@fieldline/contract';
import { ConfigError, loadConfig, logConfigSchema } from '@fieldline/runtime';
import { z } from 'zod';
import { influxConfigSchema } from '../influx/config.js';
import { tiersSchema } from '../influx/tiers.js';
import { detectorEntrySchema } from '../detectors/config.js';
import { DEFAULT_DETECTORS } from '../detectors/defaults.js';
import { CLOCK_RULE, DEFAULT_CLOCK_LIMITS } from './clock-check.js';
import { SNAPSHOT_SLICE_MS } from './pipeline-state.js';

const ms = z.number().int().nonnegative();

export const processorConfigSchema = z
  .object({
    nats: z
      .object({
        /** @default ['nats://127.0.0.1:4222'] */
        servers: z.array(z.string().min(1)).min(1).default(['nats://127.0.0.1:4222']),
        user: z.string().min(1).optional(),
        /** Never logged. */
        pass: z.string().min(1).optional(),
        token: z.string().min(1).optional(),
        /** NATS credentials file (JWT + nkey seed). */
        credsFile: z.string().min(1).optional(),
        /** @default 'fieldline-processor' */
        name: z.string().min(1).default('fieldline-processor'),
        /** Replicas of what the processor creates when missing: the ALERTS, SESSIONS and DEADLETTER streams, the lease KV and checkpoint buckets (3 on a 3-node cluster). @default 1 */
        replicas: z.number().int().min(1).max(5).default(1),
      })
      .strict()
      .default({}),
    influx: influxConfigSchema.default({}),
    partitions: z
      .object({
        /** P, fixed per deployment (must match the gateway). Processors share them by leases (`coordination`). @default 8 */
        count: z.number().int().min(1).max(1024).default(DEFAULT_PARTITIONS),
      })
      .strict()
      .default({}),
    consumer: z
      .object({
        /** Messages per pull. @default 256 */
        fetchBatch: z.number().int().min(1).max(10_000).default(256),
        /**
         * Only when a partition has no usable checkpoint: its state is re-derived by replaying this
         * much TELEMETRY history (JetStream time) before its last commit; 0 disables. Sessions and
         * rollup windows older than it are then rewritten from part of their readings. @default windows.maxLengthMs + the largest gap (maxLengthMs when gapReadings > 0, else gapMs) + allowedLatenessMs, and at least the largest rollup window + allowedLatenessMs
         */
        replayMs: z.number().int().nonnegative().optional(),
      })
      .strict()
      .default({}),
    coordination: z
      .object({
        /** Processors with the same group share the partitions (one owner each); another group is independent. @default 'processor' */
        group: z.string().regex(/^[A-Za-z0-9_-]+$/).default('processor'),
        /** KV bucket of the leases, members and commits. @default 'fl_processor' */
        bucket: z.string().regex(/^[A-Za-z0-9_-]+$/).default('fl_processor'),
        /** Object Store bucket of the checkpoints. @default 'fl_checkpoints' */
        checkpointBucket: z.string().regex(/^[A-Za-z0-9_-]+$/).default('fl_checkpoints'),
        /** A lease not renewed for this long (as its observers measure) may be taken over. @default 5000 */
        leaseMs: z.number().int().min(500).max(300_000).default(5000),
        /** Renewal period (and of the member heartbeat and the balancing round). @default 1000 */
        renewMs: z.number().int().min(50).max(60_000).default(1000),
        /**
         * A partition's state is checkpointed this often while its input moves (and when it is
         * handed over). A checkpoint rewrites the partition's whole state, whatever the load (the
         * bench's 600 sensors a partition: 3.7-6.8 MB each time), so the period trades CPU against
         * what a crash replays: at most this much of the partition's input, state only. At 10 s
         * the bench's processor spent 15-20 % more CPU per reading at half load than with no
         * checkpoint at all, and the alert p99 at a tenth of the load was 28-71 ms against 16 ms.
         * A clean stop checkpoints, so only a crash replays. Checkpoints also set the alert tail
         * at low load: at a tenth of the bench's load the alert p99 was 85 ms with 30 s and 22 ms
         * with an hour (README, Performance). @default 30000
         */
        checkpointMs: z.number().int().min(100).max(3_600_000).default(30_000),
        /**
         * A checkpoint's snapshot, written beside the processing, lets the event loop run after
         * writing for this long (pipeline-state.ts `SnapshotCut`). @default 5
         */
        checkpointSliceMs: z.number().min(0).max(1000).default(SNAPSHOT_SLICE_MS),
        /** Name of this instance in logs and metrics. @default `{hostname}-{pid}` (made unique per start) */
        instance: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
      })
      .strict()
      .default({}),
    windows: z
      .object({
        /** Inactivity gap that closes a session. @default 30000 */
        gapMs: ms.min(1).default(30_000),
        /** …and at least this many of the sensor's own sample intervals (capped at maxLengthMs); 0: gapMs only. @default 10 */
        gapReadings: z.number().int().min(0).max(10_000).default(10),
        /** Sessions are cut at multiples of this (event time, epoch aligned). @default 3600000 */
        maxLengthMs: ms.min(1).default(3_600_000),
        /** How far behind a device's newest event time a reading may arrive and still count. @default 10000 */
        allowedLatenessMs: ms.default(10_000),
        /** A device this far behind its partition's event time is silent altogether. @default 120000 */
        deviceSilenceMs: ms.min(1).default(120_000),
      })
      .strict()
      .default({}),
    /** Storage tiers: raw retention, rollups (1m, 1h) and their retention (`src/influx/tiers.ts`). */
    tiers: tiersSchema.default({}),
    /** Which device times are believed (docs/architecture.md, "Device clocks"). */
    clock: z
      .object({
        /** A reading this far (ms) after JetStream stored its message comes from a clock running ahead. @default 60000 */
        maxAheadMs: ms.min(1000).default(DEFAULT_CLOCK_LIMITS.maxAheadMs),
        /** A reading before this (epoch ms) from a clock that says it is synced is implausible. @default 946684800000 (2000-01-01) */
        earliestMs: ms.default(DEFAULT_CLOCK_LIMITS.earliestMs),
      })
      .strict()
      .default({}),
    /** Rules per sensor kind. @default anomaly, flatline (`stuck`) and dropout for every sensor */
    detectors: z.array(detectorEntrySchema).default(DEFAULT_DETECTORS.map((d) => ({ ...d }))),
    alerts: z
      .object({
        /** A reading with score >= this counts as an anomaly in its session. @default 0.5 */
        anomalyScore: z.number().min(0).max(1).default(0.5),
        /** Flapping suppression: an alert resolves only after its condition was clear this long. @default 10000 */
        clearMs: ms.default(10_000),
        /** …and for this many readings in a row (a cooldown in the sensor's own sample rate). @default 5 */
        clearReadings: z.number().int().min(1).max(100_000).default(5),
      })
      .strict()
      .default({}),
    sink: z
      .object({
        /** Lines per InfluxDB request. @default 5000 */
        batchLines: z.number().int().min(1).max(100_000).default(5000),
        /** Longest a line waits before its batch is written (also the pull's wait for messages). @default 250 */
        flushIntervalMs: z.number().int().min(100).default(250),
        /**
         * How long InfluxDB may be unreachable, or a partition's effects not durable (InfluxDB or
         * JetStream refusing or silent), before `/healthz` turns 503 saying why. The flush keeps
         * retrying either way; nothing is acked meanwhile. @default 5000
         */
        unhealthyAfterMs: z.number().int().min(100).default(5000),
        /** First wait of the flush retry; it doubles up to retryMaxMs. @default 100 */
        retryBaseMs: z.number().int().min(1).default(100),
        /** @default 10000 */
        retryMaxMs: z.number().int().min(1).default(10_000),
      })
      .strict()
      .default({}),
    http: z
      .object({
        /** Ops server (`/metrics`, `/healthz`, `/readyz`); 0 picks a free port, null disables (README: ports). @default 9465 */
        port: z.number().int().min(0).max(65535).nullable().default(9465),
        /** @default '127.0.0.1' */
        host: z.string().min(1).default('127.0.0.1'),
      })
      .strict()
      .default({}),
    /** `{ level }`, @default info */
    log: logConfigSchema.default({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (cfg.windows.maxLengthMs < cfg.windows.gapMs) {
      ctx.addIssue({ code: 'custom', path: ['windows', 'maxLengthMs'], message: 'must be at least windows.gapMs' });
    }
    if (cfg.coordination.renewMs * 3 > cfg.coordination.leaseMs) {
      ctx.addIssue({ code: 'custom', path: ['coordination', 'renewMs'], message: 'must be at most a third of coordination.leaseMs (a lease must survive two lost renewals)' });
    }
    const rules = new Map<string, string>();
    cfg.detectors.forEach((d, i) => {
      if (!ID_PATTERN.test(d.rule)) ctx.addIssue({ code: 'custom', path: ['detectors', i, 'rule'], message: 'must match [a-z0-9][a-z0-9_-]{0,62}' });
      if (d.rule === CLOCK_RULE) ctx.addIssue({ code: 'custom', path: ['detectors', i, 'rule'], message: `"${CLOCK_RULE}" is the processor's own clock check; name the rule otherwise` });
      const type = rules.get(d.rule);
      if (type !== undefined && type !== d.type) {
        ctx.addIssue({ code: 'custom', path: ['detectors', i, 'type'], message: `rule "${d.rule}" is already a ${type} detector` });
      }
      rules.set(d.rule, d.type);
    });
  });

export type ProcessorConfig = z.infer<typeof processorConfigSchema>;

/** `consumer.replayMs`, or its default: what a takeover without a usable checkpoint replays, so that sessions (and the largest gap) and rollup windows open then are re-derived. */
export function replayMsOf(cfg: ProcessorConfig): number {
  if (cfg.consumer.replayMs !== undefined) return cfg.consumer.replayMs;
  // A sensor's gap can grow with its sample interval up to maxLengthMs (windows.gapReadings).
  const maxGap = cfg.windows.gapReadings > 0 ? Math.max(cfg.windows.gapMs, cfg.windows.maxLengthMs) : cfg.windows.gapMs;
  const widest = Math.max(0, ...cfg.tiers.rollups.map((t) => t.every));
  return Math.max(cfg.windows.maxLengthMs + maxGap, widest) + cfg.windows.allowedLatenessMs;
}
export type ProcessorConfigInput = z.input<typeof processorConfigSchema>;

/** Invalid processor configuration; the message names every offending key path (exit 78). */
export class ProcessorConfigError extends ConfigError {
  override name = 'ProcessorConfigError';
}

/** Loads a YAML file (path) or validates an object; defaults applied, unknown keys rejected. */
export function loadProcessorConfig(pathOrObject: string | ProcessorConfigInput | Record<string, unknown>): ProcessorConfig {
  return loadConfig(pathOrObject, processorConfigSchema, { what: 'processor config', error: ProcessorConfigError });
}
