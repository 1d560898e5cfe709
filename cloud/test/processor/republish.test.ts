// Fault scenario 8 (issue 11) and the defect of issue 12: processors restarted several times,
// partitions idle in between, must never publish an alert or a session twice. The ALERTS and
// SESSIONS streams get a 100 ms duplicate window, so JetStream's msg-id dedup hides nothing.
import { STREAMS } from '@fieldline/contract';
import { cleanupAll, waitFor } from '@fieldline/harness';
import { nanos } from 'nats';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drained, startProcessor, type ProcessorConfigInput } from '../../src/processor/index.js';
import { auditOwnership, expectOutputs, influxDump, publishAll, recordCommits, reference, streamDump, writeLines, type CommitEntry } from './audit.js';
import { ProcessorProcess } from './child.js';
import { PARTITIONS, silentLogger, startServices, stopServices, type Services, KEEP_FOREVER } from './helpers.js';
import { workload } from './workload.js';

describe('processor restarts never republish (scenario 8)', () => {
  let s: Services | undefined;
  let commits: { entries: CommitEntry[]; stop(): void } | undefined;
  const envs = workload({ devices: 6, envelopes: 300 });
  const phase1 = envs.slice(0, Math.floor(envs.length * 0.7));
  const phase2 = envs.slice(phase1.length);
  const config = (): ProcessorConfigInput => ({
    nats: { servers: [s!.nats.url] },
    influx: { url: s!.influx.url, database: 'fieldline' },
    tiers: KEEP_FOREVER,
    partitions: { count: PARTITIONS },
    sink: { flushIntervalMs: 100 },
    coordination: { leaseMs: 3000, renewMs: 500, checkpointMs: 500 },
    detectors: [{ rule: 'anomaly', type: 'anomaly' }, { rule: 'stuck', type: 'flatline' }, { rule: 'dropout', type: 'dropout' }, { rule: 'hot', type: 'threshold', severity: 'critical', params: { above: 30 } }],
  });
  const isDrained = () => drained(s!.nc, { partitions: PARTITIONS });

  beforeAll(async () => {
    s = await startServices();
    const jsm = await s.nc.jetstreamManager();
    for (const spec of [STREAMS.ALERTS, STREAMS.SESSIONS]) await jsm.streams.add({ name: spec.name, subjects: [...spec.subjects], duplicate_window: nanos(100) });
    commits = await recordCommits(s.nc);
  });
  afterAll(async () => {
    commits?.stop();
    await stopServices(s);
    cleanupAll();
  });

  it('restarted (cleanly and by kill -9) with idle partitions, every alert and session is stored exactly once', async () => {
    let p = await ProcessorProcess.start('r0', config());
    await publishAll(s!.js, phase1, PARTITIONS);
    await waitFor(isDrained, { timeoutMs: 60_000, intervalMs: 200, what: 'phase 1 committed' });
    // Every partition idle now: restart, alternately cleanly and by kill -9, each time until it owns all again.
    for (let i = 1; i <= 5; i++) {
      if (i % 2) await p.kill();
      else await p.stop();
      await new Promise((r) => setTimeout(r, 200));
      p = await ProcessorProcess.start(`r${i}`, config());
      await waitFor(async () => (await p.owned()).length === PARTITIONS && p.lines(/live$/).length === PARTITIONS, { timeoutMs: 30_000, intervalMs: 100, what: `restart ${i}: every partition live` });
    }
    await publishAll(s!.js, phase2, PARTITIONS);
    await waitFor(isDrained, { timeoutMs: 60_000, intervalMs: 200, what: 'phase 2 committed' });
    await p.kill();
    p = await ProcessorProcess.start('r6', config());
    await waitFor(async () => p.lines(/live$/).length === PARTITIONS, { timeoutMs: 30_000, intervalMs: 100, what: 'last restart live' });
    // The last restarts took their state from checkpoints.
    expect(p.lines(/live$/).map((l) => l.state)).toEqual(Array(PARTITIONS).fill('checkpoint'));
    await p.stop();

    const ref = reference(config(), envs);
    const stored = { alerts: await streamDump(s!.nc, STREAMS.ALERTS.name), sessions: await streamDump(s!.nc, STREAMS.SESSIONS.name) };
    expect(ref.alerts.length).toBeGreaterThan(20);
    expect(ref.sessions.length).toBeGreaterThan(10);
    expect(stored.alerts).toHaveLength(ref.alerts.length);
    expect(stored.sessions).toHaveLength(ref.sessions.length);
    expectOutputs(stored, ref);
    const audit = auditOwnership(commits!.entries, [...stored.alerts, ...stored.sessions], PARTITIONS);
    // At least one takeover per partition per restart (more if a loaded machine let a lease lapse).
    expect(audit.takeovers).toBeGreaterThanOrEqual(6 * PARTITIONS);
    await writeLines(s!.influx, 'reference', ref.points.lines);
    expect(await influxDump(s!.influx, 'fieldline')).toEqual(await influxDump(s!.influx, 'reference'));
    // Seven processor processes started, three leases left to expire: 25 s alone, past the default
    // 60 s twice inside a whole loaded `npm test` (its own waits allow more than that).
  }, 180_000);

  it('outputs a crashed owner published past its last commit are found on takeover and not published again', async () => {
    // A clean run leaves every partition committed and closed; the commit records are then set
    // back (as if the owner had published a batch's alerts and sessions and died before its
    // commit), without a checkpoint (so the state is replayed).
    const before = { alerts: await streamDump(s!.nc, STREAMS.ALERTS.name), sessions: await streamDump(s!.nc, STREAMS.SESSIONS.name) };
    const kv = await s!.nc.jetstream().views.kv('fl_processor');
    for (let part = 0; part < PARTITIONS; part++) {
      const e = (await kv.get(`processor.commit.${part}`))!;
      const c = e.json<CommitEntry>();
      await kv.update(`processor.commit.${part}`, JSON.stringify({ ...c, from: Math.floor(c.seq / 2) + 1, seq: Math.floor(c.seq / 2), checkpoint: null, closed: false }), e.revision);
    }
    const p = await startProcessor({ ...config(), http: { port: null } }, { logger: silentLogger });
    await waitFor(isDrained, { timeoutMs: 60_000, intervalMs: 200, what: 'reprocessed' });
    const skipped = (await p.metrics.republishSkipped.get()).values[0]?.value ?? 0;
    await p.close();
    expect(skipped).toBeGreaterThan(5);
    const after = { alerts: await streamDump(s!.nc, STREAMS.ALERTS.name), sessions: await streamDump(s!.nc, STREAMS.SESSIONS.name) };
    expect(after.alerts.map((m) => m.data)).toEqual(before.alerts.map((m) => m.data));
    expect(after.sessions.map((m) => m.data)).toEqual(before.sessions.map((m) => m.data));
  });

  it('a corrupt checkpoint is a warning and a replay, never a crash, and the results stay exact', async () => {
    const before = await influxDump(s!.influx, 'fieldline');
    const alertsBefore = await streamDump(s!.nc, STREAMS.ALERTS.name);
    const kv = await s!.nc.jetstream().views.kv('fl_processor');
    const os = await s!.nc.jetstream().views.os('fl_checkpoints');
    // Roll every partition back to its checkpoint (so its messages since are reprocessed) and break the checkpoint's bytes.
    for (let part = 0; part < PARTITIONS; part++) {
      const e = (await kv.get(`processor.commit.${part}`))!;
      const c = e.json<CommitEntry>();
      expect(c.checkpoint).not.toBeNull();
      const bytes = (await os.getBlob(c.checkpoint!.name))!;
      bytes[bytes.length >> 1]! ^= 0x5a;
      await os.putBlob({ name: c.checkpoint!.name }, bytes);
    }
    const warnings: { msg: string; partition?: number }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line) as { msg: string }) });
    const p = await startProcessor({ ...config(), http: { port: null } }, { logger });
    await waitFor(async () => p.owned().length === PARTITIONS && p.owned().every((x) => x.live), { timeoutMs: 30_000, what: 'every partition live' });
    const refused = (await p.metrics.checkpointsRefused.get()).values[0]?.value ?? 0;
    const states = (await p.metrics.takeovers.get()).values.filter((v) => v.value > 0).map((v) => v.labels.state);
    await p.close();
    expect(refused).toBe(PARTITIONS);
    expect(states).toEqual(Array(PARTITIONS).fill('replay'));
    expect(warnings.filter((w) => w.msg === 'checkpoint unusable; re-deriving the state by replay').map((w) => w.partition).sort()).toEqual([0, 1, 2, 3]);
    expect(await influxDump(s!.influx, 'fieldline')).toEqual(before);
    expect((await streamDump(s!.nc, STREAMS.ALERTS.name)).map((m) => m.data)).toEqual(alertsBefore.map((m) => m.data));
  });
});
