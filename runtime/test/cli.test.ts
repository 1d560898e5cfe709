import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { errorLine } from '../src/index.js';
import { cleanupAll, tempDir } from '../src/process/index.js';

afterAll(cleanupAll);

const BIN = fileURLToPath(new URL('./fixtures/service-bin.ts', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function run(args: string[], onReady?: (kill: (sig: NodeJS.Signals) => void) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let ready = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (onReady && !ready && stdout.includes('READY')) {
        ready = true;
        onReady((s) => child.kill(s));
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function config(text: string): string {
  const file = join(tempDir('cli'), 'c.yaml');
  writeFileSync(file, text);
  return file;
}

describe('CLI conventions (runCli + runService)', () => {
  it('--help and --version exit 0 on stdout', async () => {
    const help = await run(['--help']);
    expect([help.code, help.stdout]).toEqual([0, 'usage: fixture-bin run --config FILE\n']);
    const version = await run(['--version']);
    expect([version.code, version.stdout.trim()]).toEqual([0, VERSION]);
  });

  it('usage errors exit 64, config errors 78, start failures 69: one plain line on stderr', async () => {
    const usage = await run(['frobnicate']);
    expect(usage.code).toBe(64);
    expect(usage.stderr).toBe('fixture-bin: unknown command "frobnicate" (see fixture-bin --help)\n');
    expect((await run(['run', '--bogus'])).code).toBe(64);
    const bad = await run(['run', '--config', config('fail: maybe\n')]);
    expect(bad.code).toBe(78);
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^fixture-bin: invalid fixture config \(.*c\.yaml\): fail: expected boolean, got string$/)]);
    const down = await run(['run', '--config', config('fail: true\n')]);
    expect(down.code).toBe(69);
    expect(down.stderr).toBe('fixture-bin: fixture failed to start: cannot reach the thing: ECONNREFUSED 127.0.0.1:9\n');
    // The log line keeps the stack and the cause.
    const fatal = JSON.parse(down.stdout.split('\n').find((l) => l.includes('"level":60'))!) as { service: string; err: { message: string; stack: string } };
    expect(fatal.service).toBe('fixture');
    expect(fatal.err.stack).toContain('caused by: Error: ECONNREFUSED');
  });

  it('stops cleanly on SIGTERM (exit 0) and exits 1 when close overruns its deadline', async () => {
    const ok = await run(['run', '--config', config('{}\n')], (kill) => kill('SIGTERM'));
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('"msg":"fixture stopped"');
    const hung = await run(['run', '--config', config('hang: true\n')], (kill) => kill('SIGINT'));
    expect(hung.code).toBe(1);
    expect(hung.stdout).toContain('shutdown did not finish in time');
  });

  it('errorLine keeps the causes on one line', () => {
    expect(errorLine(new Error('a\nsecond', { cause: new Error('b', { cause: 'c' }) }))).toBe('a: b: c');
  });
});
