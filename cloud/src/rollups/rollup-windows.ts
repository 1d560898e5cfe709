import type { WindowAggregate } from '../windows/aggregate.js';
import { EventTimeTrigger } from '../windows/event-time-trigger.js';
import { HoppingAssigner } from '../windows/hopping.js';
import { TimeWindows, type TimeWindowsKey, type WindowEmit } from '../windows/time-windows.js';
import { readTimeWindowsKey, writeTimeWindowsKey, type StateIn, type StateOut } from '../windows/window-state.js';

/** One sensor's open rollup windows, per tier. */
export interface RollupKey {
  tiers: TimeWindowsKey[];
}

export interface RollupOutput {
  /** A tier's window, emitted on time or again after a late reading (same key: its start). The aggregate is valid during the call. */
  window(tier: number, start: number, agg: WindowAggregate): void;
  /** A reading came for a window already final: recompute it from the raw points. */
  repair(tier: number, start: number): void;
}

/**
 * Rollup windows: one tumbling event-time window per tier (1 m and 1 h by default) over every
 * reading of a sensor, late ones included (they are in the raw `readings` too). A window is
 * emitted when its device's event time passes its end, emitted again when a reading within the
 * allowed lateness updates it, and dropped once final; a reading for a final window asks for a
 * repair instead. Pure, as the rest of the pipeline.
 */
export class RollupWindows {
  readonly windows: TimeWindows[];
  private out: RollupOutput | undefined;
  // One closure per tier, made once: the hot path allocates nothing per reading.
  private readonly emits: WindowEmit[];

  constructor(everyMs: readonly number[], allowedLatenessMs: number) {
    const trigger = new EventTimeTrigger(allowedLatenessMs);
    this.windows = everyMs.map((ms) => new TimeWindows(HoppingAssigner.tumbling(ms), trigger));
    this.emits = this.windows.map((_, i) => (start, _end, agg) => this.out!.window(i, start, agg));
  }

  get tiers(): number {
    return this.windows.length;
  }

  newKey(): RollupKey {
    return { tiers: this.windows.map(() => TimeWindows.newKey()) };
  }

  /** `deviceTime`: the device's event time before this reading's message. */
  add(key: RollupKey, ts: number, value: number, deviceTime: number, out: RollupOutput): void {
    this.out = out;
    for (let i = 0; i < this.windows.length; i++) {
      const w = this.windows[i]!;
      if (w.add(key.tiers[i]!, ts, value, deviceTime, this.emits[i]!) > 0) out.repair(i, w.assigner.paneOf(ts));
    }
  }

  /** Checkpoints: a sensor's rollup windows (none yet: `undefined`), every tier's open windows. */
  snapshot(key: RollupKey | undefined, w: StateOut): void {
    w.u8(key ? 1 : 0);
    if (!key) return;
    w.u32(key.tiers.length);
    for (const k of key.tiers) writeTimeWindowsKey(w, k);
  }

  /** Reads what `snapshot` wrote; a snapshot of another number of tiers is refused. */
  restore(r: StateIn): RollupKey | undefined {
    const present = r.u8('rollup key present');
    if (present === 0) return undefined;
    if (present !== 1) throw new RangeError(`rollup key flag is ${present}, not 0 or 1`);
    const n = r.count('rollup tiers', 20);
    if (n !== this.windows.length) throw new RangeError(`rollup state has ${n} tiers, the config ${this.windows.length}`);
    const tiers: TimeWindowsKey[] = [];
    for (let i = 0; i < n; i++) tiers.push(readTimeWindowsKey(r));
    return { tiers };
  }

  advance(key: RollupKey, deviceTime: number, out: RollupOutput): void {
    this.out = out;
    for (let i = 0; i < this.windows.length; i++) this.windows[i]!.advance(key.tiers[i]!, deviceTime, this.emits[i]!);
  }
}
