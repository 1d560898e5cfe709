// fieldline-edge run [--config FILE] | check-config [FILE] | drivers | --help | --version
// CLI conventions (runtime): --help/--version exit 0; 64 usage, 78 config, 69 start failure,
// 70 an uncaught exception (systemd restarts the agent).
import { createLogger, packageVersion, runCli, runService, UsageError } from '@fieldline/runtime';
import { DEFAULT_CONFIG_PATH, loadEdgeConfig } from './config.js';
import { driverIds, getDriver } from './drivers/index.js';
import { startEdge } from './index.js';

const USAGE = `usage: fieldline-edge run [--config FILE]
       fieldline-edge check-config [FILE]
       fieldline-edge drivers
       fieldline-edge --help | --version
FILE defaults to ${DEFAULT_CONFIG_PATH}.`;

function configArg(args: string[]): string {
  const i = args.indexOf('--config');
  if (i >= 0) {
    const file = args[i + 1];
    if (!file) throw new UsageError('--config needs a file');
    return file;
  }
  const unknown = args.find((a) => a.startsWith('-'));
  if (unknown) throw new UsageError(`unknown option ${unknown}`);
  return args[0] ?? DEFAULT_CONFIG_PATH;
}

async function main(argv: string[]): Promise<number | void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'check-config': {
      const file = configArg(rest);
      const config = loadEdgeConfig(file);
      process.stdout.write(`${file}: OK (device ${config.device}, ${config.ports.length} port(s): ${config.ports.map((p) => `${p.id}=${p.driver}`).join(', ') || 'none'})\n`);
      return 0;
    }
    case 'drivers':
      for (const id of driverIds()) process.stdout.write(`${id.padEnd(10)} ${getDriver(id)!.summary}\n`);
      return 0;
    case 'run':
      // Bad input must never crash the agent; a bug that escapes is logged and exits 70.
      await runService(configArg(rest), {
        service: 'edge',
        load: loadEdgeConfig,
        logger: (c) => createLogger({ service: 'edge', level: c.log.level, base: { device: c.device } }),
        start: (c, logger) => startEdge(c, { logger }),
      });
      return undefined;
    case undefined:
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
  }
}

await runCli({ name: 'fieldline-edge', version: packageVersion(import.meta.url), usage: USAGE, main });
