import type { Logger } from 'pino';
import type { BatchingSink } from '../influx/batching.js';
import type { Points } from '../influx/points.js';
import type { RollupRepairer } from '../influx/rollup-repair.js';
import type { RollupTier } from '../influx/tiers.js';

/**
 * Writes a batch's rollup lines, each tier to its own retention policy (v1) or bucket (v2), beside
 * the batch's raw lines (`raw`: a rollup line is computed by the pipeline, not read back); then,
 * once every one of those writes succeeded, recomputes the windows that late readings asked to
 * repair, from the raw points, and writes them. Same rules as the raw write: refused lines are
 * quarantined, any other failure is thrown, after every write of the step has ended, so the
 * flush is retried whole (rewriting a point is harmless: its identity comes from event data).
 */
export class RollupSink {
  constructor(
    private readonly sink: BatchingSink,
    private readonly tiers: readonly RollupTier[],
    private readonly repairer: RollupRepairer,
    private readonly logger?: Logger,
  ) {}

  /**
   * `raw` writes the batch's raw lines; each write is its own request, so side by side the step
   * takes the longest of them instead of their sum. The caller runs one batch's `write` at a
   * time (flush-chain.ts): a window written again by a later batch lands after this one.
   */
  async write(points: Points, raw: () => Promise<void> = async () => undefined): Promise<void> {
    await settleAll([raw(), ...this.tiers.map((t) => this.writeTier(points.tiers[t.index], t))]);
    if (points.repairs.length === 0) return;
    const repaired = await this.repairer.lines(points.repairs, this.tiers);
    await settleAll(this.tiers.map((t) => this.writeTier(repaired.get(t.index), t)));
    this.logger?.debug({ repairs: points.repairs.length }, 'rollup windows recomputed for late readings');
  }

  private async writeTier(lines: readonly string[] | undefined, t: RollupTier): Promise<void> {
    if (lines?.length) await this.sink.write(lines, t);
  }
}

/** Waits for every write to end (none is left running behind a retry), then throws the first failure. */
export async function settleAll(writes: readonly Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(writes);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}
