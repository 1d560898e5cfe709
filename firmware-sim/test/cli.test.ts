import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cleanupAll, tempDir } from '@fieldline/harness';
import { afterAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const run = (args: string[]): Promise<{ stdout: string; stderr: string; code: number }> =>
  promisify(execFile)(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', cli, ...args], { env: { ...process.env, FIELDLINE_LOG_LEVEL: 'warn' } })
    .then(({ stdout, stderr }) => ({ stdout, stderr, code: 0 }))
    .catch((err: { stdout: string; stderr: string; code: number }) => ({ stdout: err.stdout, stderr: err.stderr, code: err.code }));

describe('fieldline-sim CLI', () => {
  afterAll(() => cleanupAll());

  it('list shows the built-in scenarios', async () => {
    const { stdout, code } = await run(['list']);
    expect(code).toBe(0);
    expect(stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0])).toEqual(['anomalies', 'factory-modbus', 'fleet-load', 'greenhouse', 'window-rules']);
  });

  it('run prints each board tty path and writes them to the --out file', async () => {
    const dir = tempDir('cli');
    const out = join(dir, 'boards.json');
    const { stdout, code } = await run(['run', 'greenhouse', '--fast', '--duration', '2s', '--seed', '3', '--dir', join(dir, 'tty'), '--out', out]);
    expect(code).toBe(0);
    const written = JSON.parse(readFileSync(out, 'utf8')) as { seed: number; boards: { device: string; board: string; path: string }[]; groundTruthPath: string };
    expect(written.seed).toBe(3);
    expect(written.boards.map((b) => `${b.device}/${b.board}`)).toEqual(['gh-01/climate', 'gh-01/air', 'gh-02/climate', 'gh-02/pumps']);
    for (const b of written.boards) {
      expect(b.path).toBe(join(dir, 'tty', `${b.device}.${b.board}`));
      expect(stdout).toContain(`${b.device}/${b.board}\t`);
      expect(stdout).toContain(b.path);
    }
    expect(stdout).toContain(`ground truth\t${written.groundTruthPath}`);
  });

  it('a bad scenario exits 78 naming the key', async () => {
    const file = join(tempDir('cli'), 'bad.yaml');
    writeFileSync(file, 'name: bad\ndevices:\n  - id: d\n    boards:\n      - { id: b, protocol: morse, channels: [{ name: t, model: temperature }] }\n');
    const { stderr, code } = await run(['run', file]);
    expect(code).toBe(78);
    expect(stderr).toMatch(/^fieldline-sim: invalid scenario \(.*bad\.yaml\): devices\[0\]\.boards\[0\]\.protocol: invalid enum value/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });
});
