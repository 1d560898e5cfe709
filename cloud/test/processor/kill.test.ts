// kill -9 of processors at random moments under load (the fast subset of test/scale/kill.scale.ts):
// InfluxDB, ALERTS and SESSIONS afterwards equal one uninterrupted run, compared exactly.
import { cleanupAll } from '@fieldline/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKillScenario } from './kill-scenario.js';
import { PARTITIONS, startServices, stopServices, type Services, KEEP_FOREVER } from './helpers.js';
import { workload } from './workload.js';

describe('processor kill -9 (real processes)', () => {
  let s: Services | undefined;
  beforeAll(async () => {
    s = await startServices();
  });
  afterAll(async () => {
    await stopServices(s);
    cleanupAll();
  });

  it('two processors, killed twice at random moments (sessions older than replayMs open): results exact', async () => {
    const r = await runKillScenario({
      nc: s!.nc,
      influx: s!.influx,
      partitions: PARTITIONS,
      processors: 2,
      chunks: 6,
      kills: [{ chunk: 2 }, { chunk: 4 }],
      envs: workload({ devices: 6, envelopes: 300, seed: 3 }),
      config: {
        nats: { servers: [s!.nats.url] },
        influx: { url: s!.influx.url, database: 'fieldline' },
        tiers: KEEP_FOREVER,
        partitions: { count: PARTITIONS },
        sink: { flushIntervalMs: 100 },
        consumer: { replayMs: 1000 },
        coordination: { leaseMs: 3000, renewMs: 500, checkpointMs: 500 },
        detectors: [{ rule: 'anomaly', type: 'anomaly' }, { rule: 'stuck', type: 'flatline' }, { rule: 'dropout', type: 'dropout' }, { rule: 'hot', type: 'threshold', severity: 'critical', params: { above: 30 } }],
      },
    });
    console.log(`takeover after kill -9 (loaded machine, leaseMs 3000): ${r.takeovers.map((t) => `${t.ms} ms for ${t.partitions.length} partitions`).join(', ')}`);
    expect(r.takeovers).toHaveLength(2);
    expect(r.alerts).toBeGreaterThan(10);
  }, 240_000);
});
