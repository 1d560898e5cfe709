import { writeFileSync } from 'node:fs';
import { packageVersion, parseCliArgs, runCli, runService, UsageError } from '@fieldline/runtime';
import { listBuiltinScenarios, resolveScenario } from './builtin.js';
import { parseDuration } from './duration.js';
import { runFleet } from './fleet.js';
import { generateSamples } from './generator.js';
import { createLogger } from './log.js';
import { startSimulation } from './simulation.js';

const USAGE = `fieldline-sim: simulated serial sensor boards on real ttys, and MQTT fleets for load

  fieldline-sim run <scenario.yaml|name> [--seed N] [--out boards.json] [--dir DIR]
                    [--speed X] [--fast] [--start now|ISO|ms] [--duration 10m] [--record sent.jsonl]
      Starts every board on its own pty and prints the tty path the edge opens (serial "path").
      --record appends {device, sensor, ts, value} of every reading written (a ledger's input).
      --paused opens the ports and writes nothing until the process gets SIGUSR1. SIGUSR2 stops
      writing for good and keeps the ports open until SIGTERM (readers get every byte written).
  fieldline-sim list
      Lists the built-in scenarios (firmware-sim/scenarios/).
  fieldline-sim samples <scenario> [--seed N] [--duration 10m]
      Prints the samples as JSON lines (no ptys), then the ground truth to stderr.
  fieldline-sim fleet [scenario] --url mqtt://host:port [--devices N] [--prefix P] [--rate R]
                    [--batch K] [--duration 30s | --envelopes N] [--max-inflight M]
      MQTT edge devices without ptys. Credentials: username = device id (or FIELDLINE_FLEET_USERNAME
      template), password from the FIELDLINE_FLEET_PASSWORD template; "{device}" is replaced.
`;

function fail(message: string): never {
  throw new UsageError(message);
}

function duration(value: string | undefined, key: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(/^\d+(\.\d+)?$/.test(value) ? Number(value) : value);
  return ms ?? fail(`--${key}: expected a duration like 30s or 10m, got ${JSON.stringify(value)}`);
}

function number(value: string | undefined, key: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : fail(`--${key}: expected a number, got ${JSON.stringify(value)}`);
}

async function run(args: string[]): Promise<void> {
  const { values, positionals } = parseCliArgs({
    args,
    allowPositionals: true,
    options: {
      seed: { type: 'string' },
      out: { type: 'string' },
      dir: { type: 'string' },
      speed: { type: 'string' },
      fast: { type: 'boolean' },
      start: { type: 'string' },
      duration: { type: 'string' },
      record: { type: 'string' },
      paused: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) fail('run needs one scenario file or built-in name');
  const scenario = resolveScenario(positionals[0]!);
  const seed = number(values.seed, 'seed') ?? 1;
  let start: number | undefined;
  if (values.start === 'now') start = Math.floor(Date.now() / 1000) * 1000;
  else if (values.start !== undefined) start = /^\d+$/.test(values.start) ? Number(values.start) : Date.parse(values.start);
  if (start !== undefined && !Number.isFinite(start)) fail(`--start: expected now, an ISO date-time or epoch ms`);
  const dur = duration(values.duration, 'duration');
  const { service: sim, stop } = await runService(positionals[0]!, {
    service: 'firmware-sim',
    load: () => scenario,
    logger: () => createLogger(),
    start: (sc, logger) =>
      startSimulation(sc, {
        seed,
        logger,
        realtime: !values.fast,
        ...(values.dir !== undefined ? { dir: values.dir } : {}),
        ...(values.record !== undefined ? { record: values.record } : {}),
        ...(values.paused ? { paused: true } : {}),
        ...(values.speed !== undefined ? { speed: number(values.speed, 'speed')! } : {}),
        ...(start !== undefined ? { start } : {}),
        ...(dur !== undefined ? { until: (start ?? sc.start) + dur } : {}),
      }),
  });
  for (const b of sim.boards) process.stdout.write(`${b.device}/${b.board}\t${b.protocol}\t${b.path}\n`);
  process.stdout.write(`ground truth\t${sim.groundTruthPath}\n`);
  if (values.out) {
    writeFileSync(values.out, `${JSON.stringify({ scenario: scenario.name, seed, groundTruthPath: sim.groundTruthPath, boards: sim.boards }, null, 2)}\n`);
  }
  if (values.paused) {
    // The ports are open; the readers (edge agents in other processes) open theirs, then say go.
    process.once('SIGUSR1', () => sim.resume());
    process.stdout.write(`paused\tsend SIGUSR1 (kill -USR1 ${process.pid}) to start\n`);
  }
  // SIGUSR2: stop writing but keep the ports open until SIGTERM, so the readers get every byte
  // written (closing the ptys at once could cut the last frames in flight).
  let halted = false;
  process.once('SIGUSR2', () => {
    halted = true;
    sim.halt();
    process.stdout.write('halted\n');
  });
  await sim.done;
  if (!halted) stop('scenario done');
}

async function samples(args: string[]): Promise<void> {
  const { values, positionals } = parseCliArgs({ args, allowPositionals: true, options: { seed: { type: 'string' }, duration: { type: 'string' } } });
  if (positionals.length !== 1) fail('samples needs one scenario');
  const scenario = resolveScenario(positionals[0]!);
  const dur = duration(values.duration, 'duration') ?? scenario.duration ?? fail('--duration is required (the scenario has none)');
  const out = generateSamples(scenario, { seed: number(values.seed, 'seed') ?? 1, until: scenario.start + dur });
  for (const s of out) process.stdout.write(`${JSON.stringify(s)}\n`);
  for (const g of out.groundTruth) process.stderr.write(`${JSON.stringify(g)}\n`);
}

async function fleet(args: string[]): Promise<void> {
  const { values, positionals } = parseCliArgs({
    args,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      devices: { type: 'string' },
      prefix: { type: 'string' },
      rate: { type: 'string' },
      batch: { type: 'string' },
      duration: { type: 'string' },
      envelopes: { type: 'string' },
      'max-inflight': { type: 'string' },
    },
  });
  const defaults = positionals[0] ? resolveScenario(positionals[0]).fleet : undefined;
  if (!values.url) fail('fleet needs --url mqtt://host:port');
  const userTemplate = process.env.FIELDLINE_FLEET_USERNAME ?? '{device}';
  const passTemplate = process.env.FIELDLINE_FLEET_PASSWORD;
  const envelopes = number(values.envelopes, 'envelopes');
  const result = await runFleet({
    url: values.url,
    devices: number(values.devices, 'devices') ?? defaults?.devices ?? 100,
    prefix: values.prefix ?? defaults?.prefix ?? 'fleet',
    rate: number(values.rate, 'rate') ?? defaults?.rate ?? 10_000,
    readingsPerEnvelope: number(values.batch, 'batch') ?? defaults?.readingsPerEnvelope ?? 1,
    maxInflight: number(values['max-inflight'], 'max-inflight') ?? defaults?.maxInflight ?? 64,
    ...(envelopes !== undefined ? { envelopes } : { durationMs: duration(values.duration, 'duration') ?? defaults?.duration ?? 30_000 }),
    ...(passTemplate !== undefined
      ? { credentials: (id: string) => ({ username: userTemplate.replaceAll('{device}', id), password: passTemplate.replaceAll('{device}', id) }) }
      : {}),
    logger: createLogger(),
  });
  const readingsPerS = Math.round((result.readingsAcked / Math.max(1, result.elapsedMs)) * 1000);
  process.stdout.write(`${JSON.stringify({ ...result, readings_per_s: readingsPerS })}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return run(rest);
    case 'list':
      for (const s of listBuiltinScenarios()) process.stdout.write(`${s.name}\t${s.devices} devices, ${s.boards} boards\t${s.description}\n`);
      return;
    case 'samples':
      return samples(rest);
    case 'fleet':
      return fleet(rest);
    case undefined:
      process.stdout.write(USAGE);
      return;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

// `fieldline-sim samples … | head` closes the pipe early: that is a normal end, not a crash.
process.stdout.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : 1));

// Scenario errors exit 78 naming the key, usage errors 64 (runtime's CLI conventions).
await runCli({ name: 'fieldline-sim', version: packageVersion(import.meta.url), usage: USAGE, main });
