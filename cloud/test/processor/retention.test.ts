// Issue 12, checkpoints: results stay exact even when a session or baseline is older than what
// the stream still holds. A processor runs the first part of the workload and stops; TELEMETRY
// is then purged (as its retention would), the rest is published, and a new processor carries on
// from the checkpoints alone. InfluxDB, ALERTS and SESSIONS equal one uninterrupted run.
import { STREAMS } from '@fieldline/contract';
import { cleanupAll, waitFor } from '@fieldline/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drained, startProcessor, type ProcessorConfigInput } from '../../src/processor/index.js';
import { expectOutputs, influxDump, publishAll, reference, streamDump, writeLines } from './audit.js';
import { PARTITIONS, silentLogger, startServices, stopServices, type Services, KEEP_FOREVER } from './helpers.js';
import { workload } from './workload.js';

describe('restart after the stream dropped the history (checkpoints only)', () => {
  let s: Services | undefined;
  beforeAll(async () => {
    s = await startServices();
  });
  afterAll(async () => {
    await stopServices(s);
    cleanupAll();
  });

  it('sessions and detector state older than the stream carry over exactly', async () => {
    const envs = workload({ devices: 6, envelopes: 300, seed: 31 });
    const cut = Math.floor(envs.length * 0.6);
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
    const isDrained = () => drained(s!.nc, { partitions: PARTITIONS });

    const first = await startProcessor(config(), { logger: silentLogger });
    await publishAll(s!.js, envs.slice(0, cut), PARTITIONS);
    await waitFor(isDrained, { timeoutMs: 60_000, intervalMs: 100, what: 'the first part committed' });
    await first.close();

    const jsm = await s!.nc.jetstreamManager();
    await jsm.streams.purge(STREAMS.TELEMETRY.name);
    expect((await jsm.streams.info(STREAMS.TELEMETRY.name)).state.messages).toBe(0);
    await publishAll(s!.js, envs.slice(cut), PARTITIONS);

    const second = await startProcessor(config(), { logger: silentLogger });
    await waitFor(isDrained, { timeoutMs: 60_000, intervalMs: 100, what: 'the rest committed' });
    const states = (await second.metrics.takeovers.get()).values.filter((v) => v.value > 0).map((v) => v.labels.state);
    await second.close();
    expect(states).toEqual(Array(PARTITIONS).fill('checkpoint'));

    const ref = reference(config(), envs);
    // The point of the test: some session began in the purged part and ended after it.
    const firstAfter = new Map<string, number>();
    for (const e of envs.slice(cut)) for (const r of e.readings) firstAfter.set(e.device, Math.min(firstAfter.get(e.device) ?? Infinity, r.ts));
    expect(ref.sessions.some((x) => x.start < firstAfter.get(x.device)! && x.end >= firstAfter.get(x.device)!)).toBe(true);

    const stored = { alerts: await streamDump(s!.nc, STREAMS.ALERTS.name), sessions: await streamDump(s!.nc, STREAMS.SESSIONS.name) };
    expect(stored.alerts).toHaveLength(ref.alerts.length);
    expect(stored.sessions).toHaveLength(ref.sessions.length);
    expectOutputs(stored, ref);
    await writeLines(s!.influx, 'reference', ref.points.lines);
    expect(await influxDump(s!.influx, 'fieldline')).toEqual(await influxDump(s!.influx, 'reference'));
  });
});
