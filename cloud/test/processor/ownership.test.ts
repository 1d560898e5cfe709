// Several processors share the partitions through leases: one joins, one leaves, and the
// results are exactly those of one uninterrupted processor; the commit records and the lease
// epochs on every alert and session show that no two owners ever wrote a partition at once.
import { STREAMS } from '@fieldline/contract';
import { cleanupAll, waitFor } from '@fieldline/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignPartitions, drained, partitionProgress, startProcessor, type Processor, type ProcessorConfigInput } from '../../src/processor/index.js';
import { auditOwnership, expectOutputs, influxDump, publishAll, recordCommits, reference, streamDump, writeLines, type CommitEntry } from './audit.js';
import { PARTITIONS, silentLogger, startServices, stopServices, type Services, KEEP_FOREVER } from './helpers.js';
import { workload } from './workload.js';

describe('partition assignment', () => {
  it('gives every member ⌊P/n⌋ or ⌈P/n⌉ partitions, the same whatever order the members are listed in', () => {
    for (const p of [1, 4, 8, 13, 64]) {
      for (let n = 1; n <= 6; n++) {
        const members = Array.from({ length: n }, (_, i) => `proc-${i}-x${(i * 7919) % 101}`);
        const a = assignPartitions(members, p);
        expect(assignPartitions([...members].reverse(), p)).toEqual(a);
        const load = members.map((m) => a.filter((x) => x === m).length);
        expect(Math.max(...load)).toBeLessThanOrEqual(Math.ceil(p / n));
        expect(load.reduce((x, y) => x + y, 0)).toBe(p);
      }
    }
  });

  it('a member joining takes partitions from the others; the rest mostly stay where they are', () => {
    const before = assignPartitions(['a', 'b'], 8);
    const after = assignPartitions(['a', 'b', 'c'], 8);
    const moved = before.filter((m, p) => after[p] !== m).length;
    expect(after.filter((m) => m === 'c').length).toBeGreaterThanOrEqual(2);
    expect(moved).toBeLessThanOrEqual(5);
  });
});

describe('processors sharing partitions (leases in NATS KV)', () => {
  let s: Services | undefined;
  let commits: { entries: CommitEntry[]; stop(): void } | undefined;
  const running: Processor[] = [];
  const envs = workload({ devices: 8, envelopes: 240, seed: 5 });
  const config = (): ProcessorConfigInput => ({
    nats: { servers: [s!.nats.url] },
    influx: { url: s!.influx.url, database: 'fieldline' },
    tiers: KEEP_FOREVER,
    partitions: { count: PARTITIONS },
    sink: { flushIntervalMs: 100 },
    http: { port: null },
    coordination: { leaseMs: 2000, renewMs: 400, checkpointMs: 300 },
    detectors: [{ rule: 'anomaly', type: 'anomaly' }, { rule: 'stuck', type: 'flatline' }, { rule: 'dropout', type: 'dropout' }, { rule: 'hot', type: 'threshold', severity: 'critical', params: { above: 30 } }],
  });
  const start = async (): Promise<Processor> => {
    const p = await startProcessor(config(), { logger: silentLogger });
    running.push(p);
    return p;
  };
  const owned = (p: Processor): number[] => p.owned().map((x) => x.partition);

  beforeAll(async () => {
    s = await startServices();
    commits = await recordCommits(s.nc);
  });
  afterAll(async () => {
    commits?.stop();
    for (const p of running) await p.close().catch(() => undefined);
    await stopServices(s);
    cleanupAll();
  });

  it('one joins, one leaves, one joins later: load rebalances, results equal one uninterrupted run', async () => {
    const thirds = [envs.slice(0, 240), envs.slice(240, 480), envs.slice(480)];
    const a = await start();
    expect(owned(a)).toEqual([0, 1, 2, 3]);
    await publishAll(s!.js, thirds[0]!, PARTITIONS, 8);
    const b = await start();
    // Balancing hands partitions over only to a member seen live for leaseMs.
    await waitFor(() => owned(a).length === 2 && owned(b).length === 2 && b.owned().every((x) => x.live), { timeoutMs: 20_000, what: 'two processors with two partitions each' });
    await publishAll(s!.js, thirds[1]!, PARTITIONS, 8);
    // A clean stop hands every partition over with a checkpoint: the survivor replays nothing.
    await a.close();
    await waitFor(() => owned(b).length === PARTITIONS && b.owned().every((x) => x.live), { timeoutMs: 20_000, what: 'b to own everything' });
    const c = await start();
    await publishAll(s!.js, thirds[2]!, PARTITIONS, 8);
    await waitFor(() => owned(b).length === 2 && owned(c).length === 2, { timeoutMs: 20_000, what: 'b and c to share' });
    await waitFor(() => drained(s!.nc, { partitions: PARTITIONS }), { timeoutMs: 60_000, intervalMs: 200, what: 'everything committed' });
    const takeover = [...(await b.metrics.takeoverSeconds.get()).values, ...(await c.metrics.takeoverSeconds.get()).values].filter((v) => v.metricName?.endsWith('_sum') || v.metricName?.endsWith('_count'));
    expect([b, c].flatMap((p) => owned(p)).sort()).toEqual([0, 1, 2, 3]);
    // Ownership and epochs are in /metrics: what each holds, at the epoch its commit records carry.
    const progress = await partitionProgress(s!.nc, { partitions: PARTITIONS });
    for (const p of [b, c]) {
      const text = await p.metrics.registry.metrics();
      for (const { partition, epoch } of p.owned()) {
        expect(text).toContain(`fieldline_processor_partition_owned{partition="${partition}"} 1`);
        expect(text).toContain(`fieldline_processor_lease_epoch{partition="${partition}"} ${epoch}`);
        expect(progress[partition]!.epoch).toBe(epoch);
        expect(progress[partition]!.owner).toBe(p.id);
      }
    }
    await b.close();
    await c.close();
    const sum = takeover.filter((v) => v.metricName!.endsWith('_sum')).reduce((n, v) => n + v.value, 0);
    const count = takeover.filter((v) => v.metricName!.endsWith('_count')).reduce((n, v) => n + v.value, 0);
    console.log(`takeovers (in-process, loaded machine): ${count}, mean ${((1000 * sum) / count).toFixed(0)} ms from lease to live`);

    const ref = reference(config(), envs);
    const stored = { alerts: await streamDump(s!.nc, STREAMS.ALERTS.name), sessions: await streamDump(s!.nc, STREAMS.SESSIONS.name) };
    expectOutputs(stored, ref);
    const audit = auditOwnership(commits!.entries, [...stored.alerts, ...stored.sessions], PARTITIONS);
    expect(audit.takeovers).toBeGreaterThanOrEqual(4);
    // Outputs came from more than one owner per partition over the run.
    expect(new Set([...stored.alerts, ...stored.sessions].map((m) => `${m.partition}:${m.epoch}`)).size).toBeGreaterThan(PARTITIONS);
    await writeLines(s!.influx, 'reference', ref.points.lines);
    expect(await influxDump(s!.influx, 'fieldline')).toEqual(await influxDump(s!.influx, 'reference'));
  });
});
