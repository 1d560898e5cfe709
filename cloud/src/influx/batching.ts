import type { Logger } from 'pino';
import { InfluxWriteError } from './errors.js';
import type { StorageTarget } from './tiers.js';
import type { LineWriter } from './writer.js';

export interface BatchingSinkOptions {
  /** Lines per request. */
  batchLines: number;
  /** Receives each line the server refused on its own (after bisection), with the server's reason. */
  quarantine: (line: string, error: InfluxWriteError) => Promise<void>;
  logger?: Logger;
}

/**
 * Writes lines in batches and resolves only once every line was accepted or quarantined, so the
 * caller can ack. A refused batch (400/422: type conflict, out of range, parse error; 1.x and 2.x
 * write the good lines of a partial write anyway) is split in halves until the bad lines are
 * alone; rewriting the good ones is harmless because a point's identity comes from event data.
 * Any other failure (unavailable, config) is thrown at once: the caller owns the one retry loop
 * (the processor's flush retries everything it has to make durable, not the write alone).
 */
export class BatchingSink {
  quarantined = 0;

  constructor(
    readonly writer: LineWriter,
    private readonly opts: BatchingSinkOptions,
  ) {}

  /**
   * `lines` are lines of line protocol; an element may also be several lines joined with `\n`
   * (a line cannot contain one), which counts as one toward `batchLines` and is split into its
   * lines only if the server refuses it.
   */
  async write(lines: readonly string[], target?: StorageTarget): Promise<void> {
    for (let i = 0; i < lines.length; i += this.opts.batchLines) {
      await this.writeSplitting(lines.slice(i, i + this.opts.batchLines), target);
    }
  }

  private async writeSplitting(lines: readonly string[], target: StorageTarget | undefined): Promise<void> {
    try {
      await this.writer.write(lines, target);
    } catch (err) {
      if (!(err instanceof InfluxWriteError) || err.failure !== 'rejected') throw err;
      if (lines.length === 1 && lines[0]!.includes('\n')) {
        await this.writeSplitting(lines[0]!.split('\n'), target);
        return;
      }
      if (lines.length === 1) {
        this.quarantined++;
        this.opts.logger?.warn({ err }, 'InfluxDB refused a point; quarantined to DEADLETTER');
        await this.opts.quarantine(lines[0]!, err);
        return;
      }
      const mid = lines.length >>> 1;
      await this.writeSplitting(lines.slice(0, mid), target);
      await this.writeSplitting(lines.slice(mid), target);
    }
  }
}
