/**
 * Bounds concurrent InfluxDB queries (architecture: "Bounded"): at most `concurrency` run, at most
 * `queue` wait; beyond that a request is refused at once with 503 and counted, instead of piling
 * up on influxd.
 */
import { ApiError } from './params.js';
import type { Store } from './store.js';

export class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  rejected = 0;

  constructor(
    private readonly concurrency: number,
    private readonly queue: number,
  ) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queue) {
        this.rejected++;
        throw new ApiError(503, `too many concurrent queries (limits.influxConcurrency = ${this.concurrency}, limits.influxQueue = ${this.queue}); retry shortly`);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter, so `running` never over-counts.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** The same store, every query going through `limiter`. */
export function limitedStore(store: Store, limiter: Limiter): Store {
  return {
    api: store.api,
    lastReadings: () => limiter.run(() => store.lastReadings()),
    series: (...a) => limiter.run(() => store.series(...a)),
    sessions: (...a) => limiter.run(() => store.sessions(...a)),
    alertRows: (...a) => limiter.run(() => store.alertRows(...a)),
  };
}
