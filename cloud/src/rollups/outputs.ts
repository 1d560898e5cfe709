import type { Points, ReadingSeries } from '../influx/points.js';
import { resolveTiers, type TiersConfig } from '../influx/tiers.js';
import type { WindowAggregate } from '../windows/aggregate.js';
import type { StateIn, StateOut } from '../windows/window-state.js';
import { RollupWindows, type RollupKey, type RollupOutput } from './rollup-windows.js';

/** What the pipeline keeps per sensor for its windowed outputs: the sensor's line series, and its windows. */
export interface WindowedKey extends ReadingSeries {
  windowed: RollupKey | undefined;
}

/**
 * The pipeline's hook for windowed outputs (rollups): called with every reading of a sensor and
 * whenever its device's event time moves on; writes rollup points (and repairs) into the
 * effects' points, each tier to its own lines (its own retention policy or bucket).
 */
export class WindowedOutputs implements RollupOutput {
  private readonly rollups: RollupWindows;
  private readonly measurements: string[];
  private points: Points | undefined;
  private key: WindowedKey | undefined;

  constructor(tiers: Pick<TiersConfig, 'rollups'> | undefined, allowedLatenessMs: number) {
    const rollups = tiers ? resolveTiers({ raw: { retention: Infinity }, manage: 'off', rollups: tiers.rollups }, { bucket: '' }).rollups : [];
    this.measurements = rollups.map((t) => t.measurement);
    this.rollups = new RollupWindows(rollups.map((t) => t.everyMs), allowedLatenessMs);
    this.enabled = rollups.length > 0;
  }

  /** Any rollup tier configured. */
  readonly enabled: boolean;

  /** Every reading (late ones too: they are in the raw points); `deviceTime` as before its message. */
  reading(key: WindowedKey, ts: number, value: number, deviceTime: number, fx: { points: Points }): void {
    if (!this.enabled) return;
    this.use(key, fx);
    this.rollups.add((key.windowed ??= this.rollups.newKey()), ts, value, deviceTime, this);
  }

  /** The key's device event time moved on to `deviceTime`. */
  advance(key: WindowedKey, deviceTime: number, fx: { points: Points }): void {
    if (!key.windowed) return;
    this.use(key, fx);
    this.rollups.advance(key.windowed, deviceTime, this);
  }

  /**
   * Checkpoints (issue 12's pipeline snapshot, per sensor): the sensor's open rollup windows.
   * The tiers are config: a snapshot's config fingerprint must cover `tiers.rollups` too.
   */
  snapshot(key: WindowedKey, w: StateOut): void {
    this.rollups.snapshot(key.windowed, w);
  }

  /** Reads what `snapshot` wrote into `key` (throws on state of another tier count). */
  restore(key: WindowedKey, r: StateIn): void {
    key.windowed = this.rollups.restore(r);
  }

  window(tier: number, start: number, agg: WindowAggregate): void {
    // Tags only here, once per window: readings of a message alternate between sensors.
    this.points!.rollup(tier, this.measurements[tier]!, this.key!.tags, start, agg);
  }

  repair(tier: number, start: number): void {
    this.points!.repair({ tier, device: this.key!.device, sensor: this.key!.sensor, start });
  }

  private use(key: WindowedKey, fx: { points: Points }): void {
    this.points = fx.points;
    this.key = key;
  }
}
