import type { Logger } from 'pino';
import type { CheckpointRef, Snapshots } from './checkpoints.js';
import type { Metrics } from './metrics.js';

export interface CheckpointKeeperOptions {
  partition: number;
  partitions: number;
  epoch: number;
  /** A checkpoint is due this often while the partition's input moves, ms. */
  periodMs: number;
  snapshots: Snapshots;
  metrics: Metrics;
  logger: Logger;
  /** True once the partition is someone else's: a checkpoint stored then is deleted, never named. */
  fenced: () => boolean;
}

/**
 * One partition worker's checkpoints (partition-worker.ts): when the next is due, the one being
 * stored beside the batches, the one stored and not yet named by a commit, and the one the last
 * commit named. A checkpoint only speeds a restart up: failing to store one never holds the
 * partition, and one that no commit names any more is deleted.
 */
export class CheckpointKeeper {
  /** Named by the last commit: a takeover restores from it. */
  current: CheckpointRef | null;
  /** A checkpoint being stored beside the batches (see `storeBeside`). */
  storing: Promise<void> | undefined;
  /** Stored and not yet named by a commit: the next commit names it. */
  private stored: CheckpointRef | undefined;
  /**
   * This partition's checkpoints fall at `phase + k × periodMs` (performance.now()): its own point
   * of the period, kept across idle spells. Partitions taken over together would checkpoint
   * together, every period, and their snapshots would stall the processor one after another
   * (bench: 7 partitions' cuts of ~110 ms within 50 ms).
   */
  private readonly phase: number;
  private nextAt: number;

  constructor(
    private readonly o: CheckpointKeeperOptions,
    current: CheckpointRef | null,
  ) {
    this.current = current;
    this.phase = performance.now() - (o.periodMs * (o.partition % o.partitions)) / o.partitions;
    this.nextAt = this.phase + o.periodMs;
  }

  get due(): boolean {
    return performance.now() >= this.nextAt;
  }

  /** The next checkpoint: this partition's first point of the period after now. */
  schedule(): void {
    const period = this.o.periodMs;
    this.nextAt = this.phase + (Math.floor((performance.now() - this.phase) / period) + 1) * period;
  }

  /** Sequence of the newest checkpoint stored (named or not); 0 when none. */
  get newestSeq(): number {
    return (this.stored ?? this.current)?.seq ?? 0;
  }

  /** What a commit names: the batch's own checkpoint, else the newest stored, else the current one. */
  toName(own: CheckpointRef | undefined): CheckpointRef | null {
    return own ?? this.stored ?? this.current;
  }

  /** Stores a checkpoint; undefined when it failed. */
  async store(seq: number, snapshot: Uint8Array): Promise<CheckpointRef | undefined> {
    const end = this.o.metrics.flushStage.startTimer({ stage: 'checkpoint' });
    try {
      return await this.o.snapshots.put(this.o.partition, this.o.epoch, seq, snapshot);
    } catch (err) {
      this.o.metrics.checkpoints.inc({ result: 'failed' });
      this.o.logger.warn({ err }, 'checkpoint not stored; the next one will be');
      return undefined;
    } finally {
      end();
    }
  }

  /**
   * Under load a checkpoint is stored beside the next batches and named by the first commit after
   * it is stored: a 3.7 MB state takes longer to store than a batch to commit.
   */
  storeBeside(seq: number, snapshot: Uint8Array): void {
    this.storing = this.store(seq, snapshot).then((ref) => {
      this.storing = undefined;
      this.keep(ref);
    });
  }

  /** A checkpoint stored beside the batches: the next commit names it, unless a newer one was committed meanwhile. */
  private keep(ref: CheckpointRef | undefined): void {
    if (!ref) return;
    if (this.o.fenced() || (this.current && this.current.seq >= ref.seq)) {
      void this.o.snapshots.delete(ref.name);
      return;
    }
    if (this.stored) void this.o.snapshots.delete(this.stored.name);
    this.stored = ref;
  }

  /** After a commit that named `named`: it is the current one, and what no commit names any more is deleted. */
  committed(named: CheckpointRef | null): void {
    if (named && named.name !== this.current?.name) {
      const old = this.current;
      this.current = named;
      this.o.metrics.checkpoints.inc({ result: 'ok' });
      this.o.metrics.checkpointBytes.set({ partition: String(this.o.partition) }, named.bytes);
      if (old) void this.o.snapshots.delete(old.name);
    }
    // Named now; or overtaken by this commit's own (closing): not needed any more. One stored
    // during the commit and newer waits for the next commit.
    if (this.stored && this.stored.seq <= (this.current?.seq ?? 0)) {
      if (this.stored.name !== this.current?.name) void this.o.snapshots.delete(this.stored.name);
      this.stored = undefined;
    }
  }
}
