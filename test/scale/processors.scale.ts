// Scale-out and exact restart on real processes (issue 12, "Done when"): kill -9 of processors at
// random moments, and three processors sharing P = 8 while one is killed under load and one joins.
import { cleanupAll, InfluxServer, NatsServer } from '@fieldline/harness';
import { connect, type NatsConnection } from 'nats';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runKillScenario } from '../../cloud/test/processor/kill-scenario.js';
import { workload } from '../../cloud/test/processor/workload.js';
import type { ProcessorConfigInput } from '../../cloud/src/processor/index.js';
import { KEEP_FOREVER } from '../../cloud/test/processor/helpers.js';

const P = 8;
let nats: NatsServer;
let influx: InfluxServer;
let nc: NatsConnection;

beforeEach(async () => {
  [nats, influx] = await Promise.all([NatsServer.start(), InfluxServer.start()]);
  nc = await connect({ servers: nats.url });
});
afterEach(async () => {
  await nc.close();
  await Promise.all([nats.stop(), influx.stop()]);
  cleanupAll();
});

const config = (): ProcessorConfigInput => ({
  nats: { servers: [nats.url] },
  influx: { url: influx.url, database: 'fieldline' },
  tiers: KEEP_FOREVER,
  partitions: { count: P },
  sink: { flushIntervalMs: 100 },
  // Far shorter than any session: only the checkpoints can carry state across a kill.
  consumer: { replayMs: 1000 },
  coordination: { checkpointMs: 1000 },
  detectors: [{ rule: 'anomaly', type: 'anomaly' }, { rule: 'stuck', type: 'flatline' }, { rule: 'dropout', type: 'dropout' }, { rule: 'hot', type: 'threshold', severity: 'critical', params: { above: 30 } }],
});

describe('processors at scale (real processes, P = 8)', () => {
  it('kill -9 of a processor at 5 random moments: InfluxDB, sessions and alerts equal an uninterrupted run', async () => {
    const r = await runKillScenario({
      nc,
      influx,
      partitions: P,
      processors: 2,
      chunks: 12,
      kills: [2, 4, 6, 8, 10].map((chunk) => ({ chunk })),
      envs: workload({ devices: 16, envelopes: 400, seed: 21 }),
      config: config(),
      pauseMs: 1500,
      seed: 5,
    });
    console.log(`kill -9 x5, takeover (default lease 5 s, loaded machine): ${r.takeovers.map((t) => `${t.ms} ms/${t.partitions.length}p`).join(', ')}; ${r.alerts} alerts, ${r.sessions} sessions, ${r.epochs} epochs`);
    expect(r.takeovers).toHaveLength(5);
    expect(Math.max(...r.takeovers.map((t) => t.ms))).toBeLessThan(10_000);
  });

  it('three processors, one killed under load and one joining later: one owner at a time, results equal a single-processor run', async () => {
    const r = await runKillScenario({
      nc,
      influx,
      partitions: P,
      processors: 3,
      chunks: 10,
      kills: [{ chunk: 3, replace: false }],
      joins: [6],
      envs: workload({ devices: 16, envelopes: 400, seed: 22 }),
      config: config(),
      pauseMs: 1500,
      seed: 9,
    });
    const t = r.takeovers[0]!;
    console.log(`three processors, P = 8: takeover of ${t.partitions.length} partitions ${t.ms} ms after kill -9 (default lease 5 s, loaded machine); ${r.epochs} epochs`);
    expect(t.partitions.length).toBeGreaterThan(0);
    expect(t.ms).toBeLessThan(10_000);
  });
});
