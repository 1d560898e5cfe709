import { retry } from '@fieldline/runtime';
import type { JetStreamClient } from 'nats';
import type { Logger } from 'pino';
import type { BatchingSink } from '../influx/batching.js';
import type { RollupSink } from '../rollups/sink.js';
import type { CheckpointKeeper } from './checkpoint-keeper.js';
import { FencedError, type CheckpointRef, type Commits } from './checkpoints.js';
import type { Metrics } from './metrics.js';
import { publishPending, type PendingOutput } from './outputs.js';
import type { Effects } from './pipeline.js';

/** A cut: the effects of the messages up to `seq`, and what the flush has done of them so far. */
export interface Batch {
  fx: Effects;
  seq: number;
  lines: number;
  pending: PendingOutput[];
  /** The alerts' publishes started as they were raised: settled before the rest is retried. */
  inFlight: Promise<void>[];
  written: boolean;
  snapshot?: Uint8Array;
  /** Store the snapshot before the commit (closing, or an idle partition's), not beside later batches. */
  inline: boolean;
  ref?: CheckpointRef;
  closed: boolean;
  /** performance.now() at the cut: the flush's wait behind the batches ahead is measured from it. */
  cutAt: number;
  /** performance.now() when its write started: how long its effects have been trying to become durable. */
  startedAt?: number;
}

export interface BatchFlushOptions {
  partition: number;
  epoch: number;
  owner: string;
  js: JetStreamClient;
  sink: BatchingSink;
  /** Rollup lines and repairs, written after the raw lines (none without rollup tiers). */
  rollups?: RollupSink;
  commits: Commits;
  checkpoints: CheckpointKeeper;
  metrics: Metrics;
  logger: Logger;
  retryBaseMs: number;
  retryMaxMs: number;
  /** The takeover's commit: sequence and revision of the partition's commit record. */
  committed: number;
  commitRev: number;
  /** False once the partition may no longer be written to (the lease is gone, or the worker was fenced): checked before every write and commit. */
  mayWrite: () => boolean;
  /** Aborted when the worker closes or is fenced: the retries stop. */
  signal: AbortSignal;
  /** A step failed and is retried. */
  onRetry: (err: Error) => void;
  /** The batch is committed: its effects are durable and acked. */
  onCommitted: (b: Batch) => void;
}

/**
 * The two steps of a partition's batch (flush-chain.ts runs them in stream order): `write`, its
 * InfluxDB lines; `commit`, its publishes, its checkpoint and the commit record, which is the ack.
 * Each step is the worker's one retry loop: it retries what is not done yet, with backoff, until
 * it works, the worker closes, or the lease is gone (FencedError: given up at once).
 */
export class BatchFlush {
  /** Stream sequence up to which the partition's effects are committed. */
  committed: number;
  private commitRev: number;

  constructor(private readonly o: BatchFlushOptions) {
    this.committed = o.committed;
    this.commitRev = o.commitRev;
  }

  private fence(): void {
    if (!this.o.mayWrite()) throw new FencedError(`partition ${this.o.partition}: lease of epoch ${this.o.epoch} no longer valid`);
  }

  /**
   * The batch's InfluxDB writes: raw and rollup lines side by side, then the repairs (they read
   * the raw points back). The chain runs one batch's write at a time, in stream order.
   */
  async write(b: Batch): Promise<void> {
    this.o.metrics.flushStage.observe({ stage: 'queued' }, (performance.now() - b.cutAt) / 1000);
    await this.retrying(b, async () => {
      this.fence();
      if (b.written) return;
      const raw = (): Promise<void> => this.stage('raw', () => this.o.sink.write(b.fx.points.lines));
      await (this.o.rollups ? this.stage('rollups', () => this.o.rollups!.write(b.fx.points, raw)) : raw());
      b.written = true;
    });
  }

  /**
   * After the batch's writes succeeded: its publishes (the alerts left when raised: they settle
   * first, so none is sent twice at once), its checkpoint, then the commit, which is the ack.
   */
  async commit(b: Batch): Promise<void> {
    /** The checkpoint the commit names. */
    let named: CheckpointRef | null = null;
    await this.retrying(b, async () => {
      this.fence();
      await this.stage('publish', async () => {
        await Promise.all(b.inFlight);
        await publishPending(this.o.js, b.pending, () => this.fence());
      });
      if (b.snapshot && !b.ref) {
        const snapshot = b.snapshot;
        b.snapshot = undefined;
        // Closing (the hand-over restores from it) and idle, the commit waits for it; under load
        // it is stored beside the next batches (checkpoint-keeper.ts).
        if (b.inline || b.closed) b.ref = await this.o.checkpoints.store(b.seq, snapshot);
        else this.o.checkpoints.storeBeside(b.seq, snapshot);
      }
      this.fence();
      const checkpoint = (named = this.o.checkpoints.toName(b.ref));
      const record = { v: 1 as const, partition: this.o.partition, epoch: this.o.epoch, owner: this.o.owner, from: this.committed + 1, seq: b.seq, checkpoint, closed: b.closed };
      this.commitRev = await this.stage('commit', () => this.o.commits.commit(record, this.commitRev));
    });
    this.o.metrics.flushStage.observe({ stage: 'total' }, (performance.now() - b.startedAt!) / 1000);
    this.committed = b.seq;
    this.o.checkpoints.committed(named as CheckpointRef | null);
    this.o.onCommitted(b);
  }

  private retrying(b: Batch, step: () => Promise<void>): Promise<void> {
    b.startedAt ??= performance.now();
    return retry(step, {
      baseMs: this.o.retryBaseMs,
      maxMs: this.o.retryMaxMs,
      jitter: false,
      signal: this.o.signal,
      shouldRetry: (err) => !(err instanceof FencedError),
      onRetry: (err, attempt, delayMs) => {
        this.o.onRetry(err as Error);
        this.o.metrics.sinkRetries.inc();
        this.o.logger.error({ err, attempt, delayMs }, 'effects not durable yet; holding the commit and retrying');
      },
    });
  }

  private stage<T>(name: string, step: () => Promise<T>): Promise<T> {
    const end = this.o.metrics.flushStage.startTimer({ stage: name });
    return step().finally(() => end());
  }
}
