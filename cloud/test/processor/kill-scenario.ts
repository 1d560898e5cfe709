import { STREAMS, type Envelope, type SessionSummary } from '@fieldline/contract';
import { waitFor, type InfluxServer } from '@fieldline/harness';
import type { NatsConnection } from 'nats';
import { expect } from 'vitest';
import { drained, type ProcessorConfigInput } from '../../src/processor/index.js';
import { auditOwnership, expectOutputs, influxDump, publishAll, recordCommits, reference, streamDump, writeLines } from './audit.js';
import { ProcessorProcess } from './child.js';
import { rng } from './workload.js';

/**
 * The kill scenario of issue 12, on real processes: processors (`fieldline-cloud processor`
 * children) share the partitions while the workload is published in chunks; at seeded random
 * moments one is killed with SIGKILL (and, if asked, another started); afterwards InfluxDB,
 * ALERTS and SESSIONS must equal one uninterrupted run exactly, and the commit records and lease
 * epochs must show one owner per partition at a time.
 */
export interface KillScenario {
  nc: NatsConnection;
  influx: InfluxServer;
  partitions: number;
  config: ProcessorConfigInput;
  envs: readonly Envelope[];
  /** Processors at the start. */
  processors: number;
  /** Chunks the workload is published in (kills happen while one is being published). */
  chunks: number;
  /** Before chunk i (1 ≤ i < chunks): kill one processor, and start a replacement unless `replace` is false. */
  kills: { chunk: number; replace?: boolean }[];
  /** Before chunk i: start one more processor. */
  joins?: number[];
  seed?: number;
  /** Pause after each chunk. @default 500 */
  pauseMs?: number;
  /** Database of the reference run. @default 'reference' */
  referenceDb?: string;
}

export interface KillResult {
  /** Per kill: partitions the victim held, and ms from the kill until another owner had each live. */
  takeovers: { partitions: number[]; ms: number }[];
  alerts: number;
  sessions: number;
  epochs: number;
}

const liveLines = (ps: ProcessorProcess[]) => ps.flatMap((p) => p.lines(/^partition taken over; live$/)) as { partition: number; time: number }[];

export async function runKillScenario(o: KillScenario): Promise<KillResult> {
  const rand = rng(o.seed ?? 11);
  const replayMs = (o.config.consumer as { replayMs?: number } | undefined)?.replayMs;
  const commits = await recordCommits(o.nc);
  let n = 0;
  const all: ProcessorProcess[] = [];
  const alive: ProcessorProcess[] = [];
  const startOne = async (): Promise<void> => {
    const p = await ProcessorProcess.start(`p${n++}`, o.config);
    all.push(p);
    alive.push(p);
  };
  for (let i = 0; i < o.processors; i++) await startOne();
  // Balanced before the load starts (a member gets partitions once it was seen live for leaseMs).
  await waitFor(async () => (await Promise.all(alive.map((p) => p.owned()))).every((x) => x.length > 0), { timeoutMs: 30_000, intervalMs: 100, what: 'every processor to own a partition' });
  const js = o.nc.jetstream();
  const size = Math.ceil(o.envs.length / o.chunks);
  const chunkStart: number[] = [];
  const kills: { at: number; victim: number[] }[] = [];
  const takeovers: KillResult['takeovers'] = [];
  for (let c = 0; c < o.chunks; c++) {
    chunkStart.push(Date.now());
    const publishing = publishAll(js, o.envs.slice(c * size, (c + 1) * size), o.partitions, 16);
    for (const k of o.kills.filter((x) => x.chunk === c)) {
      // A random moment while the chunk is going in (and the processors are busy with it).
      await new Promise((r) => setTimeout(r, 50 + rand() * 400));
      // A processor that holds partitions (one that just joined may hold none yet).
      const owning = (await Promise.all(alive.map(async (p) => ((await p.owned()).length ? p : null)))).filter((p) => p !== null);
      const victim = owning[Math.floor(rand() * owning.length)]!;
      alive.splice(alive.indexOf(victim), 1);
      const held = await victim.owned();
      const at = Date.now();
      await victim.kill();
      kills.push({ at, victim: held });
      if (k.replace !== false) await startOne();
      // Every partition it held is live at another owner: the takeover time.
      const got = await waitFor(
        () => {
          const live = liveLines(alive).filter((l) => l.time >= at && held.includes(l.partition));
          const done = held.every((p) => live.some((l) => l.partition === p));
          return done ? Math.max(...live.map((l) => l.time)) - at : null;
        },
        { timeoutMs: 60_000, intervalMs: 50, what: `the partitions ${held.join(', ')} of a killed processor to be taken over` },
      ).catch(() => -1);
      takeovers.push({ partitions: held, ms: got });
    }
    for (const j of o.joins ?? []) if (j === c) await startOne();
    await publishing;
    // Keep the load on for a while: the processors stay busy across kills and takeovers.
    await new Promise((r) => setTimeout(r, o.pauseMs ?? 500));
  }
  await waitFor(() => drained(o.nc, { partitions: o.partitions }), { timeoutMs: 120_000, intervalMs: 250, what: 'every message committed' });
  for (const p of alive) await p.stop();
  commits.stop();
  expect(takeovers.every((t) => t.ms >= 0), `takeovers ${JSON.stringify(takeovers)}`).toBe(true);

  const ref = reference(o.config, o.envs);
  // A kill happened while a session older than replayMs (JetStream time) was open: only the
  // checkpoint can have carried it across.
  if (replayMs !== undefined) {
    const storedAt = (device: string, ts: number): number => chunkStart[Math.floor(o.envs.findIndex((e) => e.device === device && e.readings.some((r) => r.ts === ts)) / size)]!;
    const spans = (s: SessionSummary, at: number): boolean => storedAt(s.device, s.start) < at - replayMs && storedAt(s.device, s.end) > at;
    expect(kills.some((k) => ref.sessions.some((s) => spans(s, k.at))), 'a kill while a session older than replayMs was open').toBe(true);
  }
  const stored = { alerts: await streamDump(o.nc, STREAMS.ALERTS.name), sessions: await streamDump(o.nc, STREAMS.SESSIONS.name) };
  expectOutputs(stored, ref);
  const audit = auditOwnership(commits.entries, [...stored.alerts, ...stored.sessions], o.partitions);
  const db = o.referenceDb ?? 'reference';
  await writeLines(o.influx, db, ref.points.lines);
  const live = await influxDump(o.influx, (o.config.influx as { database?: string }).database ?? 'fieldline');
  const expected = await influxDump(o.influx, db);
  expect(live.readings!.length).toBe(expected.readings!.length);
  expect(live).toEqual(expected);
  return { takeovers, alerts: stored.alerts.length, sessions: stored.sessions.length, epochs: audit.epochs };
}
