/**
 * Where the time goes: the functions with the most self time in a V8 CPU profile
 * (`node --cpu-prof`, a .cpuprofile JSON), grouped by function and file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  process: string;
  file: string;
  /** Sampled wall time, s (includes idle). */
  sampled_s: number;
  /** Of which not idle, s: the CPU time the shares below divide. */
  busy_s: number;
  /** Share of non-idle samples, %. */
  top: { function: string; where: string; self_pct: number }[];
}

/** The `limit` functions with the most self time, as % of the non-idle samples. */
export function summarizeProfile(profile: CpuProfile, root: string, limit = 12): Omit<ProfileSummary, 'process' | 'file'> {
  const self = new Map<number, number>();
  if (profile.samples && profile.timeDeltas) {
    profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas![i] ?? 0)));
  } else {
    for (const n of profile.nodes) self.set(n.id, n.hitCount ?? 0);
  }
  const byFn = new Map<string, { function: string; where: string; t: number }>();
  let busy = 0;
  for (const n of profile.nodes) {
    const t = self.get(n.id) ?? 0;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)' || name === '(program)' || name === '(root)') continue;
    busy += t;
    const url = n.callFrame.url.replace(/^file:\/\//, '');
    // Code run through tsx is one line per module: there the file alone says where.
    const line = n.callFrame.lineNumber > 0 ? `:${n.callFrame.lineNumber + 1}` : '';
    const where = url ? `${url.startsWith(root) ? relative(root, url) : url}${line}` : '(native)';
    const key = `${name}@${where}`;
    const e = byFn.get(key) ?? { function: name, where, t: 0 };
    e.t += t;
    byFn.set(key, e);
  }
  const top = [...byFn.values()]
    .sort((a, b) => b.t - a.t)
    .slice(0, limit)
    .map((e) => ({ function: e.function, where: e.where, self_pct: busy > 0 ? Math.round((e.t / busy) * 1000) / 10 : 0 }));
  return { sampled_s: Math.round((profile.endTime - profile.startTime) / 1e5) / 10, busy_s: Math.round(busy / 1e5) / 10, top };
}

/**
 * Summaries of the main-thread profile of each process in `<dir>/<process>/`. Node names them
 * `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`; thread 0 is the main thread (the others
 * are workers, such as the module loader's).
 */
export function summarizeProfiles(dir: string, root: string): ProfileSummary[] {
  const out: ProfileSummary[] = [];
  for (const proc of readdirSync(dir, { withFileTypes: true })) {
    if (!proc.isDirectory()) continue;
    for (const f of readdirSync(join(dir, proc.name)).filter((x) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(x))) {
      const file = join(dir, proc.name, f);
      out.push({ process: proc.name, file: relative(root, file), ...summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, root) });
    }
  }
  return out;
}
