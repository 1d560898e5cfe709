import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cleanupAll, InfluxServer } from '@fieldline/harness';
import { HOUR, seedLines, T0, writeLines, writeRollups } from './seed.js';

const GRAFANA = join(import.meta.dirname, '..', '..', '..', 'deploy', 'grafana');
const dashboard = JSON.parse(readFileSync(join(GRAFANA, 'dashboards', 'fieldline-overview.json'), 'utf8'));
let influx: InfluxServer;

beforeAll(async () => {
  influx = await InfluxServer.start();
  await influx.createDatabase('fieldline');
  await writeLines(influx.url, 'fieldline', seedLines());
  await writeRollups(influx.url, 'fieldline', seedLines());
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
  expect(queries).toHaveLength(10);
  for (const q of queries) {
    // Each series query answers for its own intervals only (below): here, the one for 1 m.
    if (q.includes('$__interval_ms') && !q.includes('$__interval_ms >= 60000 AND $__interval_ms < 3600000')) continue;
    const series = await influx.query(grafana(q, '1m'), 'fieldline');
    expect(series.length, q).toBeGreaterThan(0);
  }
});

/** The Grafana macros, substituted as Grafana does for a 6 h range and an interval. */
function grafana(q: string, interval: '10s' | '1m' | '5m' | '1h' | '2h'): string {
  const ms = { '10s': 10_000, '1m': 60_000, '5m': 300_000, '1h': HOUR, '2h': 2 * HOUR }[interval];
  return q
    .replaceAll('$timeFilter', `time >= ${T0}ms AND time < ${T0 + 6 * HOUR}ms`)
    .replaceAll('$__interval_ms', String(ms))
    .replaceAll('$__interval', interval)
    .replaceAll('$device', 'pump-1')
    .replaceAll('$sensor', 'temp');
}

it('the series panel reads raw readings for short intervals and the rollups for long ones, one tier at a time, with the same band', async () => {
  const panel = dashboard.panels.find((p: { type: string }) => p.type === 'timeseries');
  const targets: { refId: string; query: string }[] = panel.targets;
  expect(targets.map((t) => t.query.match(/FROM ("[^ ]+)/)![1])).toEqual(['"readings"', '"rollup_1m"."readings_1m"', '"rollup_1h"."readings_1h"']);
  const raw = targets[0]!.query;
  for (const [interval, tier] of [['10s', 'A'], ['1m', 'B'], ['5m', 'B'], ['1h', 'C'], ['2h', 'C']] as const) {
    const answers = await Promise.all(targets.map(async (t) => [t.refId, await influx.query(grafana(t.query, interval), 'fieldline')] as const));
    const answering = answers.filter(([, s]) => s.length > 0);
    expect(answering.map(([ref]) => ref), interval).toEqual([tier]);
    // Min of mins and max of maxes: the rollup band is the raw one over the same intervals.
    const [want] = await influx.query(grafana(raw.replace(' AND $__interval_ms < 60000', ''), interval), 'fieldline');
    const got = answering[0]![1][0]!;
    expect(got.values.map((v) => [v[0], v[2], v[3]]), interval).toEqual(want!.values.map((v) => [v[0], v[2], v[3]]));
    got.values.forEach((v, i) => expect(v[1] as number).toBeCloseTo(want!.values[i]![1] as number, 9));
  }
});
