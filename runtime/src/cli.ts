/**
 * CLI conventions of every fieldline bin: `--help` prints the usage on stdout and `--version` the
 * package version, both exit 0; an error is one plain line on stderr (`fieldline-x: message`) and
 * the exit code follows sysexits (64 usage, 78 config, 69 unavailable, 70 internal; see exit.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from './config.js';
import { EXIT, exitCodeOf, UsageError } from './exit.js';

/** The version in the nearest package.json at or above `fromUrl` (a module's `import.meta.url`). */
export function packageVersion(fromUrl: string): string {
  for (let dir = dirname(fileURLToPath(fromUrl)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const v = (JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version;
      if (typeof v === 'string') return v;
    }
    if (dirname(dir) === dir) return '0.0.0';
  }
}

/** The first line of an error for stderr, with its causes (never a stack: the log has it). */
export function errorLine(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const text = e instanceof Error ? e.message : String(e);
    const first = text.split('\n', 1)[0]!;
    if (!parts.some((p) => p.includes(first))) parts.push(first);
    // A config or usage error already says it all (its cause is zod's or parseArgs' raw error).
    if (!(e instanceof Error) || e instanceof ConfigError || e instanceof UsageError) break;
  }
  return parts.join(': ');
}

export interface CliSpec {
  /** The bin's name: `fieldline-gateway`. */
  name: string;
  /** Shown by `--version`. */
  version: string;
  /** Shown by `--help` (and after a usage error's line, as a hint). */
  usage: string;
  /** Runs the command; resolves with an exit code, or undefined for a service that keeps running. */
  main(argv: string[]): Promise<number | void>;
}

/** Writes one line to stderr and sets the exit code from the error (64, 78, its `exitCode`, else 1). */
export function fail(name: string, err: unknown): number {
  const code = exitCodeOf(err);
  process.stderr.write(`${name}: ${errorLine(err)}${code === EXIT.usage ? ` (see ${name} --help)` : ''}\n`);
  return code;
}

/** Runs a bin by the conventions above. */
export async function runCli(spec: CliSpec, argv: string[] = process.argv.slice(2)): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    process.stdout.write(spec.usage.endsWith('\n') ? spec.usage : `${spec.usage}\n`);
    process.exitCode = EXIT.ok;
    return;
  }
  if (argv[0] === '--version' || argv[0] === '-V' || argv[0] === 'version') {
    process.stdout.write(`${spec.version}\n`);
    process.exitCode = EXIT.ok;
    return;
  }
  try {
    const code = await spec.main(argv);
    if (typeof code === 'number') process.exitCode = code;
  } catch (err) {
    process.exitCode = fail(spec.name, err);
  }
}

/** The `--config FILE` (or `-c FILE`) of a service command; a {@link UsageError} when missing or when other arguments are given. */
export function configArg(argv: string[]): string {
  const { values } = parseCliArgs({ args: argv, options: { config: { type: 'string', short: 'c' } } });
  if (!values.config) throw new UsageError('--config is required');
  return values.config;
}

/** `node:util` parseArgs whose errors are {@link UsageError}s (exit 64). */
export function parseCliArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''), { cause: err });
  }
}
