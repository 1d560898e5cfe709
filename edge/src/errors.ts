import { ConfigError } from '@fieldline/runtime';

/** The edge config file is missing, unreadable or invalid; `issues` name each key path (exit 78). */
export class EdgeConfigError extends ConfigError {
  override name = 'EdgeConfigError';
}

/** The state dir (epoch, seq, queue) cannot be created, read or written. */
export class EdgeStateError extends Error {
  override readonly name = 'EdgeStateError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Why a serial frame was dropped; each reason is a counter. */
export type FrameErrorReason =
  | 'over_long'
  | 'garbage'
  | 'bad_value'
  | 'bad_checksum'
  | 'bad_syntax'
  | 'bad_channel'
  | 'bad_time'
  | 'modbus_error';

/** A frame a driver could not use. Thrown by parsers, caught and counted by the port. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
  constructor(
    readonly reason: FrameErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
