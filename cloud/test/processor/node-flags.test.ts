import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PROCESSOR_NODE_FLAGS } from '../../src/processor/node-flags.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string): string => readFileSync(root + path, 'utf8');
const scripts = (path: string): Record<string, string> => (JSON.parse(read(path)) as { scripts: Record<string, string> }).scripts;

describe('the processor runs with its V8 flags wherever it is launched', () => {
  const launchers: [string, string][] = [
    ['the bin (shebang)', read('cloud/bin/fieldline-cloud.js').split('\n')[0]!],
    ['the systemd unit', read('deploy/server/fieldline-processor.service').split('\n').find((l) => l.startsWith('ExecStart='))!],
    ['npm run demo', scripts('package.json').demo!],
    ['bench:detect', scripts('cloud/package.json')['bench:detect']!],
    ['bench:processor', scripts('cloud/package.json')['bench:processor']!],
    ['bench:scale', scripts('cloud/package.json')['bench:scale']!],
    ['the whole-pipeline bench', read('bench/src/services.ts').split('\n').find((l) => l.includes("nodeService(i === 0 ? 'processor'"))!],
  ];
  it.each(launchers)('%s', (_name, line) => {
    expect(line).toBeDefined();
    // The bench passes the constant itself; the others spell the flags out.
    if (line.includes('PROCESSOR_NODE_FLAGS')) return;
    for (const flag of PROCESSOR_NODE_FLAGS) expect(line).toContain(flag);
  });

  it("the bin's shebang starts node with the flags in effect", () => {
    // The kernel runs `/usr/bin/env "<rest of the line>" <file> <args>`; `env -S` splits the rest
    // (coreutils ≥ 8.30). Run as the kernel would, with `-p` in place of the file.
    const shebang = read('cloud/bin/fieldline-cloud.js').split('\n')[0]!;
    expect(shebang.startsWith('#!/usr/bin/env -S node ')).toBe(true);
    const out = execFileSync('/usr/bin/env', [shebang.slice('#!/usr/bin/env '.length), '-p', 'JSON.stringify(process.execArgv)'], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([...PROCESSOR_NODE_FLAGS, '-p', 'JSON.stringify(process.execArgv)']);
  });
});
