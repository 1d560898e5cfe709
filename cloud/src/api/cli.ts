import { configArg, createLogger, runService } from '@fieldline/runtime';
import { loadApiConfig, startApi } from './index.js';

/** `fieldline-cloud api --config api.yaml`: runs until SIGINT/SIGTERM. */
export async function main(argv: string[]): Promise<void> {
  await runService(configArg(argv), {
    service: 'api',
    load: loadApiConfig,
    logger: (c) => createLogger({ service: 'api', level: c.logLevel }),
    start: (c, logger) => startApi(c, { logger }),
  });
}
