import type { InfluxConfig } from '../influx/config.js';

/** Writes line protocol; resolves only when the server accepted every line. */
export interface LineWriter {
  /** Plugin name, e.g. `influx-v1`. */
  readonly kind: string;
  write(lines: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export type WriteFailure =
  /** Server refused some or all points for what they are (type conflict, out of range, parse). */
  | 'rejected'
  /** Worth retrying: network, timeout, 429, 5xx. */
  | 'unavailable'
  /** Configuration: auth, missing database/bucket. Retrying helps only once an operator acts. */
  | 'config';

export class SinkWriteError extends Error {
  override readonly name = 'SinkWriteError';
  constructor(
    readonly failure: WriteFailure,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What a sink factory gets: the shared InfluxDB connection config with secrets already read. */
export interface SinkContext {
  config: InfluxConfig;
  /** Token/password read from `token`/`tokenFile`/`password`/`passwordFile`. */
  secrets: { token?: string; password?: string };
}

export type SinkFactory = (ctx: SinkContext) => Promise<LineWriter>;

/** Maps an HTTP status of a write endpoint (v1 and v2 agree) to what the caller should do. */
export function classifyStatus(status: number): WriteFailure {
  if (status === 400 || status === 413 || status === 422) return 'rejected';
  if (status === 401 || status === 403 || status === 404) return 'config';
  return 'unavailable';
}
