import type { StateReader, StateWriter } from '../detectors/state-codec.js';

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

  /** Checkpoints: epoch, newest seq and the bitmap. */
  write(w: StateWriter): void {
    w.str(this.epoch).f64(this.high);
    for (const b of this.bits) w.u32(b);
  }

  read(r: StateReader): void {
    this.epoch = r.text('seq window epoch');
    this.high = r.f64('seq window high');
    for (let i = 0; i < this.bits.length; i++) this.bits[i] = r.u32('seq window bits');
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
