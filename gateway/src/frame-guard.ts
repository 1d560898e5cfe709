import type { Duplex } from 'node:stream';

/**
 * Enforces `maximumPacketSize` before aedes buffers a packet: mqtt-packet (aedes's parser) has
 * no size limit and would buffer a 256 MiB "remaining length" in memory. This scans the MQTT
 * fixed headers of the byte stream as aedes reads it and destroys the connection as soon as a
 * header announces a packet larger than `maxBytes` (MQTT 3.1.1 §2.2.3 remaining length).
 */
/** Bytes kept of a refused packet: its topic and the start of its payload (where the batch's epoch and seq are). */
const HEAD_BYTES = 1024;
/** Longest wait for the rejection notice to be written before the connection is closed. */
const TELL_MS = 1000;

export class FrameGuard {
  /** Bytes of the current packet's body still to skip. */
  private skip = 0;
  /** -1: expecting a fixed-header byte; >= 0: reading the remaining-length varint. */
  private lenBytes = -1;
  private len = 0;
  private mult = 1;
  /** Once violated, the stream cannot be re-synchronised: every later chunk is refused too. */
  private failed: string | null = null;
  /** Where the current packet's fixed header began in the chunk being scanned (-1: an earlier chunk). */
  private headerAt = -1;
  /**
   * The first bytes (up to {@link HEAD_BYTES}) of the packet that broke the limit, from its fixed
   * header on, when they came in one chunk: enough to read its topic and the start of its payload.
   */
  head: Buffer | undefined;

  constructor(private readonly maxBytes: number) {}

  /** Returns an error message when the stream must be closed. */
  feed(buf: Buffer): string | null {
    return (this.failed ??= this.scan(buf));
  }

  private scan(buf: Buffer): string | null {
    let i = 0;
    this.headerAt = -1;
    while (i < buf.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      if (this.lenBytes < 0) {
        this.headerAt = i;
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
      if (total > this.maxBytes) {
        if (this.headerAt >= 0) this.head = Buffer.from(buf.subarray(this.headerAt, Math.min(buf.length, this.headerAt + HEAD_BYTES)));
        return `packet of ${total} bytes exceeds maximumPacketSize ${this.maxBytes}`;
      }
      this.skip = this.len;
      this.lenBytes = -1;
    }
    return null;
  }

  /**
   * Wraps `conn.read` (aedes reads with `conn.read(null)` on 'readable') so every chunk passes the
   * guard first; a violation hands aedes nothing more and closes the connection, after
   * `onViolation` (which may still write to the device: a PUBLISH saying why) has settled, at
   * most {@link TELL_MS} later.
   */
  static attach(conn: Duplex, maxBytes: number, onViolation: (why: string, head: Buffer | undefined) => void | Promise<unknown>): void {
    const guard = new FrameGuard(maxBytes);
    const read = conn.read.bind(conn);
    let violated = false;
    conn.read = (size?: number): unknown => {
      if (violated) return null;
      const chunk: unknown = read(size);
      if (Buffer.isBuffer(chunk)) {
        const why = guard.feed(chunk);
        if (why) {
          violated = true;
          const close = (): void => void conn.destroy(new Error(why));
          const told = onViolation(why, guard.head);
          if (!told) close();
          else {
            const timer = setTimeout(close, TELL_MS);
            void Promise.resolve(told)
              .catch(() => undefined)
              .finally(() => {
                clearTimeout(timer);
                close();
              });
          }
          return null;
        }
      }
      return chunk;
    };
  }
}
