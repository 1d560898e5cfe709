import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Health, startOpsServer, type HealthReport } from '../src/index.js';

describe('ops server', () => {
  it('answers /healthz and /readyz with one JSON shape, and /metrics', async () => {
    let natsUp = true;
    const health = new Health({ service: 'test', version: '1.2.3', checks: { nats: () => ({ ok: natsUp, detail: natsUp ? 'connected' : 'disconnected' }) } });
    const registry = new Registry();
    new Counter({ name: 'test_things_total', help: 'things', registers: [registry] }).inc(3);
    const ops = await startOpsServer({ port: 0, health, metrics: registry });
    const get = async (path: string): Promise<{ status: number; body: string }> => {
      const res = await fetch(`http://127.0.0.1:${ops.port}${path}`);
      return { status: res.status, body: await res.text() };
    };
    try {
      expect((await get('/healthz')).status).toBe(200);
      const starting = await get('/readyz');
      expect(starting.status).toBe(503);
      const report = JSON.parse(starting.body) as HealthReport;
      expect(Object.keys(report)).toEqual(['service', 'version', 'status', 'ready', 'uptime_s', 'checks']);
      expect(report).toMatchObject({ service: 'test', version: '1.2.3', status: 'ok', ready: false, checks: { nats: { ok: true, detail: 'connected' } } });
      health.setState('ready');
      expect((await get('/readyz')).status).toBe(200);
      natsUp = false;
      expect((await get('/healthz')).status).toBe(503);
      expect(JSON.parse((await get('/readyz')).body)).toMatchObject({ status: 'failing', ready: false });
      natsUp = true;
      health.setState('stopping');
      expect((await get('/readyz')).status).toBe(503);
      expect((await get('/healthz')).status).toBe(200);
      expect((await get('/metrics')).body).toContain('test_things_total 3');
      expect((await get('/nope')).status).toBe(404);
    } finally {
      await ops.close();
    }
  });
});
