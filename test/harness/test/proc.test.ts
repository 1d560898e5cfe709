import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { procStats } from '../src/index.js';

describe('procStats', () => {
  it('reads CPU time and RSS of a running process, and nothing once it has exited', async () => {
    // A child that burns CPU and holds ~40 MiB, so both figures have something to show.
    const child = spawn(process.execPath, ['-e', 'const b = Buffer.alloc(40 * 2 ** 20, 1); const t = Date.now(); while (Date.now() - t < 700); setInterval(() => b[0]++, 1000)'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 900));
      const s = procStats(child.pid)!;
      expect(s.cpuSeconds).toBeGreaterThan(0.3);
      expect(s.rssMb).toBeGreaterThan(40);
      expect(procStats(process.pid)!.rssMb).toBeGreaterThan(10);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    expect(procStats(child.pid)).toBeUndefined();
    expect(procStats(undefined)).toBeUndefined();
  });
});
