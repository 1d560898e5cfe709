/**
 * One config loader for every deployable: a YAML file (or an object), validated by a zod schema
 * (defaults applied, unknown keys rejected), with one error format naming each key:
 * `invalid gateway config (gw.yaml): mqtt.port: expected number, got string; ports[0].id: is required`.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { EXIT } from './exit.js';
import { LOG_LEVELS, type LogLevel } from './log.js';

/** A config file or value is invalid; `issues` name each key path. The CLIs exit 78 (EX_CONFIG). */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly exitCode = EXIT.config;
  constructor(
    message: string,
    readonly issues: string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The most a config file may hold (1 MiB): a path to /dev/zero or a huge file is an error, not a hang. */
export const MAX_CONFIG_BYTES = 1 << 20;
/** The most a secret file may hold (64 KiB). */
export const MAX_SECRET_BYTES = 64 * 1024;

/** A file's text, read up to `max` bytes; more than that (or an endless device) throws. */
export function readBoundedFile(path: string, max: number): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(max + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
      if (got > max) throw new Error(`larger than ${max} bytes`);
    }
    return buf.subarray(0, got).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** A log level key in a config. @default 'info' */
export const logLevelSchema = z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]]).default('info');

/** A config's `log` section: `{ level }`; a part may `.extend()` it with its own keys. */
export const logConfigSchema = z.object({ level: logLevelSchema }).strict();

/** `['ports', 0, 'baudRate']` -> `ports[0].baudRate`. */
export function keyPath(path: readonly (string | number)[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '') || '(root)';
}

/** zod's wording, made to read as one line per key: `expected number, got string`, `is required`. */
function wording(message: string): string {
  if (message === 'Required') return 'is required';
  const m = /^Expected (.+), received (.+)$/.exec(message);
  if (m) return `expected ${m[1]}, got ${m[2]}`;
  return message.charAt(0).toLowerCase() + message.slice(1);
}

/** Every issue of a zod error as `key.path: message`; `prefix` is prepended to each path. */
export function formatIssues(err: z.ZodError, prefix: readonly (string | number)[] = []): string[] {
  return err.issues.flatMap((i) => {
    const path = [...prefix, ...i.path];
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => boundIssue(`${keyPath([...path, k])}: unknown key`));
    return [boundIssue(`${keyPath(path)}: ${wording(i.message)}`)];
  });
}

/** The most one issue may say: a hostile key or value (100 KB of it) is cut, never echoed whole. */
export const MAX_ISSUE_CHARS = 300;

/** An issue text cut to {@link MAX_ISSUE_CHARS}, saying how much was left off. */
export function boundIssue(text: string): string {
  return text.length <= MAX_ISSUE_CHARS ? text : `${text.slice(0, MAX_ISSUE_CHARS)}… (${text.length - MAX_ISSUE_CHARS} more characters)`;
}

/** Where a config came from, for checks that need it (relative paths resolve against `baseDir`). */
export interface ConfigContext {
  /** The file, when it came from one. */
  file?: string;
  /** The file's directory, else the working directory. */
  baseDir: string;
  /** Push `key.path: message` for problems the schema cannot state; they are thrown together. */
  issues: string[];
  /** `p` resolved against `baseDir` unless absolute. */
  resolvePath(p: string): string;
}

export interface LoadConfigOptions<T> {
  /** What it is, for messages: `gateway config`, `scenario`. */
  what: string;
  /** Cross-key checks and path resolution after the schema passed. */
  check?: (config: T, ctx: ConfigContext) => void;
  /** A subclass to throw (keeps a part's error name). @default ConfigError */
  error?: new (message: string, issues: string[], options?: { cause?: unknown }) => ConfigError;
}

/** Config from a YAML file path, YAML text (`{ yaml }`), or an object already parsed. */
export type ConfigSource = string | { yaml: string; baseDir?: string } | unknown;

/** Reads, parses and validates a config; throws {@link ConfigError} naming every bad key. */
export function loadConfig<S extends z.ZodTypeAny>(source: ConfigSource, schema: S, opts: LoadConfigOptions<z.output<S>>): z.output<S> {
  const Err = opts.error ?? ConfigError;
  let raw: unknown = source;
  let file: string | undefined;
  let baseDir = process.cwd();
  const yamlText = typeof source === 'string' ? undefined : (source as { yaml?: unknown } | null)?.yaml;
  if (typeof source === 'string' || typeof yamlText === 'string') {
    let text: string;
    if (typeof source === 'string') {
      file = source;
      baseDir = dirname(resolve(source));
      try {
        text = readBoundedFile(source, MAX_CONFIG_BYTES);
      } catch (err) {
        throw new Err(`cannot read ${opts.what} ${source}: ${(err as Error).message}`, [], { cause: err });
      }
    } else {
      text = yamlText as string;
      baseDir = (source as { baseDir?: string }).baseDir ?? baseDir;
    }
    try {
      raw = parseYaml(text) ?? {};
    } catch (err) {
      throw new Err(`${file ?? opts.what} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, [], { cause: err });
    }
  }
  const where = file ? ` (${file})` : '';
  const result = schema.safeParse(raw ?? {});
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new Err(`invalid ${opts.what}${where}: ${issues.join('; ')}`, issues, { cause: result.error });
  }
  const issues: string[] = [];
  opts.check?.(result.data, { ...(file ? { file } : {}), baseDir, issues, resolvePath: (p) => (isAbsolute(p) ? p : resolve(baseDir, p)) });
  if (issues.length) {
    const bounded = issues.map(boundIssue);
    throw new Err(`invalid ${opts.what}${where}: ${bounded.join('; ')}`, bounded);
  }
  return result.data;
}

/** A secret file's text, trimmed; the error names the config key, never the content. */
export function readSecretFile(path: string, key: string): string {
  try {
    return readBoundedFile(path, MAX_SECRET_BYTES).trim();
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${path}: ${(err as Error).message}`, [`${key}: cannot read ${path}`], { cause: err });
  }
}

/** One secret given inline (`value`) or as the first line of a file (`file`, config key `key`); undefined when neither. */
export function readSecret(value: string | undefined, file: string | undefined, key: string): string | undefined {
  if (value !== undefined) return value;
  return file === undefined ? undefined : readSecretFile(file, key).split(/\r?\n/)[0];
}
