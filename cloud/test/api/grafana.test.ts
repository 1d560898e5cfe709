import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cleanupAll, InfluxServer } from '@fieldline/harness';
import { HOUR, seedLines, T0, writeLines } from './seed.js';

const GRAFANA = join(import.meta.dirname, '..', '..', '..', 'deploy', 'grafana');
const dashboard = JSON.parse(readFileSync(join(GRAFANA, 'dashboards', 'fieldline-overview.json'), 'utf8'));
let influx: InfluxServer;

beforeAll(async () => {
  influx = await InfluxServer.start();
  await influx.createDatabase('fieldline');
  await writeLines(influx.url, 'fieldline', seedLines());
});

afterAll(async () => {
  await influx?.stop();
  cleanupAll();
});

it('provisions an InfluxQL datasource whose uid the dashboard uses, and loads the dashboard folder', () => {
  const ds = parse(readFileSync(join(GRAFANA, 'provisioning', 'datasources', 'fieldline.yaml'), 'utf8'));
  const uids = ds.datasources.map((d: { uid: string }) => d.uid);
  expect(uids).toContain('fieldline-influxql');
  const used = new Set([...JSON.stringify(dashboard).matchAll(/"type":"influxdb","uid":"([^"]+)"/g)].map((m) => m[1]));
  expect([...used]).toEqual(['fieldline-influxql']);
  const prov = parse(readFileSync(join(GRAFANA, 'provisioning', 'dashboards', 'fieldline.yaml'), 'utf8'));
  expect(prov.providers[0]).toMatchObject({ type: 'file', options: { path: expect.any(String) } });
});

it('every InfluxQL query of the dashboard runs on real InfluxDB 1.x and finds the seeded data', async () => {
  const queries: string[] = [
    ...dashboard.panels.flatMap((p: { targets: { query: string }[] }) => p.targets.map((t) => t.query)),
    ...dashboard.annotations.list.filter((a: { query?: string }) => a.query).map((a: { query: string }) => a.query),
    ...dashboard.templating.list.map((v: { query: string }) => v.query),
  ];
  expect(queries).toHaveLength(8);
  for (const q of queries) {
    const text = q
      .replaceAll('$timeFilter', `time >= ${T0}ms AND time < ${T0 + 6 * HOUR}ms`)
      .replaceAll('$__interval', '1m')
      .replaceAll('$device', 'pump-1')
      .replaceAll('$sensor', 'temp');
    const series = await influx.query(text, 'fieldline');
    expect(series.length, text).toBeGreaterThan(0);
  }
});
