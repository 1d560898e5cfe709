import { configArg, createLogger, runService } from '@fieldline/runtime';
import { loadProcessorConfig } from './config.js';
import { startProcessor } from './processor.js';

/** `fieldline-cloud processor --config processor.yaml`: runs until SIGINT/SIGTERM. */
export async function main(argv: string[]): Promise<void> {
  await runService(configArg(argv), {
    service: 'processor',
    load: loadProcessorConfig,
    logger: (c) => createLogger({ service: 'processor', level: c.log.level }),
    start: (c, logger) => startProcessor(c, { logger }),
  });
}
