// Issue 16: an alert leaves for ALERTS when the pipeline raises it, not with the InfluxDB batch.
// With InfluxDB down the batch cannot be written (nor committed), yet the alerts arrive on
// fl.alerts.>; a processor killed then and its successor (InfluxDB back) store each alert once.
// ALERTS gets a 100 ms duplicate window, so JetStream's msg-id dedup hides nothing.
import { STREAMS, type AlertEvent } from '@fieldline/contract';
import { cleanupAll, waitFor } from '@fieldline/harness';
import { nanos } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drained, partitionProgress, startProcessor, type ProcessorConfigInput } from '../../src/processor/index.js';
import { influxDump, reference, streamDump, writeLines } from './audit.js';
import { ProcessorProcess } from './child.js';
import { PARTITIONS, envelope, publish, silentLogger, startServices, stopServices, type Services, KEEP_FOREVER } from './helpers.js';

describe('alerts do not wait for the InfluxDB batch', () => {
  let s: Services | undefined;
  beforeAll(async () => {
    s = await startServices();
    const jsm = await s.nc.jetstreamManager();
    await jsm.streams.add({ name: STREAMS.ALERTS.name, subjects: [...STREAMS.ALERTS.subjects], duplicate_window: nanos(100) });
  });
  afterAll(async () => {
    await stopServices(s);
    cleanupAll();
  });

  it('with InfluxDB down an alert still arrives on fl.alerts.>; after a kill -9 and a restart it is stored once', async () => {
    const config = (): ProcessorConfigInput => ({
      nats: { servers: [s!.nats.url] },
      influx: { url: s!.influx.url, database: 'fieldline' },
      tiers: KEEP_FOREVER,
      partitions: { count: PARTITIONS },
      sink: { flushIntervalMs: 100, retryBaseMs: 50, retryMaxMs: 400 },
      coordination: { leaseMs: 2000, renewMs: 300 },
      detectors: [{ rule: 'hot', type: 'threshold', severity: 'critical', params: { above: 30 } }],
    });
    const seen: AlertEvent[] = [];
    const sub = s!.nc.subscribe('fl.alerts.>', { callback: (_err, m) => void seen.push(m.json<AlertEvent>()) });
    const first = await ProcessorProcess.start('early-0', config());
    await s!.influx.stop();
    const t0 = Date.UTC(2026, 0, 9);
    // Two devices, each above the limit and back: an alert each.
    const envs = ['early-a', 'early-b'].map((device) =>
      envelope(
        device,
        [20, 21, 35, 36, 22, 21].map((value, i) => ({ sensor: 't', ts: t0 + i * 1000, value })),
      ),
    );
    const ref = reference(config(), envs);
    expect(ref.alerts.map((a) => `${a.device}:${a.state}`).sort()).toEqual(['early-a:firing', 'early-b:firing']);
    for (const e of envs) await publish(s!.js, e);
    await waitFor(() => seen.length >= ref.alerts.length || null, { timeoutMs: 20_000, intervalMs: 50, what: 'the alerts on fl.alerts.> while InfluxDB is down' });
    expect(seen.map((a) => JSON.stringify(a)).sort()).toEqual(ref.alerts.map((a) => JSON.stringify(a)).sort());
    // Nothing is committed (acked) yet: the readings are not in InfluxDB.
    const progress = await partitionProgress(s!.nc, { partitions: PARTITIONS });
    expect(progress.filter((x) => x.last > x.committed).length).toBeGreaterThan(0);
    expect(progress.reduce((n, x) => n + x.committed, 0)).toBe(0);

    // Killed with its batch unwritten: the successor redoes it, finding the alerts already stored.
    await first.kill();
    await s!.influx.start();
    const second = await startProcessor({ ...config(), http: { port: null } }, { logger: silentLogger });
    await waitFor(() => drained(s!.nc, { partitions: PARTITIONS }), { timeoutMs: 30_000, intervalMs: 100, what: 'every message committed' });
    const skipped = (await second.metrics.republishSkipped.get()).values[0]?.value ?? 0;
    await second.close();
    sub.unsubscribe();

    expect(skipped).toBe(ref.alerts.length);
    const alerts = await streamDump(s!.nc, STREAMS.ALERTS.name);
    expect(new Set(alerts.map((m) => m.msgId)).size).toBe(alerts.length);
    expect(alerts.map((m) => m.data).sort()).toEqual(ref.alerts.map((a) => JSON.stringify(a)).sort());
    // Core NATS saw each alert once: the successor published none again.
    expect(seen).toHaveLength(ref.alerts.length);
    await writeLines(s!.influx, 'reference', ref.points.lines);
    expect(await influxDump(s!.influx, 'fieldline')).toEqual(await influxDump(s!.influx, 'reference'));
  });
});
