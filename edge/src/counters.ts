import type { FrameErrorReason } from './errors.js';

/** Everything the agent counts; exposed by `Edge.counters()` and in heartbeats. */
export interface PortCounters {
  frames: number;
  bad_frames: Partial<Record<FrameErrorReason, number>>;
  unmapped_channels: number;
  reopens: number;
  silent: number;
  open: boolean;
}

export function newPortCounters(): PortCounters {
  return { frames: 0, bad_frames: {}, unmapped_channels: 0, reopens: 0, silent: 0, open: false };
}

/** Lets through at most `perMinute` events a minute and says how many it held back. */
export class RateLimiter {
  private windowStart = -Infinity;
  private used = 0;
  private suppressed = 0;

  constructor(private readonly perMinute: number) {}

  /** Returns null when the event should not be logged, else how many were suppressed before it. */
  take(now: number = performance.now()): number | null {
    if (now - this.windowStart >= 60_000) {
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used >= this.perMinute) {
      this.suppressed += 1;
      return null;
    }
    this.used += 1;
    const s = this.suppressed;
    this.suppressed = 0;
    return s;
  }
}
