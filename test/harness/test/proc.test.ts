import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
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

  it("reads the main thread's time on a core and waiting for one: more busy processes than cores wait", async () => {
    // One busy process more than there are cores: at every moment at least one is runnable and
    // not running, so their waits add up to at least the wall time (less what the kernel spends).
    const n = availableParallelism() + 1;
    const kids = Array.from({ length: n }, () => spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }));
    try {
      const all = await waitFor(() => {
        const s = kids.map((k) => procStats(k.pid));
        return s.every((x) => x?.mainThread && x.cpuSeconds >= 0.3) ? s.map((x) => x!) : undefined;
      }, { what: `${n} busy children to show 0.3 s of CPU each`, timeoutMs: 60_000 });
      for (const s of all) {
        // The main thread does the looping: nearly all the process's CPU time (ticks of 10 ms).
        expect(s.mainThread!.runSeconds).toBeGreaterThan(0.5 * s.cpuSeconds);
        expect(s.mainThread!.runSeconds).toBeLessThan(s.cpuSeconds + 0.05);
      }
      expect(all.reduce((t, s) => t + s.mainThread!.waitSeconds, 0)).toBeGreaterThan(0.1);
    } finally {
      for (const k of kids) k.kill('SIGKILL');
      await Promise.all(kids.map((k) => (k.exitCode === null && k.signalCode === null ? once(k, 'exit') : undefined)));
    }
  });
});
