import type { Logger } from 'pino';
import type { BatchingSink } from '../influx/batching.js';
import type { Points } from '../influx/points.js';
import type { RollupRepairer } from '../influx/rollup-repair.js';
import type { RollupTier } from '../influx/tiers.js';

/**
 * Writes a batch's rollup lines, each tier to its own retention policy (v1) or bucket (v2), after
 * the batch's raw lines were accepted; then recomputes the windows that late readings asked to
 * repair, from those raw lines. Same rules as the raw write: refused lines are quarantined, any
 * other failure is thrown so the flush is retried whole (rewriting a rollup point is harmless).
 */
export class RollupSink {
  constructor(
    private readonly sink: BatchingSink,
    private readonly tiers: readonly RollupTier[],
    private readonly repairer: RollupRepairer,
    private readonly logger?: Logger,
  ) {}

  async write(points: Points): Promise<void> {
    for (const t of this.tiers) {
      const lines = points.tiers[t.index];
      if (lines?.length) await this.sink.write(lines, t);
    }
    if (points.repairs.length === 0) return;
    const repaired = await this.repairer.lines(points.repairs, this.tiers);
    for (const t of this.tiers) {
      const lines = repaired.get(t.index);
      if (lines?.length) await this.sink.write(lines, t);
    }
    this.logger?.debug({ repairs: points.repairs.length }, 'rollup windows recomputed for late readings');
  }
}
