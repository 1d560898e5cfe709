import { readFileSync } from 'node:fs';

/** CPU time and resident memory of a running process, from Linux /proc. */
export interface ProcStats {
  /** utime + stime, in seconds. */
  cpuSeconds: number;
  /** VmRSS, in MiB. */
  rssMb: number;
  /**
   * The main thread's time on a core and time runnable but waiting for one (the run queue), in
   * seconds, from /proc/<pid>/schedstat; undefined where the kernel does not keep it. For a
   * Node process the main thread is the event loop: its waiting is the machine's share of the
   * loop's stalls, not the program's.
   */
  mainThread?: { runSeconds: number; waitSeconds: number };
}

// Clock ticks per second of /proc/<pid>/stat (USER_HZ): 100 on every Linux the project runs on.
const TICKS_PER_S = 100;

/** The process's CPU time and RSS now; undefined once it has exited (or /proc cannot be read). */
export function procStats(pid: number | undefined): ProcStats | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself contain spaces and parentheses.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie (exited, not yet reaped) has no VmRSS: it is not running any more.
    const rssKb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    if (rssKb === undefined) return undefined;
    return { cpuSeconds: (Number(f[11]) + Number(f[12])) / TICKS_PER_S, rssMb: Number(rssKb) / 1024, mainThread: schedstat(pid) };
  } catch {
    return undefined;
  }
}

/** `/proc/<pid>/schedstat`: ns on a core, ns waiting on a run queue, timeslices (Documentation/scheduler/sched-stats.rst). */
function schedstat(pid: number): ProcStats['mainThread'] {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return Number.isFinite(run) && Number.isFinite(wait) ? { runSeconds: run! / 1e9, waitSeconds: wait! / 1e9 } : undefined;
  } catch {
    return undefined;
  }
}
