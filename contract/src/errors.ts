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
  /** The envelope would give its device more distinct sensors than the gateway's `limits.maxSensorsPerDevice`. */
  'sensor_limit',
  /**
   * An MQTT packet larger than the broker's `maximumPacketSize`: never read whole, so its bytes
   * are not kept; the device is told on its rejected topic before the connection closes.
   */
  'packet_too_large',
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

export function isRejectReason(value: unknown): value is RejectReason {
  return typeof value === 'string' && (REJECT_REASONS as readonly string[]).includes(value);
}

/** Longest key path in a {@link ContractError} (paths can hold keys a sender chose). */
export const MAX_ERROR_PATH_CHARS = 256;
/** Longest text of a {@link ContractError} after its path: errors quote input, never without a bound. */
export const MAX_ERROR_TEXT_CHARS = 1024;

/** `text` cut to `max` characters, marked with `…` when it was cut. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * A value broke the wire contract. `path` names the offending key, e.g. `readings[3].ts`. Path and
 * text are bounded ({@link MAX_ERROR_PATH_CHARS}, {@link MAX_ERROR_TEXT_CHARS}) whatever the input.
 */
export class ContractError extends Error {
  override readonly name = 'ContractError';
  readonly path: string;
  constructor(
    readonly reason: RejectReason,
    path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    const p = clip(path, MAX_ERROR_PATH_CHARS);
    super(`${p}: ${clip(message, MAX_ERROR_TEXT_CHARS)}`, options);
    this.path = p;
  }
}
