/**
 * Tumbling windows: fixed size, back to back, no overlap; `[start, start + size)` with starts at
 * `offset + k·size` from the Unix epoch, so they are aligned in UTC (a size that divides a day
 * starts at UTC midnight; 1 h windows start on the hour) and a reading's window depends only on
 * its own event time, never on arrival order.
 */
export class TumblingAssigner {
  constructor(
    readonly size: number,
    readonly offset = 0,
  ) {
    if (!(Number.isSafeInteger(size) && size > 0)) throw new RangeError(`window size must be a positive whole number of ms, got ${size}`);
    if (!(Number.isSafeInteger(offset) && offset >= 0 && offset < size)) throw new RangeError(`window offset must be in [0, size), got ${offset}`);
  }

  /** Start of the window holding `ts`. */
  startOf(ts: number): number {
    return Math.floor((ts - this.offset) / this.size) * this.size + this.offset;
  }
}
