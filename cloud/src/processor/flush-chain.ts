/**
 * The order a partition's batches become durable and committed in (issue 16). A batch goes
 * through two steps:
 * - `write`: its InfluxDB writes (raw lines, rollup lines, repairs). One batch at a time, in
 *   stream order: a rollup window written again by a later batch must land after its earlier
 *   version, a retried write must not overwrite a newer one, and a repair reads back the raw
 *   points of every batch before it.
 * - `commit`: what follows the writes (publishes, checkpoint) and the commit. One batch at a
 *   time, in stream order, and only once the batch's own `write` has succeeded.
 *
 * The two steps of different batches overlap: batch N+1 is written while batch N publishes,
 * checkpoints and commits. Before, every step of every batch ran one after another, so a
 * partition wrote to InfluxDB only about half the time it was flushing (bench: a 5,000-line
 * write ~400 ms, a checkpoint ~600 ms and a commit ~100 ms on the loaded machine, all serial).
 *
 * A step retries inside itself (the worker's one retry loop) and rejects only when it gives up
 * (closing, fenced). Then nothing after it is written or committed: the commit is the ack, and
 * a commit past a batch whose effects are not durable would lose that batch (docs/architecture.md:
 * at-least-once into InfluxDB, commit only after every write of the batch succeeded).
 */
export interface FlushSteps<B> {
  write(batch: B): Promise<void>;
  commit(batch: B): Promise<void>;
  /** A step gave up (the first time one does): that batch and every later one are dropped. */
  onFailed(err: unknown, batch: B): void;
}

export class FlushChain<B> {
  private writes: Promise<boolean> = Promise.resolve(true);
  private commits: Promise<boolean> = Promise.resolve(true);
  /** Batches handed in and not yet committed (or dropped after a failure), oldest first. */
  private readonly open: { batch: B; done: Promise<boolean> }[] = [];
  private pushed = 0;
  /** The first batch (by order handed in) a step gave up on: it and every later one are dropped. */
  private stopAt = Infinity;

  constructor(private readonly steps: FlushSteps<B>) {}

  /** Batches handed in and not committed yet. */
  get pending(): number {
    return this.open.length;
  }

  /** The oldest batch not committed yet. */
  get oldest(): B | undefined {
    return this.open[0]?.batch;
  }

  /** A step gave up: no batch after it is written or committed. */
  get failed(): boolean {
    return this.stopAt !== Infinity;
  }

  /** Resolves once every batch handed in so far is committed or dropped. */
  settled(): Promise<void> {
    return this.commits.then(() => undefined);
  }

  /** Resolves once the oldest open batch is committed or dropped (at once when none is open). */
  async oldestSettled(): Promise<void> {
    await this.open[0]?.done;
  }

  /** Hands a batch in; resolves true once it is committed, false when it was dropped (the chain failed). */
  push(batch: B): Promise<boolean> {
    const i = this.pushed++;
    // A write waits for the write before it (a failed one drops it); earlier batches whose writes
    // succeeded still commit.
    const written = this.writes.then((ok) => this.run(ok, i, batch, this.steps.write));
    // The commit waits for its own write and for the commit before it (a failed one drops it).
    const committed = Promise.all([written, this.commits]).then(([w, c]) => this.run(w && c, i, batch, this.steps.commit));
    this.writes = written;
    this.commits = committed;
    const entry = { batch, done: committed };
    this.open.push(entry);
    void committed.then(() => this.open.splice(this.open.indexOf(entry), 1));
    return committed;
  }

  private async run(go: boolean, i: number, batch: B, step: (b: B) => Promise<void>): Promise<boolean> {
    if (!go || i >= this.stopAt) return false;
    try {
      await step.call(this.steps, batch);
      return i < this.stopAt;
    } catch (err) {
      const first = !this.failed;
      this.stopAt = Math.min(this.stopAt, i);
      if (first) this.steps.onFailed(err, batch);
      return false;
    }
  }
}
