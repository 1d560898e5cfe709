import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

/** `detectors[0].rule: Required; port: Expected number` -- every bad key, with its path. */
export function formatZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.').replace(/\.(\d+)/g, '[$1]') : '(root)'}: ${i.message}`).join('; ');
}

/**
 * Reads a YAML config file (a path) or takes an object, and validates it with `schema`
 * (defaults applied, unknown keys rejected). Errors come from `fail`, naming the key.
 */
export function loadConfigFile<S extends z.ZodTypeAny>(
  pathOrObject: unknown,
  schema: S,
  what: string,
  fail: (message: string, cause: unknown) => Error,
): z.output<S> {
  let raw: unknown = pathOrObject;
  if (typeof pathOrObject === 'string') {
    try {
      raw = parseYaml(readFileSync(pathOrObject, 'utf8')) ?? {};
    } catch (err) {
      throw fail(`cannot read ${what} config ${pathOrObject}: ${(err as Error).message}`, err);
    }
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw fail(`invalid ${what} config: ${formatZodError(result.error)}`, result.error);
  return result.data;
}
