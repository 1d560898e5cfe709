import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';

export interface ServiceSpec<C, S extends { close(): Promise<void> }> {
  /** Subcommand name, e.g. `processor`. */
  name: string;
  /** What logs call it, e.g. `query API`. */
  title: string;
  /** Loads and validates the config file; throws an error naming the key. */
  load: (path: string) => C;
  logLevel: (config: C) => string;
  start: (config: C, logger: Logger) => Promise<S>;
}

/**
 * `fieldline-cloud <name> --config file.yaml`: exit 2 for usage and config errors (the message
 * names the key), 1 when start-up fails, and a clean stop on SIGINT/SIGTERM.
 */
export async function runService<C, S extends { close(): Promise<void> }>(argv: string[], spec: ServiceSpec<C, S>): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || !values.config) {
    process.stderr.write(`usage: fieldline-cloud ${spec.name} --config <${spec.name}.yaml>\n`);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  let config: C;
  try {
    config = spec.load(values.config);
  } catch (err) {
    process.stderr.write(`fieldline-cloud ${spec.name}: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const logger = pino({ level: spec.logLevel(config) });
  let service: S;
  try {
    service = await spec.start(config, logger);
  } catch (err) {
    // NATS, InfluxDB detection or stream set-up: the message names what is wrong.
    logger.fatal({ err: (err as Error).message }, `${spec.title} failed to start`);
    process.exitCode = 1;
    return;
  }
  const stop = (): void => {
    logger.info(`stopping ${spec.title}`);
    service.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
