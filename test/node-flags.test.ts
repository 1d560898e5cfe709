import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROCESSOR_NODE_FLAGS } from '@fieldline/cloud';
import { GATEWAY_NODE_FLAGS } from '@fieldline/gateway';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));
const read = (path: string): string => readFileSync(root + path, 'utf8');
const scripts = (path: string): Record<string, string> => (JSON.parse(read(path)) as { scripts: Record<string, string> }).scripts;
const firstLine = (path: string): string => read(path).split('\n')[0]!;
const execStart = (unit: string): string => read(unit).split('\n').find((l) => l.startsWith('ExecStart='))!;
const lineWith = (path: string, fragment: string): string => read(path).split('\n').find((l) => l.includes(fragment))!;

/** Each service with its V8 flags, its bin, and every launcher (the name of the constant, where a launcher passes it). */
const services: { name: string; flags: readonly string[]; constant: string; bin: string; launchers: [string, string][] }[] = [
  {
    name: 'processor',
    flags: PROCESSOR_NODE_FLAGS,
    constant: 'PROCESSOR_NODE_FLAGS',
    bin: 'cloud/bin/fieldline-cloud.js',
    launchers: [
      ['the bin (shebang)', firstLine('cloud/bin/fieldline-cloud.js')],
      ['the systemd unit', execStart('deploy/server/fieldline-processor.service')],
      ['npm run demo', scripts('package.json').demo!],
      ['bench:detect', scripts('cloud/package.json')['bench:detect']!],
      ['bench:processor', scripts('cloud/package.json')['bench:processor']!],
      ['bench:scale', scripts('cloud/package.json')['bench:scale']!],
      ['the whole-pipeline bench', lineWith('bench/src/services.ts', "nodeService(i === 0 ? 'processor'")],
    ],
  },
  {
    name: 'gateway',
    flags: GATEWAY_NODE_FLAGS,
    constant: 'GATEWAY_NODE_FLAGS',
    bin: 'gateway/bin/fieldline-gateway.js',
    launchers: [
      ['the bin (shebang)', firstLine('gateway/bin/fieldline-gateway.js')],
      ['the systemd unit', execStart('deploy/server/fieldline-gateway.service')],
      // The demo runs the gateway inside the demo's own process.
      ['npm run demo', scripts('package.json').demo!],
      ['bench:gateway', lineWith('gateway/bench/gateway.ts', "'run', '--config', config]")],
      ['the whole-pipeline bench', lineWith('bench/src/services.ts', "nodeService('gateway'")],
    ],
  },
];

describe.each(services)('the $name runs with its V8 flags wherever it is launched', ({ flags, constant, bin, launchers }) => {
  it.each(launchers)('%s', (_name, line) => {
    expect(line).toBeDefined();
    // The benches pass the constant itself; the others spell the flags out.
    if (line.includes(constant)) return;
    for (const flag of flags) expect(line).toContain(flag);
  });

  it("the bin's shebang starts node with the flags in effect", () => {
    // The kernel runs `/usr/bin/env "<rest of the line>" <file> <args>`; `env -S` splits the rest
    // (coreutils ≥ 8.30). Run as the kernel would, with `-p` in place of the file.
    const shebang = firstLine(bin);
    expect(shebang.startsWith('#!/usr/bin/env -S node ')).toBe(true);
    const out = execFileSync('/usr/bin/env', [shebang.slice('#!/usr/bin/env '.length), '-p', 'JSON.stringify(process.execArgv)'], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([...flags, '-p', 'JSON.stringify(process.execArgv)']);
  });
});
