const WINDOW = 1024;

/**
 * Which batches (`{epoch}:{seq}`) of one device were already processed: the newest seq plus a
 * bitmap of the 1024 before it (128 bytes). Edge seqs strictly increase per epoch, so anything
 * older than the bitmap is a very late duplicate. A new epoch (edge state recreated) starts over.
 */
export class SeqWindow {
  private epoch = '';
  private high = 0;
  private readonly bits = new Uint32Array(WINDOW / 32);

  /** True when the batch is new (and records it). */
  accept(epoch: string, seq: number): boolean {
    if (epoch !== this.epoch) {
      this.epoch = epoch;
      this.high = seq;
      this.bits.fill(0);
      this.set(seq);
      return true;
    }
    if (seq > this.high) {
      const shift = seq - this.high;
      if (shift >= WINDOW) this.bits.fill(0);
      else for (let s = this.high + 1; s < seq; s++) this.clear(s);
      this.high = seq;
      this.set(seq);
      return true;
    }
    if (this.high - seq >= WINDOW || this.has(seq)) return false;
    this.set(seq);
    return true;
  }

  private set(seq: number): void {
    this.bits[(seq % WINDOW) >>> 5]! |= 1 << (seq & 31);
  }

  private clear(seq: number): void {
    this.bits[(seq % WINDOW) >>> 5]! &= ~(1 << (seq & 31));
  }

  private has(seq: number): boolean {
    return (this.bits[(seq % WINDOW) >>> 5]! & (1 << (seq & 31))) !== 0;
  }
}
