/** The edge config file is missing, unreadable or invalid; `issues` name each key path. */
export class EdgeConfigError extends Error {
  override readonly name = 'EdgeConfigError';
  constructor(
    message: string,
    readonly issues: string[] = [],
    options?: { cause?: unknown },
  ) {
    super(issues.length ? `${message}\n  ${issues.join('\n  ')}` : message, options);
  }
}

/** The command line is wrong (exit 64, EX_USAGE). */
export class EdgeUsageError extends Error {
  override readonly name = 'EdgeUsageError';
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
