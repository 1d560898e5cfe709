import { WindowAggregate } from './aggregate.js';
import type { EventTimeTrigger } from './event-time-trigger.js';

/** Per key: readings not yet final (sorted by time, then value), and the window being filled. */
export interface CountWindowsKey {
  /** Flattened `[ts, value, ts, value, …]`, sorted. */
  pending: number[];
  /** Readings already placed in windows, in event-time order. */
  placed: number;
  current: WindowAggregate;
}

/**
 * Count windows: every `n` consecutive readings of a key **in event-time order** form a window
 * (eKuiper and Flink count by arrival; counting by event time is what keeps the windows
 * independent of arrival order within the allowed lateness). A reading's place in that order is
 * final once the watermark (device event time − allowed lateness) has passed it, since any reading
 * that could still come before it would be late; so readings wait, sorted, until then, and a window
 * is emitted once, when its `n`-th reading is placed. There is no late re-emission: a late reading
 * would shift every later window, so it goes to the late side output instead. Ties in time are
 * ordered by value, so the order is total and the same for any arrival order.
 */
export class CountWindows {
  constructor(
    readonly n: number,
    readonly trigger: EventTimeTrigger,
  ) {
    if (!(Number.isSafeInteger(n) && n >= 1)) throw new RangeError(`count window size must be a whole number >= 1, got ${n}`);
  }

  static newKey(): CountWindowsKey {
    return { pending: [], placed: 0, current: new WindowAggregate() };
  }

  /** False when the reading is late: older than the watermark, its place would already be taken. */
  add(key: CountWindowsKey, ts: number, value: number, deviceTime: number): boolean {
    if (ts < this.trigger.watermark(deviceTime)) return false;
    const p = key.pending;
    let i = p.length;
    while (i > 0 && (p[i - 2]! > ts || (p[i - 2] === ts && p[i - 1]! > value))) i -= 2;
    if (i === p.length) p.push(ts, value);
    else p.splice(i, 0, ts, value);
    return true;
  }

  /**
   * Places the readings the watermark has made final and emits each window completed, with its
   * index (the key's `index`-th window of `n`: its identity) and aggregate (valid during the call).
   */
  advance(key: CountWindowsKey, deviceTime: number, emit: (index: number, agg: WindowAggregate) => void): void {
    const wm = this.trigger.watermark(deviceTime);
    const p = key.pending;
    let i = 0;
    for (; i < p.length && p[i]! < wm; i += 2) {
      key.current.add(p[i]!, p[i + 1]!);
      key.placed++;
      if (key.placed % this.n === 0) {
        emit(key.placed / this.n - 1, key.current);
        key.current = new WindowAggregate();
      }
    }
    if (i > 0) p.splice(0, i);
  }
}
