import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { procStats, waitFor } from '@fieldline/harness';
import { describe, expect, it } from 'vitest';
import { ProcMeter } from '../src/proc-meter.js';

/**
 * Until `child` has used `cpu` seconds of CPU time (not a fixed wall time: on a loaded 2-core
 * machine a busy child may get a fraction of a core), and at least 0.7 s of wall time.
 */
const burn = async (child: ChildProcess, cpu: number): Promise<number> => {
  const t0 = Date.now();
  return waitFor(() => {
    const s = procStats(child.pid);
    return s && s.cpuSeconds >= cpu && Date.now() - t0 >= 700 ? s.cpuSeconds : undefined;
  }, { what: `the child to use ${cpu} s of CPU`, timeoutMs: 30_000 });
};
/** A child that keeps a core busy and holds ~30 MiB. */
const busy = (): ChildProcess => spawn(process.execPath, ['-e', 'const b = Buffer.alloc(30 * 2 ** 20, 1); for (;;) b[0]++'], { stdio: 'ignore' });

describe('ProcMeter', () => {
  it('adds up the CPU of every process that had a name in the phase, and keeps the peak RSS', async () => {
    let child = busy();
    const meter = new ProcMeter(() => ({ worker: child.pid }), 20);
    let used = 0;
    try {
      used += await burn(child, 0.15);
      child.kill('SIGKILL');
      await once(child, 'exit');
      child = busy(); // the next run's process, same name
      used += await burn(child, 0.15);
    } finally {
      child.kill('SIGKILL');
    }
    const f = meter.stop();
    // Both processes' CPU time, less what each used before its first sample and after its last
    // (one sampling interval each, whatever share of the cores the machine gave them).
    expect(used).toBeGreaterThan(0.2);
    expect(f.worker!.cpu_s).toBeGreaterThan(used - 0.15);
    expect(f.worker!.cpu_s).toBeLessThanOrEqual(used + 0.01);
    expect(f.worker!.peak_rss_mb).toBeGreaterThan(30);
    // Waiting for a core is a share of the wall time, of both processes (how much depends on the machine's load).
    expect(f.worker!.main_wait_pct).toBeGreaterThanOrEqual(0);
    expect(f.worker!.main_wait_pct).toBeLessThanOrEqual(100);
    expect(meter.stop()).toEqual(f); // stopped once
  });
});
