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
    const where = url ? `${url.startsWith(root) ? relative(root, url) : url}:${n.callFrame.lineNumber + 1}` : '(native)';
    const key = `${name}@${where}`;
    const e = byFn.get(key) ?? { function: name, where, t: 0 };
    e.t += t;
    byFn.set(key, e);
  }
  const top = [...byFn.values()]
    .sort((a, b) => b.t - a.t)
    .slice(0, limit)
    .map((e) => ({ function: e.function, where: e.where, self_pct: busy > 0 ? Math.round((e.t / busy) * 1000) / 10 : 0 }));
  return { sampled_s: Math.round((profile.endTime - profile.startTime) / 1e5) / 10, top };
}

/** Summaries of every profile in `<dir>/<process>/*.cpuprofile`. */
export function summarizeProfiles(dir: string, root: string): ProfileSummary[] {
  const out: ProfileSummary[] = [];
  for (const proc of readdirSync(dir, { withFileTypes: true })) {
    if (!proc.isDirectory()) continue;
    for (const f of readdirSync(join(dir, proc.name)).filter((x) => x.endsWith('.cpuprofile'))) {
      const file = join(dir, proc.name, f);
      out.push({ process: proc.name, file: relative(root, file), ...summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, root) });
    }
  }
  return out;
}
