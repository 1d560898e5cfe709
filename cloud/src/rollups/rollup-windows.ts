import type { WindowAggregate } from '../windows/aggregate.js';
import { EventTimeTrigger } from '../windows/event-time-trigger.js';
import { HoppingAssigner } from '../windows/hopping.js';
import { TimeWindows, type TimeWindowsKey, type WindowEmit } from '../windows/time-windows.js';

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

  advance(key: RollupKey, deviceTime: number, out: RollupOutput): void {
    this.out = out;
    for (let i = 0; i < this.windows.length; i++) this.windows[i]!.advance(key.tiers[i]!, deviceTime, this.emits[i]!);
  }
}
