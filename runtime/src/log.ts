import { destination as pinoDestination, pino, type DestinationStream, type Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  /** The deployable, bound as `service` on every line (children bind `component`, `device`, … never `service` again). */
  service: string;
  /** @default 'info' */
  level?: string;
  /** More keys on every line (e.g. the edge's `device`). */
  base?: Record<string, unknown>;
  /** @default stdout; a file path or a pino destination */
  destination?: string | number | DestinationStream;
}

/**
 * The root logger of a deployable: pino JSON lines with `service` bound once. Errors go in `err`
 * (`log.warn({ err }, '…')`): pino's serializer keeps type, message, stack and the cause chain.
 * Child loggers bind keys the parent does not have (`component` once, then `device`, `port`,
 * `partition`), since a key repeated in one line is refused by some JSON log shippers.
 */
export function createLogger(o: LoggerOptions): Logger {
  const base = { service: o.service, pid: process.pid, ...o.base };
  const dest = o.destination === undefined ? undefined : typeof o.destination === 'object' ? o.destination : pinoDestination({ dest: o.destination, sync: false });
  return dest ? pino({ level: o.level ?? 'info', base }, dest) : pino({ level: o.level ?? 'info', base });
}
