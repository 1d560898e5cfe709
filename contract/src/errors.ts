/**
 * Why a payload or identity was refused. Each reason is a valid NATS subject token, because
 * dead letters are filed under `fl.deadletter.{reason}.{deviceId}`.
 */
export type RejectReason =
  | 'bad_id'
  | 'bad_json'
  | 'bad_schema'
  | 'bad_reading'
  | 'device_mismatch'
  | 'too_large'
  | 'bad_topic';

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
