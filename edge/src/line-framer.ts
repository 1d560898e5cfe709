import type { FrameErrorReason } from './errors.js';

const LF = 0x0a;
const CR = 0x0d;
// Printable ASCII only (docs/serial-protocols.md): anything else in a line makes it garbage.
const NON_PRINTABLE = /[^\x20-\x7e]/;

/**
 * Splits a byte stream into lines (`\n`, a trailing `\r` is dropped) of at most `maxBytes`.
 * A longer line is discarded whole up to the next terminator (`over_long`); a line with
 * non-printable bytes is `garbage`. With a `startByte` (NMEA `$`), a start byte mid-line means
 * the previous frame lost its terminator: the part before it is garbage and parsing resumes there.
 */
export class LineFramer {
  private buf: Buffer;
  private len = 0;
  private discarding = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onBad: (reason: FrameErrorReason, message: string) => void,
    private readonly startByte?: number,
  ) {
    // +1 for a trailing \r that is not part of the frame.
    this.buf = Buffer.allocUnsafe(maxBytes + 1);
  }

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(LF, pos);
      const end = nl < 0 ? chunk.length : nl;
      if (!this.discarding) {
        const n = end - pos;
        if (this.len + n > this.maxBytes + 1) {
          this.discarding = true;
          this.len = 0;
        } else {
          chunk.copy(this.buf, this.len, pos, end);
          this.len += n;
        }
      }
      if (nl < 0) return;
      pos = nl + 1;
      if (this.discarding) {
        this.discarding = false;
        this.onBad('over_long', `line longer than ${this.maxBytes} bytes dropped`);
        continue;
      }
      this.emit();
    }
  }

  private emit(): void {
    let line = this.buf.subarray(0, this.len);
    this.len = 0;
    if (line.length && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    if (line.length > this.maxBytes) return this.onBad('over_long', `line longer than ${this.maxBytes} bytes dropped`);
    if (line.length === 0) return;
    if (this.startByte !== undefined) {
      const at = line.lastIndexOf(this.startByte);
      if (at > 0) {
        this.onBad('garbage', `${at} bytes without a terminator before a frame start`);
        line = line.subarray(at);
      }
    }
    const text = line.toString('latin1');
    if (NON_PRINTABLE.test(text)) return this.onBad('garbage', 'non-printable bytes in line');
    this.onLine(text);
  }
}
