import { createLogger as createServiceLogger } from '@fieldline/runtime';
import { pino, type Logger } from 'pino';

/** The part's root logger, on stderr (stdout carries the CLI's output); children bind component/device. */
export function createLogger(level: string = process.env.FIELDLINE_LOG_LEVEL ?? 'info'): Logger {
  return createServiceLogger({ service: 'firmware-sim', level, destination: 2 });
}

/** A logger that discards everything (library default: callers pass their own). */
export const silentLogger: Logger = pino({ level: 'silent' });
