import { pino, type Logger } from 'pino';

/** The part's root logger; components take a child bound to `component` (and `device`). */
export function createLogger(level: string = process.env.FIELDLINE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: 'firmware-sim', level });
}

/** A logger that discards everything (library default: callers pass their own). */
export const silentLogger: Logger = pino({ level: 'silent' });
