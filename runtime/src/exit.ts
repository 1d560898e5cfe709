/**
 * Exit codes of every fieldline bin, from BSD sysexits(3): scripts and systemd can tell a typo
 * (64, fix the command line) from a bad config (78, fix the file) from a dependency that is down
 * (69, retry later).
 */
export const EXIT = {
  ok: 0,
  /** A command failed for a reason none of the codes below describes. */
  failure: 1,
  /** EX_USAGE: unknown command or option, missing argument. */
  usage: 64,
  /** EX_DATAERR: input data (not config) is wrong. */
  dataErr: 65,
  /** EX_UNAVAILABLE: a service could not start because something it needs is unavailable (NATS, InfluxDB, a port). */
  unavailable: 69,
  /** EX_SOFTWARE: an internal error (an uncaught exception). */
  software: 70,
  /** EX_CONFIG: the configuration is invalid; the message names the key. */
  config: 78,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Wrong command line; exits 64 with one line on stderr. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = EXIT.usage;
}

/** The exit code an error asks for (`exitCode` on typed errors), else `fallback`. */
export function exitCodeOf(err: unknown, fallback: number = EXIT.failure): number {
  const code = (err as { exitCode?: unknown } | null)?.exitCode;
  return typeof code === 'number' && Number.isInteger(code) && code > 0 && code < 256 ? code : fallback;
}
