import { WindowAggregate } from './aggregate.js';

/** Per key: the readings of the last `size` ms, sorted by time, with monotonic queues for min and max. */
export interface SlidingKey {
  ts: number[];
  v: number[];
  /** Index of the oldest reading still in the window. */
  head: number;
  sum: number;
  /** Indices whose values increase (min at the front) / decrease (max at the front). */
  minQ: number[];
  maxQ: number[];
  minHead: number;
  maxHead: number;
}

/**
 * A sliding window evaluated at every reading (eKuiper's SLIDINGWINDOW): `(t − size, t]` where
 * t is the newest reading's time. In-order readings cost O(1) amortised (running sum, monotonic
 * queues for min and max); a reading older than the newest is inserted at its place and the
 * queues rebuilt (O(window)). Memory grows with the readings in the window (rate × size): for
 * long windows over fast sensors a hopping window keeps one aggregate per hop instead.
 */
export class SlidingWindows {
  constructor(readonly size: number) {
    if (!(Number.isSafeInteger(size) && size > 0)) throw new RangeError(`window size must be a positive whole number of ms, got ${size}`);
  }

  static newKey(): SlidingKey {
    return { ts: [], v: [], head: 0, sum: 0, minQ: [], maxQ: [], minHead: 0, maxHead: 0 };
  }

  /** Adds a reading and drops those older than `size` before the newest. */
  add(k: SlidingKey, ts: number, value: number): void {
    const n = k.ts.length;
    if (n === k.head || ts >= k.ts[n - 1]!) {
      k.ts.push(ts);
      k.v.push(value);
      this.pushQueues(k, n);
    } else {
      let i = n;
      while (i > k.head && k.ts[i - 1]! > ts) i--;
      k.ts.splice(i, 0, ts);
      k.v.splice(i, 0, value);
      this.rebuildQueues(k);
    }
    k.sum += value;
    this.evict(k, k.ts[k.ts.length - 1]! - this.size);
  }

  /** The window ending at `t` (no reading since the newest): drops what is older, returns its aggregate. */
  advanceTo(k: SlidingKey, t: number, out: WindowAggregate): WindowAggregate {
    this.evict(k, t - this.size);
    return this.aggregate(k, out);
  }

  /** The aggregate of the window ending at the newest reading, into `out`. */
  aggregate(k: SlidingKey, out: WindowAggregate): WindowAggregate {
    const n = k.ts.length;
    if (n === k.head) return out.reset();
    out.count = n - k.head;
    out.sum = k.sum;
    out.min = k.v[k.minQ[k.minHead]!]!;
    out.max = k.v[k.maxQ[k.maxHead]!]!;
    out.first = k.v[k.head]!;
    out.firstTs = k.ts[k.head]!;
    out.last = k.v[n - 1]!;
    out.lastTs = k.ts[n - 1]!;
    return out;
  }

  private evict(k: SlidingKey, olderOrAt: number): void {
    while (k.head < k.ts.length && k.ts[k.head]! <= olderOrAt) k.sum -= k.v[k.head++]!;
    while (k.minHead < k.minQ.length && k.minQ[k.minHead]! < k.head) k.minHead++;
    while (k.maxHead < k.maxQ.length && k.maxQ[k.maxHead]! < k.head) k.maxHead++;
    // Compact now and then: the arrays hold only the window, and the running sum is recomputed
    // (bounded float drift).
    if (k.head >= 1024 && k.head * 2 >= k.ts.length) {
      k.ts = k.ts.slice(k.head);
      k.v = k.v.slice(k.head);
      k.head = 0;
      k.sum = 0;
      for (const x of k.v) k.sum += x;
      this.rebuildQueues(k);
    }
  }

  private pushQueues(k: SlidingKey, i: number): void {
    const v = k.v[i]!;
    while (k.minQ.length > k.minHead && k.v[k.minQ[k.minQ.length - 1]!]! >= v) k.minQ.pop();
    k.minQ.push(i);
    while (k.maxQ.length > k.maxHead && k.v[k.maxQ[k.maxQ.length - 1]!]! <= v) k.maxQ.pop();
    k.maxQ.push(i);
    if (k.minHead > 1024 && k.minHead * 2 > k.minQ.length) {
      k.minQ = k.minQ.slice(k.minHead);
      k.minHead = 0;
    }
    if (k.maxHead > 1024 && k.maxHead * 2 > k.maxQ.length) {
      k.maxQ = k.maxQ.slice(k.maxHead);
      k.maxHead = 0;
    }
  }

  private rebuildQueues(k: SlidingKey): void {
    k.minQ = [];
    k.maxQ = [];
    k.minHead = k.maxHead = 0;
    for (let i = k.head; i < k.ts.length; i++) this.pushQueues(k, i);
  }
}
