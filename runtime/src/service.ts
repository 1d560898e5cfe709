/**
 * `runService`: the life of a deployable once its command line was read. Loads the config (a bad
 * one throws ConfigError: exit 78), starts the service (a failure is logged with stack and cause,
 * exit 69), then waits for SIGINT/SIGTERM and closes it within a deadline (exit 0, or 1 when
 * close fails or overruns; a second signal exits at once); `stop(why)` does the same from code. An exception nothing caught is logged
 * as fatal with its stack and exits 70: systemd restarts the service.
 */
import type { Logger } from 'pino';
import { errorLine } from './cli.js';
import { EXIT } from './exit.js';
import { createLogger } from './log.js';

export interface Closable {
  close(): Promise<void>;
}

export interface ServiceSpec<C, S extends Closable> {
  /** The deployable, bound as `service` in its logs: `gateway`, `processor`. */
  service: string;
  /** Loads and validates the config; throws ConfigError naming the key. */
  load(path: string): C;
  /** The root logger for this config. @default createLogger({ service, level: 'info' }) */
  logger?(config: C): Logger;
  start(config: C, logger: Logger): Promise<S>;
  /** Longest `close()` may take after a signal. @default 30000 */
  shutdownTimeoutMs?: number;
}

/** Thrown when `start` failed; carries exit 69 (EX_UNAVAILABLE). */
export class StartError extends Error {
  override readonly name = 'StartError';
  readonly exitCode = EXIT.unavailable;
}

const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/** Runs a service until a signal; resolves once it has started. */
export async function runService<C, S extends Closable>(configPath: string, spec: ServiceSpec<C, S>): Promise<{ service: S; logger: Logger; stop(why: string): void }> {
  const config = spec.load(configPath);
  const logger = spec.logger?.(config) ?? createLogger({ service: spec.service });
  const fatal = (what: string) => (err: unknown): void => {
    logger.fatal({ err }, what);
    process.stderr.write(`fieldline ${spec.service}: ${what}: ${errorLine(err)}\n`);
    logger.flush?.();
    process.exit(EXIT.software);
  };
  process.on('uncaughtException', fatal('uncaught exception'));
  process.on('unhandledRejection', fatal('unhandled rejection'));
  let service: S | undefined;
  let stopping = false;
  let pending: keyof typeof SIGNAL_EXIT | undefined;
  const onSignal = (signal: keyof typeof SIGNAL_EXIT): void => {
    // A signal during start-up stops the service as soon as it is up.
    if (!service) {
      if (pending) process.exit(SIGNAL_EXIT[signal]);
      pending = signal;
      return;
    }
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting for the shutdown');
      process.exit(SIGNAL_EXIT[signal]);
    }
    stop(signal);
  };
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    const deadlineMs = spec.shutdownTimeoutMs ?? 30_000;
    logger.info({ why, deadlineMs }, `stopping ${spec.service}`);
    const timer = setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown did not finish in time; exiting');
      process.exit(EXIT.failure);
    }, deadlineMs);
    service!.close().then(
      () => {
        logger.info(`${spec.service} stopped`);
        logger.flush?.();
        process.exit(EXIT.ok);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        logger.flush?.();
        process.exit(EXIT.failure);
      },
    );
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  try {
    service = await spec.start(config, logger);
  } catch (err) {
    logger.fatal({ err }, `${spec.service} failed to start`);
    logger.flush?.();
    throw new StartError(`${spec.service} failed to start: ${errorLine(err)}`, { cause: err });
  }
  if (pending) stop(pending);
  return { service, logger, stop };
}
