import { runService } from '../run-service.js';
import { loadProcessorConfig } from './config.js';
import { startProcessor } from './processor.js';

/** `fieldline-cloud processor --config processor.yaml`: runs until SIGINT/SIGTERM. */
export function main(argv: string[]): Promise<void> {
  return runService(argv, {
    name: 'processor',
    title: 'processor',
    load: loadProcessorConfig,
    logLevel: (c) => c.log.level,
    start: (c, logger) => startProcessor(c, { logger }),
  });
}
