import { readFileSync } from 'node:fs';

/** CPU time and resident memory of a running process, from Linux /proc. */
export interface ProcStats {
  /** utime + stime, in seconds. */
  cpuSeconds: number;
  /** VmRSS, in MiB. */
  rssMb: number;
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
    return { cpuSeconds: (Number(f[11]) + Number(f[12])) / TICKS_PER_S, rssMb: Number(rssKb) / 1024 };
  } catch {
    return undefined;
  }
}
