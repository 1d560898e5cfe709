import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { procStats, waitFor } from '../src/index.js';

describe('procStats', () => {
  it('reads CPU time and RSS of a running process, and nothing once it has exited', async () => {
    // A child that holds ~40 MiB and burns 0.5 s of its own CPU time (not of wall time: on a
    // loaded machine it gets less than a core), so both figures have something to show.
    const child = spawn(process.execPath, ['-e', 'const b = Buffer.alloc(40 * 2 ** 20, 1); while (process.cpuUsage().user < 5e5); setInterval(() => b[0]++, 1000)'], { stdio: 'ignore' });
    try {
      const s = await waitFor(() => {
        const p = procStats(child.pid);
        return p && p.cpuSeconds > 0.3 ? p : undefined;
      }, { what: 'the child to show 0.3 s of CPU time', timeoutMs: 30_000 });
      expect(s.cpuSeconds).toBeLessThan(30);
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
