/**
 * Rollup tiers on the v3 path (InfluxDB 3: no retention policies, no Flux). No 3.x server runs
 * here, so a stand-in records each request and answers in the v1-compatible `/query` format
 * (recorded/README.md). A tier is its own database, named like a 2.x bucket (`fieldline_1m`): its
 * lines go to `/write?db=fieldline_1m`, its reads are GETs with that `db` and the bare measurement,
 * one statement each; repairs read the raw readings with InfluxQL, never Flux; the retention check
 * lists databases without asking for 2.x buckets.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/api/store.js';
import { bucketing } from '../../src/api/query-text.js';
import { connectInflux } from '../../src/influx/connection.js';
import { ensureRetention } from '../../src/influx/retention.js';
import { RollupRepairer } from '../../src/influx/rollup-repair.js';
import { resolveTiers, tiersSchema } from '../../src/influx/tiers.js';
import { createInfluxWriter } from '../../src/influx/writer.js';

interface Seen {
  method: string;
  path: string;
  params: Record<string, string>;
  body: string;
  authorization: string | undefined;
}

const T = Date.UTC(2026, 0, 1);
const MIN = 60_000;
let server: Server;
let url = '';
const seen: Seen[] = [];
/** The answer to a `/query` GET, by its `db`. */
let answers: Record<string, unknown> = {};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      seen.push({ method: req.method ?? '', path: u.pathname, params: Object.fromEntries(u.searchParams), body, authorization: req.headers.authorization });
      if (u.pathname === '/ping') return void res.writeHead(200, { 'x-influxdb-version': '3.8.0', 'x-influxdb-build': 'Core' }).end();
      if (u.pathname === '/write') return void res.writeHead(204).end();
      if (u.pathname === '/query' && req.method === 'GET') {
        const db = u.searchParams.get('db') ?? '';
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answers[db] ?? { results: [{ statement_id: 0 }] }));
      }
      if (u.pathname === '/api/v3/configure/database') {
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([{ 'iox::database': 'plant' }, { 'iox::database': 'fieldline_1m' }, { 'iox::database': 'fieldline_1h' }]));
      }
      res.writeHead(404).end('not found');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  seen.length = 0;
  answers = {};
});

const tiers = resolveTiers(tiersSchema.parse({}), { bucket: 'fieldline' });
const oneMinute = tiers.rollups[0]!;
const queries = (): Seen[] => seen.filter((s) => s.path !== '/ping');

describe('rollup tiers on InfluxDB 3 (api: v3)', () => {
  it('writes a tier to its own database and the raw readings to influx.database, with the bearer token', async () => {
    const writer = await createInfluxWriter({ url, api: 'v3', database: 'plant', token: 'apiv3_t' });
    await writer.write(['readings,device=d,sensor=s value=1 1767225600000000000']);
    await writer.write(['readings_1m,device=d,sensor=s sum=1,count=1i,min=1,max=1,first=1,last=1 1767225600000000000'], oneMinute);
    await writer.close();
    expect(queries().map((s) => [s.method, s.path, s.params.db, s.params.rp, s.authorization])).toEqual([
      ['POST', '/write', 'plant', undefined, 'Bearer apiv3_t'],
      ['POST', '/write', 'fieldline_1m', undefined, 'Bearer apiv3_t'],
    ]);
  });

  it('reads a long range from the tier database and the newest part from the raw readings, one GET each', async () => {
    const cols = ['time', 'sum', 'count', 'min', 'max'];
    answers = {
      fieldline_1m: { results: [{ statement_id: 0, series: [{ name: 'readings_1m', columns: cols, values: [[T, 30, 10, 1, 5]] }] }] },
      plant: { results: [{ statement_id: 0, series: [{ name: 'readings', columns: cols, values: [[T + 10 * MIN, 8, 2, 3, 5]] }] }] },
    };
    const store = await openStore({ url, api: 'v3', database: 'plant', token: 'apiv3_t' } as never);
    const from = T;
    const to = T + 20 * MIN;
    const data = await store.series(
      { device: 'd', sensor: 's', from, to, ...bucketing(from, to, 2) },
      { database: 'plant', retentionPolicy: oneMinute.retentionPolicy, bucket: oneMinute.bucket, measurement: oneMinute.measurement, rawFrom: T + 10 * MIN },
    );
    expect(data).toEqual({ time: [T, T + 10 * MIN], mean: [3, 4], min: [1, 3], max: [5, 5] });
    const gets = queries().sort((a, b) => a.params.db!.localeCompare(b.params.db!));
    expect(gets.map((s) => [s.method, s.path, s.params.db, s.authorization])).toEqual([
      ['GET', '/query', 'fieldline_1m', 'Bearer apiv3_t'],
      ['GET', '/query', 'plant', 'Bearer apiv3_t'],
    ]);
    expect(gets[0]!.params.q).toMatch(/ FROM "readings_1m" WHERE /);
    expect(gets[1]!.params.q).toMatch(/ FROM "readings" WHERE /);
    for (const g of gets) expect(g.params.q).not.toContain(';');
  });

  it('repairs a final window from the raw readings with InfluxQL (3.x has no Flux)', async () => {
    answers = { plant: { results: [{ statement_id: 0, series: [{ name: 'readings', columns: ['time', 'sum', 'count', 'min', 'max', 'first', 'last'], values: [[T, 6, 3, 1, 3, 1, 2]] }] }] } };
    const conn = await connectInflux({ url, api: 'v3', database: 'plant', token: 'apiv3_t' });
    const lines = await new RollupRepairer(conn).lines([{ tier: 0, device: 'd', sensor: 's', start: T }], tiers.rollups);
    expect(queries().map((s) => [s.method, s.path, s.params.db])).toEqual([['GET', '/query', 'plant']]);
    expect(lines.get(0)).toEqual([`readings_1m,device=d,sensor=s mean=2,min=1,max=3,count=3i,first=1,last=2,sum=6 ${T}000000`]);
  });

  it('checks that influx.database and every tier database exist, without asking for 2.x buckets', async () => {
    const conn = await connectInflux({ url, api: 'v3', database: 'plant', token: 'apiv3_t' });
    const report = await ensureRetention(conn, tiers);
    expect(report.api).toBe('v3');
    expect(report.tiers.map((t) => [t.tier, t.where])).toEqual([
      ['raw', 'plant'],
      ['1m', 'fieldline_1m'],
      ['1h', 'fieldline_1h'],
    ]);
    expect(queries().map((s) => s.path)).toEqual(['/api/v3/configure/database']);
    const missing = await ensureRetention(await connectInflux({ url, api: 'v3', database: 'fieldline', token: 'apiv3_t' }), tiers).catch((e: Error) => e.message);
    expect(missing).toMatch(/^influx\.database: database "fieldline" not found on InfluxDB 3\.x .*influxdb3 create database fieldline/);
  });
});
