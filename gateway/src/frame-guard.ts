import type { Duplex } from 'node:stream';

/**
 * Enforces `maximumPacketSize` before aedes buffers a packet: mqtt-packet (aedes's parser) has
 * no size limit and would buffer a 256 MiB "remaining length" in memory. This scans the MQTT
 * fixed headers of the byte stream as aedes reads it and destroys the connection as soon as a
 * header announces a packet larger than `maxBytes` (MQTT 3.1.1 §2.2.3 remaining length).
 */
export class FrameGuard {
  /** Bytes of the current packet's body still to skip. */
  private skip = 0;
  /** -1: expecting a fixed-header byte; >= 0: reading the remaining-length varint. */
  private lenBytes = -1;
  private len = 0;
  private mult = 1;
  /** Once violated, the stream cannot be re-synchronised: every later chunk is refused too. */
  private failed: string | null = null;

  constructor(private readonly maxBytes: number) {}

  /** Returns an error message when the stream must be closed. */
  feed(buf: Buffer): string | null {
    return (this.failed ??= this.scan(buf));
  }

  private scan(buf: Buffer): string | null {
    let i = 0;
    while (i < buf.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      if (this.lenBytes < 0) {
        i++; // packet type and flags: mqtt-packet validates them
        this.lenBytes = 0;
        this.len = 0;
        this.mult = 1;
        continue;
      }
      const b = buf[i++]!;
      this.len += (b & 0x7f) * this.mult;
      this.mult *= 128;
      this.lenBytes++;
      if (b & 0x80) {
        if (this.lenBytes >= 4) return 'malformed remaining length (more than 4 bytes)';
        continue;
      }
      const total = 1 + this.lenBytes + this.len;
      if (total > this.maxBytes) return `packet of ${total} bytes exceeds maximumPacketSize ${this.maxBytes}`;
      this.skip = this.len;
      this.lenBytes = -1;
    }
    return null;
  }

  /**
   * Wraps `conn.read` (aedes reads with `conn.read(null)` on 'readable') so every chunk passes the
   * guard first; a violation destroys the connection and hands aedes nothing.
   */
  static attach(conn: Duplex, maxBytes: number, onViolation: (why: string) => void): void {
    const guard = new FrameGuard(maxBytes);
    const read = conn.read.bind(conn);
    conn.read = (size?: number): unknown => {
      const chunk: unknown = read(size);
      if (Buffer.isBuffer(chunk)) {
        const why = guard.feed(chunk);
        if (why) {
          onViolation(why);
          conn.destroy(new Error(why));
          return null;
        }
      }
      return chunk;
    };
  }
}
