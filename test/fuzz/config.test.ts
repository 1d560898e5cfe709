// Hostile config files for every deployable: values of the wrong type, huge and non-finite numbers,
// paths to devices and directories, prototype keys, alias bombs. Each loader returns a config or
// throws a ConfigError naming the key, quickly: never another error, a hang or an endless read.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { cleanupAll, tempDir } from '@fieldline/harness';
import { ConfigError } from '@fieldline/runtime';
import { loadEdgeConfig } from '@fieldline/edge';
import { loadGatewayConfig } from '@fieldline/gateway';
import { afterAll, describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../cloud/src/api/index.js';
import { resolveTokens } from '../../cloud/src/api/config.js';
import { loadProcessorConfig } from '../../cloud/src/processor/config.js';
import { fcParams, TEST_TIMEOUT } from './profile.js';
import { parse } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');
afterAll(() => cleanupAll());

const loaders: [string, string, (src: unknown) => unknown][] = [
  ['edge', 'edge/config/example.yaml', (s) => loadEdgeConfig(s)],
  ['gateway', 'gateway/config/example.yaml', (s) => loadGatewayConfig(s as never)],
  ['processor', 'cloud/config/processor.example.yaml', (s) => loadProcessorConfig(s as never)],
  ['api', 'cloud/config/api.example.yaml', (s) => loadApiConfig(s as never)],
];

/** Every leaf path of a parsed config (arrays by index). */
function leaves(v: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [path];
  const out: (string | number)[][] = path.length ? [path] : [];
  for (const [k, x] of Object.entries(v)) out.push(...leaves(x, [...path, Array.isArray(v) ? Number(k) : k]));
  return out;
}

function setAt(obj: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(obj) as Record<string | number, unknown>;
  let o = copy;
  for (const k of path.slice(0, -1)) {
    // An earlier edit may have put a scalar where this path goes on: the edit replaces it whole.
    if (o[k] === null || typeof o[k] !== 'object') {
      o[k] = value;
      return copy;
    }
    o = o[k] as Record<string | number, unknown>;
  }
  Object.defineProperty(o, path[path.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

const hostile = fc.oneof(
  fc.constantFrom(Infinity, -Infinity, NaN, -1, 0, 2 ** 53 + 1, 1e308, -0, 4294967296, 65536, 1e-9),
  fc.constantFrom('/dev/zero', '/dev/urandom', '/proc/self/mem', '/', '/etc', '../../../../etc/shadow', '\u0000', '', ' ', 'a'.repeat(100_000), '${HOME}', '~/x', 'file:///etc/passwd', 'mqtt://[::1', 'nats://user:pass@', '__proto__'),
  fc.anything({ maxDepth: 2 }),
  fc.string({ maxLength: 50 }),
  fc.double(),
);

describe('hostile config values', () => {
  for (const [part, example, load] of loaders) {
    it(`${part}: any value at any key gives a config or a ConfigError, within a second`, () => {
      const base = parse(readFileSync(join(ROOT, example), 'utf8')) as unknown;
      const paths = leaves(base);
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat(), hostile), { minLength: 1, maxLength: 3 }), fc.option(fc.constantFrom('__proto__', 'constructor', 'unknownKey')), (edits, extraKey) => {
          let cfg = base;
          for (const [i, v] of edits) cfg = setAt(cfg, paths[i % paths.length]!, v);
          if (extraKey) cfg = setAt(cfg, [extraKey], { polluted: true });
          const t0 = performance.now();
          try {
            load(cfg);
          } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
            expect(err.message.length).toBeLessThan(20_000);
          }
          expect(performance.now() - t0).toBeLessThan(1000);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        }),
        fcParams(1120, 200, 5000),
      );
    }, TEST_TIMEOUT);
  }

  it('config files that are not config files: /dev/zero, a directory, a 2 MiB file, an alias bomb, binary', () => {
    const dir = tempDir('fuzz-config');
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `device: x\n# ${'x'.repeat(2 << 20)}\n`);
    const bomb = join(dir, 'bomb.yaml');
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    writeFileSync(bomb, levels.join('\n') + '\n');
    const bin = join(dir, 'bin.yaml');
    writeFileSync(bin, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131) % 256)));
    const sub = join(dir, 'a-dir');
    mkdirSync(sub);
    for (const [part, , load] of loaders) {
      for (const file of ['/dev/zero', sub, big, bomb, bin, join(dir, 'missing.yaml')]) {
        const t0 = performance.now();
        expect(() => load(file), `${part} ${file}`).toThrow(ConfigError);
        expect(performance.now() - t0, `${part} ${file}`).toBeLessThan(2000);
      }
    }
  });

  it('a secret file that is /dev/zero is a ConfigError naming the key, not an endless read', () => {
    const base = parse(readFileSync(join(ROOT, 'cloud/config/api.example.yaml'), 'utf8')) as Record<string, unknown>;
    const cfg = loadApiConfig({ ...base, auth: { tokenFile: '/dev/zero' } } as never);
    const t0 = performance.now();
    expect(() => resolveTokens(cfg.auth, {})).toThrow(/auth\.tokenFile: cannot read \/dev\/zero: larger than 65536 bytes/);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
