// onCleanup's last resort on a signal, and its exception: a program with a SIGINT handler of its
// own (the demo) is left to stop its services in order; the harness must not remove their dirs
// under them first (the fix that moved with process management from the harness into runtime).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('./fixtures/cleanup-bin.ts', import.meta.url));

function interrupt(args: string[]): Promise<{ code: number | null; stdout: string; dir: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', BIN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    let dir = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no exit after SIGINT: ${stdout}`));
    }, 30_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      const m = /READY (\S+)/.exec(stdout);
      if (m && !dir) {
        dir = m[1]!;
        child.kill('SIGINT');
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, dir });
    });
  });
}

describe('onCleanup on a signal', () => {
  it('without a handler of the program: cleans up and exits 130', async () => {
    const r = await interrupt([]);
    expect(r.code).toBe(130);
    expect(r.dir).not.toBe('');
    expect(existsSync(r.dir)).toBe(false);
  });

  it("with the program's own SIGINT handler: leaves the dirs to it until it calls cleanupAll", async () => {
    const r = await interrupt(['own']);
    expect(r.stdout).toContain('in the handler: dir present');
    expect(r.stdout).toContain('after cleanupAll: dir gone');
    expect(r.code).toBe(0);
    expect(existsSync(r.dir)).toBe(false);
  });
});
