import { runService } from '../run-service.js';
import { loadApiConfig, startApi } from './index.js';

/** `fieldline-cloud api --config api.yaml`: runs until SIGINT/SIGTERM. */
export function main(argv: string[]): Promise<void> {
  return runService(argv, {
    name: 'api',
    title: 'query API',
    load: loadApiConfig,
    logLevel: (c) => c.logLevel,
    start: (c, logger) => startApi(c, { logger }),
  });
}
