import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadProcessorConfig, type ProcessorConfig } from './config.js';
import { startProcessor, type Processor } from './processor.js';

/** `fieldline-cloud processor --config processor.yaml`: runs until SIGINT/SIGTERM. */
export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || !values.config) {
    process.stderr.write('usage: fieldline-cloud processor --config <processor.yaml>\n');
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  let config: ProcessorConfig;
  try {
    config = loadProcessorConfig(values.config);
  } catch (err) {
    process.stderr.write(`fieldline-cloud processor: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const logger = pino({ level: config.log.level });
  let processor: Processor;
  try {
    processor = await startProcessor(config, { logger });
  } catch (err) {
    // NATS, InfluxDB detection or stream set-up: the message names what is wrong.
    logger.fatal({ err: (err as Error).message }, 'processor failed to start');
    process.exitCode = 1;
    return;
  }
  const stop = (): void => {
    logger.info('stopping processor');
    processor.close().then(
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
