import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadProcessorConfig } from './config.js';
import { startProcessor } from './processor.js';

/** `fieldline-cloud processor --config processor.yaml` */
export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || !values.config) {
    process.stderr.write('usage: fieldline-cloud processor --config <processor.yaml>\n');
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const config = loadProcessorConfig(values.config);
  const logger = pino({ level: config.log.level });
  const processor = await startProcessor(config, { logger });
  const stop = (): void => {
    processor.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
