import { cleanupAll, waitFor } from '@fieldline/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionProgress, startProcessor, type Processor } from '../../src/processor/index.js';
import { PARTITIONS, baseConfig, envelope, publish, queryRows, silentLogger, startServices, stopServices, type Services } from './helpers.js';

describe('processor while InfluxDB is down', () => {
  let s: Services | undefined;
  let p: Processor | undefined;
  beforeAll(async () => {
    s = await startServices();
    p = await startProcessor(baseConfig(s, { sink: { flushIntervalMs: 100, maxRetries: 1, retryBaseMs: 50, retryMaxMs: 400 } }), { logger: silentLogger });
  });
  afterAll(async () => {
    await p?.close();
    await stopServices(s);
    cleanupAll();
  });

  it('holds the ack and retries (healthz 503), then writes everything once InfluxDB is back', async () => {
    const pending = async () => (await partitionProgress(s!.nc, { partitions: PARTITIONS })).reduce((n, x) => n + (x.last > x.committed ? 1 : 0), 0);
    await s!.influx.stop();
    const t0 = Date.UTC(2026, 0, 7);
    await publish(s!.js, envelope('outage', Array.from({ length: 10 }, (_, i) => ({ sensor: 's', ts: t0 + i * 1000, value: i }))));
    await waitFor(async () => (await fetch(`http://127.0.0.1:${p!.httpPort}/healthz`)).status === 503, { timeoutMs: 20_000, what: 'healthz to report the failing sink' });
    expect(await pending()).toBe(1);
    await s!.influx.start();
    const rows = await waitFor(async () => {
      const r = await queryRows(s!.influx, `SELECT value FROM readings WHERE device='outage'`);
      return r.length === 10 ? r : null;
    }, { timeoutMs: 30_000, what: 'the readings after the outage' });
    expect(rows.map((r) => r.value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await waitFor(async () => (await pending()) === 0, { timeoutMs: 10_000, what: 'the ack' });
    expect((await fetch(`http://127.0.0.1:${p!.httpPort}/healthz`)).status).toBe(200);
    expect((await p!.metrics.sinkRetries.get()).values[0]!.value).toBeGreaterThan(0);
  });
});
