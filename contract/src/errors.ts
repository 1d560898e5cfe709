/**
 * Why a payload or identity was refused: the closed set of dead-letter reasons. Each reason is a
 * valid NATS subject token, because dead letters are filed under `fl.deadletter.{reason}.{deviceId}`.
 * A new reason is added here (and to the table in docs/architecture.md), nowhere else.
 */
export const REJECT_REASONS = [
  /** A device or sensor id breaks the id rule. */
  'bad_id',
  /** Not JSON (or not UTF-8 JSON). */
  'bad_json',
  /** JSON, but not the message's schema. */
  'bad_schema',
  /** One reading of an envelope is invalid (the envelope is refused whole). */
  'bad_reading',
  /** The message names another device than the one that sent it. */
  'device_mismatch',
  /** Over a size or count bound. */
  'too_large',
  /** Arrived on a topic or subject it does not belong to. */
  'bad_topic',
  /** InfluxDB refused the point (type conflict, out of range); the body is the point's line. */
  'influx_rejected',
  /** The processor failed on a valid message (a bug): kept for a replay once fixed. */
  'processing_failed',
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

export function isRejectReason(value: unknown): value is RejectReason {
  return typeof value === 'string' && (REJECT_REASONS as readonly string[]).includes(value);
}

/** A value broke the wire contract. `path` names the offending key, e.g. `readings[3].ts`. */
export class ContractError extends Error {
  override readonly name = 'ContractError';
  constructor(
    readonly reason: RejectReason,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${message}`, options);
  }
}
