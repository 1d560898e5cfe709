// fieldline-edge run [--config FILE] | check-config [FILE] | test | probe | drivers | --help | --version
// CLI conventions (runtime): --help/--version exit 0; 64 usage, 78 config, 69 start failure,
// 70 an uncaught exception (systemd restarts the agent).
import { createLogger, packageVersion, runCli, runService, UsageError } from '@fieldline/runtime';
import { DEFAULT_CONFIG_PATH, loadEdgeConfig, type EdgeConfig } from './config.js';
import { driverIds, getDriver } from './drivers/index.js';
import { EdgeConfigError } from './errors.js';
import { startEdge } from './index.js';
import { preflight } from './preflight.js';
import { PROBE_USAGE, probeCommand } from './cli/probe-command.js';
import { TEST_USAGE, testCommand } from './cli/test-command.js';

const USAGE = `usage: fieldline-edge run [--config FILE]
       fieldline-edge check-config [FILE]
       fieldline-edge test [--config FILE] [--seconds N] [--json]
       fieldline-edge probe PORT [--baud N] [--seconds N] [--unit ID]
       fieldline-edge drivers
       fieldline-edge --help | --version
FILE defaults to ${DEFAULT_CONFIG_PATH}.
  run           the service: serial ports -> disk queue -> MQTT
  check-config  everything run checks before it connects (config keys, password and TLS files,
                state dir, serial ports); exit 78 naming what is wrong
  test          read the ports for N seconds and print the readings, unmapped channels and bad frames; no MQTT
  probe         listen to a port: which driver matches, its channels, a ports: entry to paste
Exit codes: 0 ok, 64 usage, 78 config (systemd does not restart on 78), 69 a start failure,
70 an uncaught exception, 1 other.`;

/** `fieldline-edge test --help` and `probe --help` show the command's own usage. */
const COMMAND_USAGE: Record<string, string> = { test: TEST_USAGE, probe: PROBE_USAGE };

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

/** `check-config`: the config and everything it points to, as `run` would find it; exit 78 on any problem. */
function checkConfig(file: string): number {
  const config = loadEdgeConfig(file);
  const { problems, portProblems } = preflight(config);
  const all = [...problems, ...portProblems];
  if (all.length) throw new EdgeConfigError(`${file}: not ready to run: ${all.join('; ')}`, all);
  process.stdout.write(
    `${file}: OK (device ${config.device}, ${config.ports.length} port(s): ${config.ports.map((p) => `${p.id}=${p.driver}`).join(', ') || 'none'}; ` +
      `password ${config.mqtt.passwordFile ? 'file' : config.mqtt.passwordEnv ? 'env' : 'none'}, TLS ${config.mqtt.tls ? 'files read' : 'off'}, state dir ${config.stateDir} writable)\n`,
  );
  return 0;
}

/** `run`'s config: what check-config checks, except ports (a missing adapter may be plugged in later). */
function loadForRun(file: string): EdgeConfig & { portProblems: string[] } {
  const config = loadEdgeConfig(file);
  const { problems, portProblems } = preflight(config);
  if (problems.length) throw new EdgeConfigError(`${file}: not ready to run: ${problems.join('; ')}`, problems);
  return { ...config, portProblems };
}

async function main(argv: string[]): Promise<number | void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
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
      // Bad input must never crash the agent; a bug that escapes is logged and exits 70.
      await runService(configArg(rest), {
        service: 'edge',
        load: loadForRun,
        logger: (c) => createLogger({ service: 'edge', level: c.log.level, base: { device: c.device } }),
        start: ({ portProblems, ...c }, logger) => {
          // The port is reopened with backoff until it appears.
          for (const p of portProblems) logger.warn(p);
          return startEdge(c, { logger });
        },
      });
      return undefined;
    case undefined:
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
  }
}

const argv = process.argv.slice(2);
await runCli({ name: 'fieldline-edge', version: packageVersion(import.meta.url), usage: COMMAND_USAGE[argv[0] ?? ''] ?? USAGE, main }, argv);
