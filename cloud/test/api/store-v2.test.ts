/**
 * The InfluxDB 2.x (Flux) path. Only 1.x runs here, so this stands up a stand-in for the 2.x
 * HTTP API (`/ping`, `/api/v2/query` answering annotated CSV as 2.x does) and checks what the API
 * sends (Flux text, org, token) and how it reads the answer.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadApiConfig, startApi, type ApiHandle } from '../../src/api/index.js';
import { bucketing, flux } from '../../src/api/query-text.js';
import { KEEP_FOREVER } from '../processor/helpers.js';

const T = Date.parse('2026-01-01T00:00:00Z');
const TOKEN = 'v2-api-token-0123456789';
const seen: { url: string; auth?: string; query: string }[] = [];
let server: Server;
let api: ApiHandle;

const csv = (types: string[], cols: string[], rows: string[][]): string =>
  [`#datatype,string,long,${types.join(',')}`, `#group,false,false,${types.map(() => 'false').join(',')}`, `#default,_result,,${types.map(() => '').join(',')}`,
    `,result,table,${cols.join(',')}`, ...rows.map((r) => `,,0,${r.join(',')}`)].join('\r\n') + '\r\n\r\n';

function answer(query: string): string {
  if (query.includes('"readings_1m"')) {
    return csv(['dateTime:RFC3339', 'double', 'double', 'double', 'double'], ['_time', 'count', 'max', 'min', 'sum'], [
      ['2026-01-01T00:00:00Z', '4', '9', '0.5', '10'],
      ['2026-01-01T00:30:00Z', '2', '7', '3.5', '11'],
    ]);
  }
  if (query.includes('aggregateWindow')) {
    return csv(['dateTime:RFC3339', 'double', 'double', 'double'], ['_time', 'max', 'mean', 'min'], [
      ['2026-01-01T00:00:00Z', '3', '2', '1'],
      ['2026-01-01T00:30:00Z', '6', '5', '4'],
    ]);
  }
  if (query.includes('last()')) {
    return csv(['dateTime:RFC3339', 'string', 'string', 'string', 'string'], ['_time', '_field', '_value', 'device', 'sensor'], [
      ['2026-01-01T00:59:00Z', 'unit', 'C', 'd1', 's1'],
    ]) + csv(['dateTime:RFC3339', 'string', 'double', 'string', 'string'], ['_time', '_field', '_value', 'device', 'sensor'], [
      ['2026-01-01T00:59:00Z', 'value', '21.5', 'd1', 's1'],
    ]);
  }
  if (query.includes('"alerts"')) {
    return csv(['dateTime:RFC3339', 'string', 'string', 'string', 'string', 'string', 'string', 'long', 'long', 'double', 'double', 'string'],
      ['_time', 'device', 'sensor', 'rule', 'severity', 'id', 'state', 'start', 'end', 'value', 'score', 'message'], [
        ['2026-01-01T00:10:00Z', 'd1', 's1', 'zscore', 'critical', `d1:s1:zscore:${T + 600_000}`, 'firing', String(T + 600_000), '', '9', '0.9', 'hot'],
        ['2026-01-01T00:20:00Z', 'd1', 's1', 'zscore', 'critical', `d1:s1:zscore:${T + 600_000}`, 'resolved', String(T + 600_000), String(T + 1_200_000), '2', '0.1', 'ok'],
      ]);
  }
  return csv(['dateTime:RFC3339', 'string', 'string', 'long', 'long', 'double', 'double', 'double', 'double', 'long', 'string'],
    ['_time', 'device', 'sensor', 'end', 'count', 'min', 'max', 'mean', 'stddev', 'anomalies', 'closed_by'], [
      ['2026-01-01T00:00:00Z', 'd1', 's1', String(T + 3_600_000), '360', '1', '6', '3.5', '1.1', '2', 'gap'],
    ]);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/ping') {
      res.writeHead(204, { 'x-influxdb-version': 'v2.7.11' }).end();
      return;
    }
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const { query } = JSON.parse(body) as { query: string };
      seen.push({ url: req.url!, auth: req.headers.authorization, query });
      res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' }).end(answer(query));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const config = loadApiConfig({ port: 0, ops: { port: 0 }, influx: { url: `http://127.0.0.1:${port}`, org: 'acme', token: 'influx-secret' }, tiers: KEEP_FOREVER, auth: { tokens: [TOKEN] } });
  api = await startApi(config, { logger: pino({ level: 'silent' }) });
});

afterAll(async () => {
  await api?.close();
  await new Promise((r) => server?.close(r));
});

const get = async (path: string): Promise<any> => (await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();

it('detects 2.x from /ping and sends the generated Flux with org and token', async () => {
  expect(((await (await fetch(`${api.url}/healthz`)).json()) as { checks: { influx: { detail: { api: string } } } }).checks.influx.detail.api).toBe('v2');
  const body = await get(`/api/v1/series?device=d1&sensor=s1&from=${T}&to=${T + 3_600_000}&points=200`);
  const sent = seen.at(-1)!;
  expect(sent.url).toBe('/api/v2/query?org=acme');
  expect(sent.auth).toBe('Token influx-secret');
  expect(sent.query).toBe(flux.series('fieldline', { device: 'd1', sensor: 's1', from: T, to: T + 3_600_000, ...bucketing(T, T + 3_600_000, 200) }));
  expect(body).toMatchObject({ tier: 'raw', bucketMs: 18_000, points: 2, time: [T, T + 1_800_000], mean: [2, 5], min: [1, 4], max: [3, 6] });
});

it('reads a long range from the rollup tier`s bucket: weighted mean, min of mins, max of maxes', async () => {
  const body = await get(`/api/v1/series?device=d1&sensor=s1&from=${T}&to=${T + 3_600_000}&points=2`);
  const q = { device: 'd1', sensor: 's1', from: T, to: T + 3_600_000, bucketMs: 1_800_000, offsetMs: 0 };
  // Long past: every window is written, no raw tail.
  expect(seen.at(-1)!.query).toBe(flux.rollupTotals(q, { database: 'fieldline', retentionPolicy: 'rollup_1m', bucket: 'fieldline_1m', measurement: 'readings_1m' }));
  expect(seen.at(-1)!.query).toContain('from(bucket: "fieldline_1m")');
  expect(body).toMatchObject({ tier: '1m', bucketMs: 1_800_000, points: 2, time: [T, T + 1_800_000], mean: [2.5, 5.5], min: [0.5, 3.5], max: [9, 7] });
  expect(body.rawFrom).toBeUndefined();
});

it('reads devices, alerts and sessions from Flux results', async () => {
  expect((await get('/api/v1/devices')).devices).toEqual([{ device: 'd1', sensors: [{ sensor: 's1', unit: 'C', last: { ts: T + 59 * 60_000, value: 21.5 } }] }]);
  const alerts = await get(`/api/v1/alerts?from=${T}&to=${T + 3_600_000}`);
  expect(alerts.alerts).toEqual([
    expect.objectContaining({ id: `d1:s1:zscore:${T + 600_000}`, state: 'resolved', start: T + 600_000, end: T + 1_200_000, ts: T + 1_200_000, message: 'ok' }),
  ]);
  const sessions = await get(`/api/v1/sessions?from=${T}&to=${T + 3_600_000}`);
  expect(sessions.sessions).toEqual([
    { device: 'd1', sensor: 's1', start: T, end: T + 3_600_000, count: 360, min: 1, max: 6, mean: 3.5, stddev: 1.1, anomalies: 2, closedBy: 'gap' },
  ]);
});
