/**
 * The byte format of checkpointed state (issue 12): detectors write their per-sensor state with a
 * {@link StateWriter} and read it back with a {@link StateReader}; the processor's pipeline
 * snapshot (`processor/pipeline-state.ts`) uses the same two around them. Little-endian, numbers
 * as float64 (NaN and ±Infinity round-trip exactly, so a restored state computes bit for bit what
 * the original would have), typed arrays as raw bytes. A reader never trusts a length: anything
 * that runs past the end or does not fit is a {@link SnapshotError}, never a crash or a huge
 * allocation.
 */

/** Bytes that are not a snapshot this code can read (corrupt, truncated, another version or config). */
export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export class StateWriter {
  private buf: Uint8Array;
  private view: DataView;
  private at = 0;

  constructor(initialBytes = 4096) {
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.at;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(x: number): this {
    this.room(1);
    this.view.setUint8(this.at, x);
    this.at += 1;
    return this;
  }

  u32(x: number): this {
    this.room(4);
    this.view.setUint32(this.at, x, true);
    this.at += 4;
    return this;
  }

  f64(x: number): this {
    this.room(8);
    this.view.setFloat64(this.at, x, true);
    this.at += 8;
    return this;
  }

  bool(x: boolean): this {
    return this.u8(x ? 1 : 0);
  }

  /** A string, or undefined (length 0xFFFFFFFF). */
  str(s: string | undefined): this {
    if (s === undefined) return this.u32(0xffffffff);
    // Ids and units are short ASCII: their UTF-8 is their char codes, written in place (an
    // encode() per string was a tenth of a partition's snapshot).
    if (s.length <= 256) {
      this.room(4 + s.length);
      const at = this.at + 4;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        this.buf[at + i] = c;
      }
      if (i === s.length) {
        this.view.setUint32(this.at, s.length, true);
        this.at = at + s.length;
        return this;
      }
    }
    const b = enc.encode(s);
    this.u32(b.length);
    return this.raw(b);
  }

  f64s(a: Float64Array): this {
    this.u32(a.length);
    return this.raw(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }

  f32s(a: Float32Array): this {
    this.u32(a.length);
    return this.raw(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }

  raw(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
    return this;
  }

  /** The bytes written (a copy, so the writer can be reused). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.at);
  }

  /** The bytes written, without a copy: for a writer used once (a pipeline snapshot is megabytes). */
  written(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }
}

export class StateReader {
  private readonly view: DataView;
  private at = 0;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.at;
  }

  get offset(): number {
    return this.at;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.at + n > this.buf.length) throw new SnapshotError(`snapshot truncated: ${what} needs ${n} bytes at offset ${this.at}, ${this.remaining} left`);
  }

  u8(what = 'byte'): number {
    this.need(1, what);
    return this.view.getUint8(this.at++);
  }

  u32(what = 'count'): number {
    this.need(4, what);
    const x = this.view.getUint32(this.at, true);
    this.at += 4;
    return x;
  }

  /** A count of items of at least `itemBytes` each: bounded by what is left, so no length can make us allocate more than the input. */
  count(what: string, itemBytes: number): number {
    const n = this.u32(what);
    if (n * itemBytes > this.remaining) throw new SnapshotError(`snapshot corrupt: ${what} ${n} does not fit in ${this.remaining} bytes`);
    return n;
  }

  f64(what = 'number'): number {
    this.need(8, what);
    const x = this.view.getFloat64(this.at, true);
    this.at += 8;
    return x;
  }

  bool(what = 'flag'): boolean {
    const b = this.u8(what);
    if (b > 1) throw new SnapshotError(`snapshot corrupt: ${what} is ${b}, not 0 or 1`);
    return b === 1;
  }

  str(what = 'string'): string | undefined {
    const n = this.u32(what);
    if (n === 0xffffffff) return undefined;
    this.need(n, what);
    try {
      return dec.decode(this.buf.subarray(this.at, (this.at += n)));
    } catch {
      throw new SnapshotError(`snapshot corrupt: ${what} is not UTF-8`);
    }
  }

  /** A string that must be present. */
  text(what: string): string {
    const s = this.str(what);
    if (s === undefined) throw new SnapshotError(`snapshot corrupt: ${what} missing`);
    return s;
  }

  /** Copies `length` float64s into `into` (whose length must match). */
  f64s(into: Float64Array, what: string): void {
    const n = this.u32(what);
    if (n !== into.length) throw new SnapshotError(`snapshot does not fit: ${what} has ${n} numbers, this version keeps ${into.length}`);
    this.need(n * 8, what);
    new Uint8Array(into.buffer, into.byteOffset, into.byteLength).set(this.buf.subarray(this.at, (this.at += n * 8)));
  }

  f32s(into: Float32Array, what: string): void {
    const n = this.u32(what);
    if (n !== into.length) throw new SnapshotError(`snapshot does not fit: ${what} has ${n} numbers, this version keeps ${into.length}`);
    this.need(n * 4, what);
    new Uint8Array(into.buffer, into.byteOffset, into.byteLength).set(this.buf.subarray(this.at, (this.at += n * 4)));
  }

  /** The next `n` bytes as a view. */
  raw(n: number, what: string): Uint8Array {
    this.need(n, what);
    return this.buf.subarray(this.at, (this.at += n));
  }

  /** Reads a detector's version byte; anything else than `version` is a SnapshotError naming the detector. */
  version(name: string, version: number): void {
    const v = this.u8(`${name} version`);
    if (v !== version) throw new SnapshotError(`${name} state version ${v} is unknown (this build writes ${version})`);
  }
}

type Plain = Record<string, unknown>;

/**
 * snapshot/restore for a state object made of numbers and booleans only (most detectors): the
 * listed fields in order as float64, after a version byte. `init` gives the object to fill, so
 * a restored state has the same shape (hidden class) as a fresh one.
 */
export function plainState<S extends object>(name: string, version: number, init: () => S, fields: readonly (keyof S & string)[]) {
  return {
    snapshot(s: S, w: StateWriter): void {
      w.u8(version);
      for (const f of fields) {
        const v = (s as Plain)[f];
        w.f64(typeof v === 'boolean' ? (v ? 1 : 0) : (v as number));
      }
    },
    restore(r: StateReader): S {
      r.version(name, version);
      const s = init();
      for (const f of fields) {
        const x = r.f64(`${name}.${f}`);
        (s as Plain)[f] = typeof (s as Plain)[f] === 'boolean' ? x !== 0 : x;
      }
      return s;
    },
  };
}
