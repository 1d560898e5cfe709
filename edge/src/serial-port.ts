import { isatty, ReadStream } from 'node:tty';
import type { Logger } from 'pino';
import { SerialPort } from 'serialport';
import { backoffDelay } from '@fieldline/runtime';
import type { PortConfig } from './config.js';
import { RateLimiter, type PortCounters } from './counters.js';
import type { Frame, LineDriverSpec } from './drivers/index.js';
import { FrameError, type FrameErrorReason } from './errors.js';
import { LineFramer } from './line-framer.js';

/** Reports a bad frame: counted always, logged at a limited rate. */
export function badFrameReporter(counters: PortCounters, log: Logger, perMinute: number): (reason: FrameErrorReason, message: string) => void {
  const limiter = new RateLimiter(perMinute);
  return (reason, message) => {
    counters.bad_frames[reason] = (counters.bad_frames[reason] ?? 0) + 1;
    const suppressed = limiter.take();
    if (suppressed !== null) log.warn({ reason, suppressed }, `bad frame dropped: ${message}`);
  };
}

/**
 * Takes the open port's fd from serialport and reads it through a libuv tty handle instead:
 * serialport's own read path costs a poll wake-up and two thread-pool `read`s per frame, the tty
 * handle one non-blocking `read` on the loop thread. The stream owns the fd from here on
 * (destroying it closes the fd); serialport is left without one, so it can never close it twice.
 * libuv reopens a pty slave (a virtual port) over the same fd, which drops serialport's `flock` on
 * it; real adapters (ttyUSB, ttyACM, ttyS) are not reopened and keep the lock.
 */
function takeReader(port: SerialPort): ReadStream {
  const binding = port.port;
  if (!binding || !('poller' in binding) || binding.fd === null || !isatty(binding.fd)) throw new Error('not a tty');
  const fd = binding.fd;
  // Closing serialport's poll handle drops the fd from epoll, so it goes before the tty handle's watch.
  binding.poller.destroy();
  binding.fd = null;
  return new ReadStream(fd);
}

/**
 * A serial port read by a line driver. Reopened with jittered backoff when it vanishes (the path
 * may be a stable /dev/serial/by-id symlink that comes back), and closed and reopened by a watchdog
 * when no byte arrives for `silenceTimeoutMs`, since a dead adapter does not always send a close.
 * serialport opens and configures the port (lock, baud rate, raw termios); the bytes are read by
 * `takeReader`'s stream.
 */
export class LinePort {
  /** The port being opened, then the stream reading it. */
  private link: SerialPort | ReadStream | undefined;
  private closed = false;
  private attempt = 0;
  private reopenTimer: NodeJS.Timeout | undefined;
  private readonly watchdog: NodeJS.Timeout | undefined;
  private lastData = performance.now();
  private readonly framer: LineFramer;

  constructor(
    private readonly cfg: PortConfig,
    spec: LineDriverSpec,
    private readonly counters: PortCounters,
    private readonly log: Logger,
    onFrame: (frame: Frame) => void,
    bad: (reason: FrameErrorReason, message: string) => void,
  ) {
    const parse = spec.create(cfg.options);
    this.framer = new LineFramer(
      cfg.maxFrameBytes,
      (line) => {
        let frame: Frame;
        try {
          frame = parse(line);
        } catch (err) {
          if (err instanceof FrameError) return bad(err.reason, err.message);
          return bad('bad_syntax', `parser failed: ${(err as Error).message}`);
        }
        counters.frames += 1;
        onFrame(frame);
      },
      bad,
      spec.startByte,
    );
    this.openPort();
    if (cfg.silenceTimeoutMs > 0) {
      this.watchdog = setInterval(() => this.checkSilence(), Math.max(50, Math.floor(cfg.silenceTimeoutMs / 4)));
    }
  }

  private openPort(): void {
    if (this.closed) return;
    const port = new SerialPort({ path: this.cfg.path, baudRate: this.cfg.baudRate, autoOpen: false });
    this.link = port;
    port.on('error', (err) => this.log.warn({ err }, 'serial port error'));
    port.open((err) => {
      if (err) return this.lost(port, `open failed: ${err.message}`);
      if (this.link !== port || this.closed) return void port.close(() => undefined);
      let reader: ReadStream;
      try {
        reader = takeReader(port);
      } catch (e) {
        return this.lost(port, `cannot read ${this.cfg.path}: ${(e as Error).message}`);
      }
      this.link = reader;
      reader.on('data', (chunk: Buffer) => {
        this.lastData = performance.now();
        this.framer.push(chunk);
      });
      // An unplugged adapter fails the read (EIO) or ends the stream; both mean reopen.
      reader.on('error', (e) => this.log.warn({ err: e }, 'serial port error'));
      reader.on('end', () => this.lost(reader, 'ended'));
      reader.on('close', () => this.lost(reader, 'closed'));
      this.attempt = 0;
      this.lastData = performance.now();
      this.counters.open = true;
      this.log.info({ path: this.cfg.path }, 'serial port open');
    });
  }

  /** The port is gone (closed, vanished, open failed): reopen after a jittered backoff. */
  private lost(link: SerialPort | ReadStream, why: string): void {
    if (this.link !== link) return;
    this.link = undefined;
    this.counters.open = false;
    release(link);
    if (this.closed) return;
    const wait = backoffDelay(this.attempt++, { baseMs: this.cfg.reopen.minMs, maxMs: this.cfg.reopen.maxMs });
    if (this.attempt === 1) this.log.warn({ why, retryInMs: wait }, 'serial port lost; reopening');
    else this.log.debug({ why, retryInMs: wait }, 'serial port still unavailable');
    this.counters.reopens += 1;
    this.reopenTimer = setTimeout(() => this.openPort(), wait);
  }

  private checkSilence(): void {
    const link = this.link;
    if (!(link instanceof ReadStream) || performance.now() - this.lastData < this.cfg.silenceTimeoutMs) return;
    this.counters.silent += 1;
    this.log.warn({ silentForMs: Math.round(performance.now() - this.lastData) }, 'serial port silent; reopening');
    this.lost(link, 'silent');
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reopenTimer);
    clearInterval(this.watchdog);
    const link = this.link;
    this.link = undefined;
    this.counters.open = false;
    if (link) await release(link);
  }
}

/** Closes the port or its reader (which closes the fd); resolves once it is closed. */
function release(link: SerialPort | ReadStream): Promise<void> {
  if (link instanceof ReadStream) {
    link.removeAllListeners('data');
    if (link.closed) return Promise.resolve();
    return new Promise<void>((r) => link.once('close', () => r()).destroy());
  }
  if (!link.isOpen) return Promise.resolve();
  return new Promise<void>((r) => link.close(() => r()));
}
