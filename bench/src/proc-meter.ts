import { procStats } from '@fieldline/harness';
import { round } from './stats.js';

/** CPU and memory of one process over a phase. */
export interface ProcFigures {
  /** CPU time over wall time, % of one core (200 % = both cores of a 2-core machine). */
  cpu_pct: number;
  /** RSS at the end of the phase. */
  rss_mb: number;
  /** Highest RSS sampled during the phase. */
  peak_rss_mb: number;
}

/**
 * Samples the CPU time and RSS of named processes (from /proc) over a phase: `stop()` gives each
 * one's CPU share and its end and peak RSS. Processes that start later (a fleet child) are picked
 * up by `pids()` being called at every sample.
 */
export class ProcMeter {
  private readonly first = new Map<string, { cpu: number; at: number }>();
  private readonly last = new Map<string, { cpu: number; at: number; rss: number }>();
  private readonly peak = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: () => Record<string, number | undefined>,
    intervalMs = 250,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const at = performance.now();
    for (const [name, pid] of Object.entries(this.pids())) {
      const s = procStats(pid);
      if (!s) continue;
      if (!this.first.has(name)) this.first.set(name, { cpu: s.cpuSeconds, at });
      this.last.set(name, { cpu: s.cpuSeconds, at, rss: s.rssMb });
      this.peak.set(name, Math.max(this.peak.get(name) ?? 0, s.rssMb));
    }
  }

  /** Peak RSS so far, by process. */
  peaks(): Record<string, number> {
    return Object.fromEntries([...this.peak].map(([k, v]) => [k, round(v)]));
  }

  stop(): Record<string, ProcFigures> {
    this.sample();
    clearInterval(this.timer);
    const out: Record<string, ProcFigures> = {};
    for (const [name, l] of this.last) {
      const f = this.first.get(name)!;
      const wall = (l.at - f.at) / 1000;
      out[name] = { cpu_pct: wall > 0 ? round(((l.cpu - f.cpu) / wall) * 100) : 0, rss_mb: round(l.rss), peak_rss_mb: round(this.peak.get(name)!) };
    }
    return out;
  }
}
