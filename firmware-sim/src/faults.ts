import { deriveSeed, uniformAt } from './prng.js';
import type { Board, FaultKind } from './scenario.js';

type FrameFault = Exclude<FaultKind, 'unplug'>;

/**
 * Per-frame faults, decided by counter-based randomness from (seed, board, fault index, tick):
 * the same ticks get the same faults whatever the pacing, keeping output byte-identical.
 */
export class FrameFaults {
  private readonly faults: { kind: FrameFault; probability: number; seed: number }[];
  readonly counts: Record<FrameFault, number> = { garbage: 0, truncated: 0, overlong: 0, bad_checksum: 0 };

  constructor(board: Board, seed: number, device: string) {
    this.faults = board.faults.flatMap((f, i) =>
      f.kind === 'unplug' ? [] : [{ kind: f.kind, probability: f.probability, seed: deriveSeed(seed, device, board.id, 'fault', i) }],
    );
  }

  /** Which faults hit tick k (and a seed to draw their bytes from). */
  private hits(k: number): Map<FrameFault, number> {
    const hit = new Map<FrameFault, number>();
    for (const f of this.faults) if (uniformAt(f.seed, 2 * k) < f.probability) hit.set(f.kind, f.seed);
    return hit;
  }

  /** Applies the faults for tick k to a line frame (docs/serial-protocols.md: how edges must cope). */
  applyToLine(frame: string, k: number, maxFrameBytes: number): Buffer {
    const hit = this.hits(k);
    if (hit.size === 0) return Buffer.from(frame, 'latin1');
    let out = Buffer.from(frame, 'latin1');
    const seedOf = (kind: FrameFault): number => hit.get(kind)!;
    if (hit.has('bad_checksum')) {
      // NMEA: the last two hex digits before the terminator are the checksum; flip one bit.
      const at = frame.lastIndexOf('*') + 1;
      const wrong = ((parseInt(frame.slice(at, at + 2), 16) ^ 0x01) & 0xff).toString(16).toUpperCase().padStart(2, '0');
      out = Buffer.from(frame.slice(0, at) + wrong + frame.slice(at + 2), 'latin1');
      this.counts.bad_checksum++;
    }
    if (hit.has('truncated')) {
      // Cut mid-frame with no terminator: the rest of the line never arrives (board reset).
      const keep = 1 + Math.floor(uniformAt(seedOf('truncated'), 2 * k + 1) * Math.max(1, out.length - 3));
      out = out.subarray(0, keep);
      this.counts.truncated++;
    }
    if (hit.has('garbage')) {
      const n = 1 + Math.floor(uniformAt(seedOf('garbage'), 2 * k + 1) * 8);
      const junk = Buffer.alloc(n);
      // Line noise: high-bit bytes and stray control characters, never a terminator or `$`.
      for (let i = 0; i < n; i++) junk[i] = [0x00, 0x07, 0x1b, 0x7f, 0x80, 0xa5, 0xfe, 0xff][Math.floor(uniformAt(seedOf('garbage'), 4 * k + 3 + i * 7919) * 8)]!;
      out = Buffer.concat([junk, out]);
      this.counts.garbage++;
    }
    if (hit.has('overlong')) {
      // A line longer than the edge's frame limit (filler, never a valid frame), then the real frame intact.
      const start = frame.startsWith('$') ? frame.slice(0, frame.indexOf(',') + 1) : '';
      const long = `${start}${'X'.repeat(maxFrameBytes + 16)}${frame.endsWith('\r\n') ? '\r\n' : '\n'}`;
      out = Buffer.concat([Buffer.from(long, 'latin1'), out]);
      this.counts.overlong++;
    }
    return out;
  }

  /** Applies the faults for poll number k to a Modbus response. */
  applyToModbus(res: Buffer, k: number): Buffer {
    const hit = this.hits(k);
    if (hit.size === 0) return res;
    let out = res;
    if (hit.has('bad_checksum')) {
      out = Buffer.from(out);
      out[out.length - 1]! ^= 0xff;
      this.counts.bad_checksum++;
    }
    if (hit.has('truncated')) {
      out = out.subarray(0, Math.max(1, out.length - 3));
      this.counts.truncated++;
    }
    if (hit.has('garbage')) {
      out = Buffer.concat([Buffer.from([0xff, 0x00, 0xa5]), out]);
      this.counts.garbage++;
    }
    return out;
  }
}
