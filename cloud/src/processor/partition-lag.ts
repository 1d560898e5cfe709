import type { Metrics } from './metrics.js';

/** What the lag reads from the partition's consumer. */
export interface PendingSource {
  info(cached?: boolean): Promise<{ num_pending: number }>;
}

/**
 * A partition's true backlog, the `fieldline_processor_lag_messages` gauge: its messages stored
 * after its last commit, delivered or not. That is the ones not yet delivered (`pending`, from the
 * newest message read, and refreshed every second from the consumer) plus the ones read and not
 * committed. `pending` alone read 0 while thousands waited, read but uncommitted, on InfluxDB.
 */
export class PartitionLag {
  /** `pending` of the newest message read, or of the consumer's last info: not yet delivered. */
  private pending = 0;
  /** Sequences read (live) and not committed yet, oldest first. */
  private readonly uncommitted: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly label: { partition: string };

  constructor(
    private readonly metrics: Metrics,
    partition: number,
    /** The consumer being read (none between two consume loops). */
    private readonly consumer: () => PendingSource | undefined,
  ) {
    this.label = { partition: String(partition) };
  }

  /** Refreshes `pending` from the consumer every `everyMs` until `stop`. */
  start(everyMs = 1000): void {
    this.timer = setInterval(() => void this.refresh(), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** A live message was read: `pending` is its `info.pending`. */
  read(seq: number, pending: number): void {
    this.uncommitted.push(seq);
    this.pending = pending;
    this.set();
  }

  /** The messages up to `seq` are committed: they leave the backlog. */
  committed(seq: number): void {
    while (this.uncommitted.length && this.uncommitted[0]! <= seq) this.uncommitted.shift();
    this.set();
  }

  private async refresh(): Promise<void> {
    try {
      const ci = await this.consumer()?.info(false);
      if (ci) this.pending = ci.num_pending;
    } catch {
      // NATS unreachable: the last figure stands (the nats health check says why).
    }
    this.set();
  }

  private set(): void {
    this.metrics.lag.set(this.label, this.pending + this.uncommitted.length);
  }
}
