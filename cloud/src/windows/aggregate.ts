/**
 * The aggregate of one window: count, sum, min, max, first and last (by event time). Constant
 * size, mergeable (panes of a hopping window, rollup tiers), and all a rollup point or a window
 * rule needs: mean = sum / count (as InfluxDB's mean() is), spread = max − min, rate = change of
 * the value per second between the first and the last reading.
 */
export class WindowAggregate {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  first = NaN;
  firstTs = Infinity;
  last = NaN;
  lastTs = -Infinity;

  add(ts: number, value: number): void {
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    // Ties: the later reading wins, as it does in InfluxDB (same series + time = same point).
    if (ts <= this.firstTs) {
      this.firstTs = ts;
      this.first = value;
    }
    if (ts >= this.lastTs) {
      this.lastTs = ts;
      this.last = value;
    }
  }

  /** Back to empty (a reused scratch aggregate). */
  reset(): this {
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.first = this.last = NaN;
    this.firstTs = Infinity;
    this.lastTs = -Infinity;
    return this;
  }

  get mean(): number {
    return this.count > 0 ? this.sum / this.count : NaN;
  }

  get spread(): number {
    return this.count > 0 ? this.max - this.min : NaN;
  }

  /** Change per second from the first to the last reading; NaN with fewer than two distinct times. */
  get rate(): number {
    return this.lastTs > this.firstTs ? ((this.last - this.first) * 1000) / (this.lastTs - this.firstTs) : NaN;
  }

  clone(): WindowAggregate {
    return mergeAggregates(new WindowAggregate(), this);
  }
}

/** Adds `b` into `a` (the union of their readings) and returns `a`. */
export function mergeAggregates(a: WindowAggregate, b: WindowAggregate): WindowAggregate {
  if (b.count === 0) return a;
  a.count += b.count;
  a.sum += b.sum;
  if (b.min < a.min) a.min = b.min;
  if (b.max > a.max) a.max = b.max;
  if (b.firstTs < a.firstTs) {
    a.firstTs = b.firstTs;
    a.first = b.first;
  }
  if (b.lastTs > a.lastTs) {
    a.lastTs = b.lastTs;
    a.last = b.last;
  }
  return a;
}
