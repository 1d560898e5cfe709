import type { Logger } from 'pino';
import { SinkWriteError, type LineWriter } from './types.js';

export interface BatchingSinkOptions {
  /** Lines per request. */
  batchLines: number;
  /** Retries of an unavailable server per request before `write` gives up (the caller does not ack). */
  maxRetries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Receives each line the server refused on its own (after bisection), with the server's reason. */
  quarantine: (line: string, error: SinkWriteError) => Promise<void>;
  logger?: Logger;
  onRetry?: () => void;
  /** For tests: how to wait between retries. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Writes lines in batches and resolves only once every line was accepted or quarantined, so the
 * caller can ack. A refused batch (400/422: type conflict, out of range, parse error; 1.x and 2.x
 * write the good lines of a partial write anyway) is split in halves until the bad lines are
 * alone; rewriting the good ones is harmless because a point's identity comes from event data.
 */
export class BatchingSink {
  private readonly sleep: (ms: number) => Promise<void>;
  retries = 0;
  quarantined = 0;

  constructor(
    readonly writer: LineWriter,
    private readonly opts: BatchingSinkOptions,
  ) {
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /**
   * `lines` are lines of line protocol; an element may also be several lines joined with `\n`
   * (a line cannot contain one), which counts as one toward `batchLines` and is split into its
   * lines only if the server refuses it.
   */
  async write(lines: readonly string[]): Promise<void> {
    for (let i = 0; i < lines.length; i += this.opts.batchLines) {
      await this.writeSplitting(lines.slice(i, i + this.opts.batchLines));
    }
  }

  private async writeSplitting(lines: readonly string[]): Promise<void> {
    try {
      await this.writeRetrying(lines);
    } catch (err) {
      if (!(err instanceof SinkWriteError) || err.failure !== 'rejected') throw err;
      if (lines.length === 1 && lines[0]!.includes('\n')) {
        await this.writeSplitting(lines[0]!.split('\n'));
        return;
      }
      if (lines.length === 1) {
        this.quarantined++;
        this.opts.logger?.warn({ err: err.message }, 'InfluxDB refused a point; quarantined to DEADLETTER');
        await this.opts.quarantine(lines[0]!, err);
        return;
      }
      const mid = lines.length >>> 1;
      await this.writeSplitting(lines.slice(0, mid));
      await this.writeSplitting(lines.slice(mid));
    }
  }

  private async writeRetrying(lines: readonly string[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.writer.write(lines);
        return;
      } catch (err) {
        const retryable = err instanceof SinkWriteError ? err.failure === 'unavailable' : true;
        if (!retryable || attempt >= this.opts.maxRetries) throw err;
        this.retries++;
        this.opts.onRetry?.();
        // Exponential backoff, capped; no jitter so that behaviour stays reproducible.
        const delay = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** attempt);
        this.opts.logger?.warn({ err: (err as Error).message, attempt: attempt + 1, delayMs: delay }, 'InfluxDB write failed; retrying');
        await this.sleep(delay);
      }
    }
  }
}
