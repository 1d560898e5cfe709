import type { Logger } from 'pino';
import { SerialPort } from 'serialport';
import { backoffMs } from './backoff.js';
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
 * A serial port read by a line driver. Reopened with jittered backoff when it vanishes (the path
 * may be a stable /dev/serial/by-id symlink that comes back), and closed and reopened by a watchdog
 * when no byte arrives for `silenceTimeoutMs`, since a dead adapter does not always send a close.
 */
export class LinePort {
  private port: SerialPort | undefined;
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
    badPerMinute: number,
  ) {
    const parse = spec.create(cfg.options);
    const bad = badFrameReporter(counters, log, badPerMinute);
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
    // serialport reads into a fresh highWaterMark-sized buffer each time (64 KiB by default):
    // at 10 Hz per port that is most of the agent's garbage, so it is sized to the frame limit.
    const highWaterMark = Math.max(1024, 2 * this.cfg.maxFrameBytes);
    const port = new SerialPort({ path: this.cfg.path, baudRate: this.cfg.baudRate, autoOpen: false, highWaterMark });
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      this.lastData = performance.now();
      this.framer.push(chunk);
    });
    port.on('error', (err) => this.log.warn({ err: err.message }, 'serial port error'));
    port.on('close', () => this.lost(port, 'closed'));
    port.open((err) => {
      if (err) return this.lost(port, `open failed: ${err.message}`);
      if (this.port !== port || this.closed) return void port.close(() => undefined);
      this.attempt = 0;
      this.lastData = performance.now();
      this.counters.open = true;
      this.log.info({ path: this.cfg.path }, 'serial port open');
    });
  }

  /** The port is gone (closed, vanished, open failed): reopen after a jittered backoff. */
  private lost(port: SerialPort, why: string): void {
    if (this.port !== port) return;
    this.port = undefined;
    this.counters.open = false;
    port.removeAllListeners('data');
    if (port.isOpen) port.close(() => undefined);
    if (this.closed) return;
    const wait = backoffMs(this.attempt++, this.cfg.reopen.minMs, this.cfg.reopen.maxMs);
    if (this.attempt === 1) this.log.warn({ why, retryInMs: wait }, 'serial port lost; reopening');
    else this.log.debug({ why, retryInMs: wait }, 'serial port still unavailable');
    this.counters.reopens += 1;
    this.reopenTimer = setTimeout(() => this.openPort(), wait);
  }

  private checkSilence(): void {
    const port = this.port;
    if (!port?.isOpen || performance.now() - this.lastData < this.cfg.silenceTimeoutMs) return;
    this.counters.silent += 1;
    this.log.warn({ silentForMs: Math.round(performance.now() - this.lastData) }, 'serial port silent; reopening');
    this.lost(port, 'silent');
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reopenTimer);
    clearInterval(this.watchdog);
    const port = this.port;
    this.port = undefined;
    this.counters.open = false;
    if (port?.isOpen) await new Promise<void>((r) => port.close(() => r()));
  }
}
