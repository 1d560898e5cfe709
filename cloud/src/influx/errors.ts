export type WriteFailure =
  /** Server refused some or all points for what they are (type conflict, out of range, parse). */
  | 'rejected'
  /** Worth retrying: network, timeout, 429, 5xx. */
  | 'unavailable'
  /** Configuration: auth, missing database/bucket. Retrying helps only once an operator acts. */
  | 'config';

/** A write to InfluxDB failed; `failure` says what the caller should do about it. */
export class InfluxWriteError extends Error {
  override readonly name = 'InfluxWriteError';
  constructor(
    readonly failure: WriteFailure,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A query failed (unreachable, refused, or an InfluxQL/Flux error). */
export class InfluxQueryError extends Error {
  override readonly name = 'InfluxQueryError';
}

/** Maps an HTTP status of a write endpoint (v1 and v2 agree) to what the caller should do. */
export function classifyStatus(status: number): WriteFailure {
  if (status === 400 || status === 413 || status === 422) return 'rejected';
  if (status === 401 || status === 403 || status === 404) return 'config';
  return 'unavailable';
}

/**
 * Storage does not match the config at start (retention policy or bucket missing or different),
 * or could not be set up. `exitCode`: 78 when the config (or the server's setup) must change, 69
 * when InfluxDB was unavailable. The message names the config key.
 */
export class InfluxStorageError extends Error {
  override readonly name = 'InfluxStorageError';
  constructor(
    message: string,
    readonly exitCode: 69 | 78,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
