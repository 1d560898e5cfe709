import { readFileSync } from 'node:fs';
import pino from 'pino';
import { DEFAULT_CONFIG_PATH, loadEdgeConfig } from './config.js';
import { driverIds, getDriver } from './drivers/index.js';
import { EdgeConfigError, EdgeUsageError } from './errors.js';
import { startEdge } from './index.js';
import { preflight } from './preflight.js';
import { probeCommand } from './cli/probe-command.js';
import { testCommand } from './cli/test-command.js';

const USAGE = `usage: fieldline-edge run [--config FILE]
       fieldline-edge check-config [FILE]
       fieldline-edge test [--config FILE] [--seconds N] [--json]
       fieldline-edge probe PORT [--baud N] [--seconds N] [--unit ID]
       fieldline-edge drivers
       fieldline-edge --version
FILE defaults to ${DEFAULT_CONFIG_PATH}.
  run           the service: serial ports -> disk queue -> MQTT
  check-config  everything run checks before it connects (config keys, password and TLS files,
                state dir, serial ports); exit 78 naming what is wrong
  test          read the ports for N seconds and print the readings, unmapped channels and bad frames; no MQTT
  probe         listen to a port: which driver matches, its channels, a ports: entry to paste
Exit codes: 0 ok, 64 usage, 78 config (systemd does not restart on 78), 1 other.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function configArg(args: string[]): string {
  const i = args.indexOf('--config');
  if (i >= 0) {
    const file = args[i + 1];
    if (!file) throw new EdgeUsageError('--config needs a file');
    return file;
  }
  return args.find((a) => !a.startsWith('-')) ?? DEFAULT_CONFIG_PATH;
}

/** `check-config`: the config and everything it points to, as `run` would find it; exit 78 on any problem. */
function checkConfig(file: string): number {
  const config = loadEdgeConfig(file);
  const { problems, portProblems } = preflight(config);
  const all = [...problems, ...portProblems];
  if (all.length) throw new EdgeConfigError(`${file}: not ready to run`, all);
  process.stdout.write(
    `${file}: OK (device ${config.device}, ${config.ports.length} port(s): ${config.ports.map((p) => `${p.id}=${p.driver}`).join(', ') || 'none'}; ` +
      `password ${config.mqtt.passwordFile ? 'file' : config.mqtt.passwordEnv ? 'env' : 'none'}, TLS ${config.mqtt.tls ? 'files read' : 'off'}, state dir ${config.stateDir} writable)\n`,
  );
  return 0;
}

async function run(file: string): Promise<void> {
  const config = loadEdgeConfig(file);
  const log = pino({ level: config.log.level, base: { device: config.device } });
  const { problems, portProblems } = preflight(config);
  if (problems.length) throw new EdgeConfigError(`${file}: not ready to run`, problems);
  // A missing adapter may be plugged in later: the port is reopened with backoff until it appears.
  for (const p of portProblems) log.warn(p);
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
    case 'check-config':
      return checkConfig(configArg(rest));
    case 'test':
      return testCommand(rest);
    case 'probe':
      return probeCommand(rest);
    case 'drivers':
      for (const id of driverIds()) process.stdout.write(`${id.padEnd(10)} ${getDriver(id)!.summary}\n`);
      return 0;
    case 'run':
      await run(configArg(rest));
      return -1;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      process.stderr.write(`fieldline-edge: unknown command ${JSON.stringify(cmd)}\n${USAGE}\n`);
      return 64;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fieldline-edge: ${err instanceof Error ? err.message : String(err)}\n`);
    // sysexits: 64 EX_USAGE, 78 EX_CONFIG (the unit's RestartPreventExitStatus).
    process.exitCode = err instanceof EdgeUsageError ? 64 : err instanceof EdgeConfigError ? 78 : 1;
  },
);
