import { procStats } from '@fieldline/harness';
import { round } from './stats.js';

/** CPU and memory of one process over a phase. */
export interface ProcFigures {
  /** CPU time over wall time, % of one core (200 % = both cores of a 2-core machine). */
  cpu_pct: number;
  /** CPU time, s. */
  cpu_s: number;
  /** RSS at the end of the phase. */
  rss_mb: number;
  /** Highest RSS sampled during the phase. */
  peak_rss_mb: number;
  /**
   * Time the main thread (a Node service's event loop) was runnable but waiting for a core, over
   * wall time, %: what the machine, not the program, added to its stalls. Absent where the kernel
   * keeps no schedstat.
   */
  main_wait_pct?: number;
}

/**
 * Samples the CPU time and RSS of named processes (from /proc) over a phase: `stop()` gives each
 * one's CPU share and its end and peak RSS. `pids()` is called at every sample, so a process that
 * starts later or is replaced under the same name (one fleet process per run) is followed: the
 * CPU of every process that had the name adds up (each from when it was first seen).
 */
export class ProcMeter {
  private readonly t0 = performance.now();
  private readonly procs = new Map<string, { pid: number; cpu0: number; cpu: number; carried: number; wait0?: number; wait?: number; waitCarried: number; rss: number; peak: number }>();
  private readonly timer: NodeJS.Timeout;
  private stoppedAt: number | undefined;

  constructor(
    private readonly pids: () => Record<string, number | undefined>,
    intervalMs = 250,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    for (const [name, pid] of Object.entries(this.pids())) {
      if (pid === undefined) continue;
      const s = procStats(pid);
      if (!s) continue;
      const e = this.procs.get(name);
      const wait = s.mainThread?.waitSeconds;
      if (!e) this.procs.set(name, { pid, cpu0: s.cpuSeconds, cpu: s.cpuSeconds, carried: 0, wait0: wait, wait, waitCarried: 0, rss: s.rssMb, peak: s.rssMb });
      else {
        if (e.pid !== pid) {
          // Another process under this name: what the last one used stays counted.
          e.carried += e.cpu - e.cpu0;
          e.waitCarried += (e.wait ?? 0) - (e.wait0 ?? 0);
          e.pid = pid;
          e.cpu0 = s.cpuSeconds;
          e.wait0 = wait;
        }
        e.cpu = s.cpuSeconds;
        e.wait = wait;
        e.rss = s.rssMb;
        e.peak = Math.max(e.peak, s.rssMb);
      }
    }
  }

  stop(): Record<string, ProcFigures> {
    if (this.stoppedAt === undefined) {
      this.sample();
      clearInterval(this.timer);
      this.stoppedAt = performance.now();
    }
    const wall = (this.stoppedAt - this.t0) / 1000;
    const out: Record<string, ProcFigures> = {};
    for (const [name, e] of this.procs) {
      const cpu = e.carried + e.cpu - e.cpu0;
      out[name] = { cpu_pct: wall > 0 ? round((cpu / wall) * 100) : 0, cpu_s: round(cpu, 2), rss_mb: round(e.rss), peak_rss_mb: round(e.peak) };
      if (e.wait !== undefined && e.wait0 !== undefined && wall > 0) out[name].main_wait_pct = round(((e.waitCarried + e.wait - e.wait0) / wall) * 100);
    }
    return out;
  }
}
