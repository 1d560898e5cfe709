import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { procStats } from '@fieldline/harness';
import { describe, expect, it } from 'vitest';
import { ProcMeter } from '../src/proc-meter.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A child that keeps a core busy and holds ~30 MiB. */
const busy = (): ChildProcess => spawn(process.execPath, ['-e', 'const b = Buffer.alloc(30 * 2 ** 20, 1); for (;;) b[0]++'], { stdio: 'ignore' });

describe('ProcMeter', () => {
  it('adds up the CPU of every process that had a name in the phase, and keeps the peak RSS', async () => {
    let child = busy();
    const meter = new ProcMeter(() => ({ worker: child.pid }), 20);
    let used = 0;
    try {
      await sleep(700);
      used += procStats(child.pid)!.cpuSeconds;
      child.kill('SIGKILL');
      await once(child, 'exit');
      child = busy(); // the next run's process, same name
      await sleep(700);
      used += procStats(child.pid)!.cpuSeconds;
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
    expect(meter.stop()).toEqual(f); // stopped once
  });
});
