import { waitFor } from '@fieldline/harness';
import { describe, expect, it } from 'vitest';
import { partitionProgress } from '../../src/processor/index.js';
import { envelope, processorFixture, publish, queryRows } from './helpers.js';

describe('processor walking skeleton (real nats-server + influxd 1.6)', () => {
  const rig = processorFixture();

  it('writes each reading to InfluxDB readings with its tags and event time, then acks', async () => {
    const t0 = Date.UTC(2026, 0, 5, 12);
    const readings = Array.from({ length: 20 }, (_, i) => ({ sensor: 'temp', ts: t0 + i * 1000 + 0.5, value: 20 + i / 10, unit: 'C' }));
    await publish(rig.services.js, envelope('dev-a', readings));
    const rows = await waitFor(async () => {
      const r = await queryRows(rig.services.influx, `SELECT value, quality, unit FROM readings WHERE device='dev-a' GROUP BY *`);
      return r.length === 20 ? r : null;
    }, { timeoutMs: 20_000, what: '20 readings in InfluxDB' });
    // Sparse fields (docs/influxdb-schema.md): no `quality` means good; `unit` on the envelope's first reading of the sensor.
    expect(rows.map((r) => [r.sensor, r.time, r.value, r.unit, r.quality])).toEqual(readings.map((x, i) => ['temp', Math.floor(x.ts), x.value, i === 0 ? 'C' : null, null]));
    const [last] = await queryRows(rig.services.influx, `SELECT last("unit") AS "unit" FROM readings WHERE device='dev-a'`);
    expect(last?.unit).toBe('C');
    expect(rig.processor.influx.api).toBe('v1');
    const jsm = await rig.services.nc.jetstreamManager();
    const streams = (await jsm.streams.names().next()).sort();
    // Plus the KV bucket of leases and commits, and the Object Store of checkpoints.
    expect(streams).toEqual(['ALERTS', 'DEADLETTER', 'KV_fl_processor', 'OBJ_fl_checkpoints', 'SESSIONS', 'TELEMETRY']);
    await waitFor(async () => {
      const progress = await partitionProgress(rig.services.nc, { partitions: 4 });
      return progress.every((x) => x.committed >= x.last) && progress.some((x) => x.committed === 1);
    }, { timeoutMs: 10_000, what: 'the message to be committed' });
    const health = await fetch(`http://127.0.0.1:${rig.processor.httpPort}/healthz`);
    expect(health.status).toBe(200);
  });
});
