/**
 * `EDGE_BENCH_AGAINST=<another fieldline checkout> npm run bench:edge`: the drain of this tree's
 * agent and of the other tree's, alternated (ABBA…) in one bench process, against the same broker
 * code, on copies of one prefilled backlog. A before/after comparison of two separate bench runs
 * also compares their bench processes (the broker runs in them) and whatever else the machine did
 * meanwhile; this compares only the agents. The other tree must have its node_modules installed;
 * its agent is staged by its own `stageLib` and started with this tree's unit flags.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '@fieldline/harness';
import { unitCommand } from '../src/packaging/build-deb.js';
import { drainOnce, prefill, type DrainFigures } from './drain.js';

/** Stages `tree`'s agent (through its own build code: older trees return the lib dir as a string). */
function stageOther(tree: string): string {
  const out = tempDir('bench-lib-against');
  const script = `const { stageLib } = await import('./src/packaging/build-deb.ts'); const r = await stageLib(${JSON.stringify(out)}); process.stdout.write(typeof r === 'string' ? r : r.lib);`;
  return execFileSync(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(tree, 'edge'), encoding: 'utf8' }).trim();
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export interface AgainstFigures {
  rounds: number;
  drain_readings_per_s: number;
  against_drain_readings_per_s: number;
  /** Medians, this tree's / the other's: > 1 is faster here. */
  drain_ratio: number;
  agent_cpu_s_per_million: number;
  against_agent_cpu_s_per_million: number;
  /** Medians, this tree's / the other's: < 1 costs less here. */
  cpu_ratio: number;
  lost_readings: number;
}

export async function drainAgainst(ours: string[], tree: string, { rounds, backlog, batch }: { rounds: number; backlog: number; batch: number }): Promise<AgainstFigures> {
  const theirs = unitCommand(stageOther(tree));
  const template = join(tempDir('bench-drain-template'), 'state');
  prefill(template, backlog, batch);
  const runs: Record<'ours' | 'theirs', DrainFigures[]> = { ours: [], theirs: [] };
  for (let i = 0; i < rounds; i++) {
    const order: Array<'ours' | 'theirs'> = i % 2 ? ['theirs', 'ours'] : ['ours', 'theirs'];
    for (const who of order) {
      const d = await drainOnce(who === 'ours' ? ours : theirs, { backlog, batch, template });
      runs[who].push(d);
      process.stdout.write(`round ${i + 1} ${who.padEnd(6)} ${Math.round(d.drain_readings_per_s)} readings/s, agent CPU ${d.drain_agent_cpu_s.toFixed(2)} s, lost ${d.drain_lost_readings}\n`);
    }
  }
  const rate = (who: 'ours' | 'theirs') => median(runs[who].map((d) => d.drain_readings_per_s));
  const cpu = (who: 'ours' | 'theirs') => median(runs[who].map((d) => (d.drain_agent_cpu_s / backlog) * 1e6));
  return {
    rounds,
    drain_readings_per_s: Math.round(rate('ours')),
    against_drain_readings_per_s: Math.round(rate('theirs')),
    drain_ratio: Math.round((rate('ours') / rate('theirs')) * 1000) / 1000,
    agent_cpu_s_per_million: Math.round(cpu('ours') * 1000) / 1000,
    against_agent_cpu_s_per_million: Math.round(cpu('theirs') * 1000) / 1000,
    cpu_ratio: Math.round((cpu('ours') / cpu('theirs')) * 1000) / 1000,
    lost_readings: [...runs.ours, ...runs.theirs].reduce((a, d) => a + d.drain_lost_readings, 0),
  };
}
