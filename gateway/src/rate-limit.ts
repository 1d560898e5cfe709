/** A token bucket: `rate` tokens per second, holding at most `burst`. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
  }

  /** Takes `n` tokens if available now. */
  tryTake(n = 1): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /**
   * Takes `n` tokens, going into debt if needed, and returns how long (ms) the caller must wait
   * for the debt to be repaid. A cost above `burst` is capped so one huge packet cannot stall forever.
   */
  take(n: number): number {
    this.refill();
    this.tokens -= Math.min(n, this.burst);
    return this.tokens >= 0 ? 0 : (-this.tokens / this.rate) * 1000;
  }
}
