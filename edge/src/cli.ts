import { readFileSync } from 'node:fs';
import pino from 'pino';
import { DEFAULT_CONFIG_PATH, loadEdgeConfig } from './config.js';
import { driverIds, getDriver } from './drivers/index.js';
import { EdgeConfigError } from './errors.js';
import { startEdge } from './index.js';

const USAGE = `usage: fieldline-edge run [--config FILE]
       fieldline-edge check-config [FILE]
       fieldline-edge drivers
       fieldline-edge --version
FILE defaults to ${DEFAULT_CONFIG_PATH}.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function configArg(args: string[]): string {
  const i = args.indexOf('--config');
  if (i >= 0) {
    const file = args[i + 1];
    if (!file) throw new EdgeConfigError('--config needs a file');
    return file;
  }
  return args.find((a) => !a.startsWith('-')) ?? DEFAULT_CONFIG_PATH;
}

async function run(file: string): Promise<void> {
  const config = loadEdgeConfig(file);
  const log = pino({ level: config.log.level, base: { device: config.device } });
  const edge = await startEdge(config, { logger: log });
  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'stopping');
    edge.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Bad input must never crash the agent; a bug that escapes is logged and systemd restarts us.
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    process.exit(70);
  });
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case '--version':
    case 'version':
      process.stdout.write(`${version()}\n`);
      return 0;
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
      await run(configArg(rest));
      return -1;
    default:
      process.stderr.write(`${USAGE}\n`);
      return cmd === undefined || cmd === '--help' || cmd === 'help' ? 0 : 64;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fieldline-edge: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = err instanceof EdgeConfigError ? 78 : 1;
  },
);
