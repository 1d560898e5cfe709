import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadApiConfig, startApi } from './index.js';

/** `fieldline-cloud api --config api.yaml`: runs until SIGINT/SIGTERM. */
export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || !values.config) {
    process.stderr.write('usage: fieldline-cloud api --config <api.yaml>\n');
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  let config;
  try {
    config = loadApiConfig(values.config);
  } catch (err) {
    process.stderr.write(`fieldline-cloud api: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const logger = pino({ level: config.logLevel });
  let api;
  try {
    api = await startApi(config, { logger });
  } catch (err) {
    // Config, InfluxDB detection or NATS connection: the message names what is wrong.
    logger.fatal({ err: (err as Error).message }, 'query API failed to start');
    process.exitCode = 1;
    return;
  }
  const stop = (): void => {
    logger.info('stopping query API');
    api!.close().then(
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
