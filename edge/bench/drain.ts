/**
 * The drain measurement of `npm run bench:edge`: an agent restarted with a backlog in its disk
 * queue (as an outage leaves it) sends it all to an in-process aedes broker. Besides the rate it
 * reports the agent's own CPU time over the drain: on a shared machine the rate swings ±30 % with
 * what else runs, while CPU seconds per reading move much less (see `EDGE_BENCH_AGAINST` in edge.ts
 * for an A/B of two trees' agents in one process).
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { procStats, tempDir, waitFor } from '@fieldline/harness';
import { DiskQueue } from '../src/queue.js';
import { EdgeState } from '../src/state.js';
import { SENSORS, spawnAgent, startBroker, stopChild, writeConfig } from './footprint.js';

export interface DrainFigures {
  drain_readings_per_s: number;
  drain_incl_startup_readings_per_s: number;
  drain_lost_readings: number;
  drain_duplicate_batches: number;
  drain_peak_rss_mb: number;
  /** Agent CPU (user + system) from the first reading the broker got to the last. */
  drain_agent_cpu_s: number;
}

/** Fills a state dir's queue the way an agent does during an outage (batches closed by count). */
export function prefill(stateDir: string, backlog: number, batch: number): void {
  const state = EdgeState.open(stateDir);
  const q = new DiskQueue({ dir: join(stateDir, 'queue'), maxBytes: 512 * 1024 * 1024, segmentBytes: 4 * 1024 * 1024, overflow: 'drop-oldest', fsync: 'never' });
  const t0 = 1_800_000_000_000;
  for (let i = 0; i < backlog; i += batch) {
    const lines: string[] = [];
    for (let j = i; j < i + batch; j++) lines.push(JSON.stringify({ sensor: `s${j % SENSORS}`, ts: t0 + j * 10, value: j, unit: 'C' }));
    q.append(lines);
    q.close(state.nextSeq(), { synced: true, now: t0 + i * 10 });
  }
  q.shutdown();
}

/**
 * One drain of `backlog` readings (in batches of `batch`) by the agent `agentCommand` runs. The
 * state dir is a copy of `template` (a prefilled one) when given, else prefilled here.
 */
export async function drainOnce(agentCommand: string[], { backlog, batch, template }: { backlog: number; batch: number; template?: string }): Promise<DrainFigures> {
  const broker = await startBroker(backlog);
  const dir = tempDir('bench-drain');
  if (template) cpSync(template, join(dir, 'state'), { recursive: true });
  else prefill(join(dir, 'state'), backlog, batch);
  const cfg = writeConfig(dir, broker.url, { batching: { maxReadings: batch }, queue: { maxBytes: 512 * 1024 * 1024 } });
  const started = performance.now();
  const agent = spawnAgent(agentCommand, cfg);
  let peakRss = 0;
  const rssTimer = setInterval(() => {
    peakRss = Math.max(peakRss, procStats(agent.pid)?.rssMb ?? 0); // undefined once the child exited
  }, 250);
  let cpuAtFirst: number | undefined;
  await waitFor(
    () => {
      // Polled every 10 ms: the start of the CPU window is off by at most that much agent time.
      if (cpuAtFirst === undefined && broker.received.readings > 0) cpuAtFirst = procStats(agent.pid)?.cpuSeconds;
      return broker.received.readings >= backlog;
    },
    { timeoutMs: 600_000, intervalMs: 10, what: 'backlog drained' },
  );
  const cpuAtEnd = procStats(agent.pid)?.cpuSeconds ?? Number.NaN;
  clearInterval(rssTimer);
  const r = broker.received;
  const lost = backlog - r.seen.reduce((a, v) => a + v, 0);
  await stopChild(agent);
  await broker.close();
  return {
    drain_readings_per_s: backlog / ((r.last - r.first) / 1000),
    drain_incl_startup_readings_per_s: backlog / ((r.last - started) / 1000),
    drain_lost_readings: lost,
    drain_duplicate_batches: r.dup,
    drain_peak_rss_mb: peakRss,
    drain_agent_cpu_s: cpuAtEnd - (cpuAtFirst ?? Number.NaN),
  };
}
