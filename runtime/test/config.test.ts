import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig, readSecret, keyPath } from '../src/index.js';
import { cleanupAll, tempDir } from '../src/process/index.js';

afterAll(cleanupAll);

const schema = z
  .object({
    port: z.number().int().default(1),
    ports: z.array(z.object({ id: z.string(), baud: z.number() }).strict()).default([]),
    file: z.string().optional(),
  })
  .strict();

function refusal(f: () => unknown): ConfigError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies defaults and resolves paths against the file', () => {
    const dir = tempDir('cfg');
    const file = join(dir, 'a.yaml');
    writeFileSync(file, 'file: x.txt\n');
    const cfg = loadConfig(file, schema, { what: 'test config', check: (c, ctx) => void (c.file = ctx.resolvePath(c.file!)) });
    expect(cfg).toEqual({ port: 1, ports: [], file: join(dir, 'x.txt') });
  });

  it('names every bad key in one format: dots for keys, brackets for indexes', () => {
    const err = refusal(() => loadConfig({ port: 'x', ports: [{ id: 'a' }, { id: 1, baud: 2, more: 1 }], extra: 1 }, schema, { what: 'test config' }));
    expect(err.issues).toEqual([
      'port: expected number, got string',
      'ports[0].baud: is required',
      'ports[1].id: expected string, got number',
      'ports[1].more: unknown key',
      'extra: unknown key',
    ]);
    expect(err.message).toBe(`invalid test config: ${err.issues.join('; ')}`);
    expect(err.exitCode).toBe(78);
    expect(keyPath([])).toBe('(root)');
  });

  it('reports unreadable files, bad YAML and cross-key checks, and reads YAML text', () => {
    expect(refusal(() => loadConfig('/nonexistent/x.yaml', schema, { what: 'test config' })).message).toMatch(/^cannot read test config \/nonexistent\/x.yaml: ENOENT/);
    expect(refusal(() => loadConfig({ yaml: 'port: [' }, schema, { what: 'test config' })).message).toMatch(/^test config is not valid YAML: /);
    const err = refusal(() => loadConfig({ yaml: 'port: 2\n' }, schema, { what: 'test config', check: (c, ctx) => void (c.port > 1 && ctx.issues.push('port: must be 1')) }));
    expect(err.message).toBe('invalid test config: port: must be 1');
  });

  it('reads a secret inline or from the first line of its file, naming the key when it cannot', () => {
    const file = join(tempDir('cfg'), 'secret');
    writeFileSync(file, 'hunter22\nsecond line\n');
    expect(readSecret('inline', file, 'x.passwordFile')).toBe('inline');
    expect(readSecret(undefined, file, 'x.passwordFile')).toBe('hunter22');
    expect(readSecret(undefined, undefined, 'x.passwordFile')).toBeUndefined();
    expect(refusal(() => readSecret(undefined, '/nonexistent', 'x.passwordFile')).message).toMatch(/^x\.passwordFile: cannot read \/nonexistent/);
  });

  it('hostile files and values: /dev/zero and a huge file are refused, not read forever; a 100 KB key or value is cut in the error', () => {
    expect(refusal(() => loadConfig('/dev/zero', schema, { what: 'test config' })).message).toBe('cannot read test config /dev/zero: larger than 1048576 bytes');
    expect(refusal(() => readSecret(undefined, '/dev/zero', 'x.passwordFile')).message).toBe('x.passwordFile: cannot read /dev/zero: larger than 65536 bytes');
    const huge = 'k'.repeat(100_000);
    const err = refusal(() => loadConfig({ [huge]: 1, ports: [{ id: huge, baud: huge }] }, schema, { what: 'test config' }));
    expect(err.message.length).toBeLessThan(1000);
    expect(err.issues[0]).toMatch(/^ports\[0\]\.baud: expected number, got string$/);
    expect(err.issues[1]).toMatch(/^k{300}… \(\d+ more characters\)$/);
    const checked = refusal(() => loadConfig({ file: huge }, schema, { what: 'test config', check: (c, ctx) => void ctx.issues.push(`file: no such file ${c.file}`) }));
    expect(checked.issues[0]!.length).toBeLessThan(400);
  });
});

