/**
 * The 2.x path of the rollups (no 2.x server runs here): rollup lines go to their tier's bucket
 * (checked against the stand-in 2.x write API), and a repair sends Flux and turns its annotated
 * CSV answer into the tier's line. The 1.x path runs on a real influxd (rollups-e2e.test.ts).
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectInflux } from '../../src/influx/connection.js';
import { repairQuery, repairRuns, RollupRepairer } from '../../src/influx/rollup-repair.js';
import { resolveTiers, tiersSchema } from '../../src/influx/tiers.js';
import { createInfluxWriter } from '../../src/influx/writer.js';
import { FakeInfluxV2 } from './fake-influx-v2.js';

const T = Date.parse('2026-01-05T10:00:00Z');
const tiers = resolveTiers(tiersSchema.parse({}), { bucket: 'fieldline' }).rollups;
let fake: FakeInfluxV2;
let flux: Server;
let fluxUrl = '';
const sent: { url: string; query: string }[] = [];

const csv = (cols: string[], rows: string[][]): string =>
  [`#datatype,string,long,dateTime:RFC3339,${cols.slice(1).map(() => 'double').join(',')}`, `#group,false,false,${cols.map(() => 'false').join(',')}`, `#default,_result,,${cols.map(() => '').join(',')}`,
    `,result,table,${cols.join(',')}`, ...rows.map((r) => `,,0,${r.join(',')}`)].join('\r\n') + '\r\n\r\n';

beforeAll(async () => {
  fake = await new FakeInfluxV2('acme', 'fieldline_1m', 'tok-1').start();
  flux = createServer((req, res) => {
    if (req.url === '/ping') return void res.writeHead(204, { 'x-influxdb-version': 'v2.7.11' }).end();
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      sent.push({ url: req.url!, query: (JSON.parse(body) as { query: string }).query });
      res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' }).end(
        csv(['_time', 'count', 'first', 'last', 'max', 'min', 'sum'], [
          ['2026-01-05T10:00:00Z', '60', '20.5', '21', '22', '19', '1230'],
          ['2026-01-05T10:01:00Z', '3', '1', '2', '3', '1', '6'],
        ]),
      );
    });
  });
  await new Promise<void>((r) => flux.listen(0, '127.0.0.1', r));
  fluxUrl = `http://127.0.0.1:${(flux.address() as { port: number }).port}`;
});
afterAll(async () => {
  await fake.stop();
  await new Promise((r) => flux.close(r));
});

it('writes a tier`s lines to its bucket', async () => {
  const w = await createInfluxWriter({ url: fake.url, org: 'acme', token: 'tok-1', bucket: 'fieldline' });
  await w.write([`readings_1m,device=d,sensor=s mean=2,min=1,max=3,count=2i,first=1,last=3,sum=4 ${T}000000`], tiers[0]);
  expect(fake.requests.at(-1)?.query).toMatchObject({ org: 'acme', bucket: 'fieldline_1m' });
  expect([...fake.points.values()][0]).toMatchObject({ measurement: 'readings_1m', fields: { count: 2n, sum: 4 } });
  // The configured bucket is another one: the write is refused there (the stand-in has one bucket).
  await expect(w.write([`readings,device=d,sensor=s value=1 ${T}000000`])).rejects.toMatchObject({ failure: 'config' });
});

it('groups repairs per sensor and tier into runs of nearby windows', () => {
  const runs = repairRuns(
    [
      { tier: 0, device: 'd', sensor: 's', start: T + 60_000 },
      { tier: 0, device: 'd', sensor: 's', start: T },
      { tier: 1, device: 'd', sensor: 's', start: T },
      { tier: 0, device: 'd', sensor: 's', start: T + 300 * 60_000 },
    ],
    tiers,
  );
  expect(runs.map((r) => [r.tier.name, r.starts.map((s) => (s - T) / 60_000)])).toEqual([['1m', [0, 1]], ['1m', [300]], ['1h', [0]]]);
  expect(repairQuery.influxql(runs[0]!)).toBe(
    `SELECT sum("value") AS "sum", count("value") AS "count", min("value") AS "min", max("value") AS "max", first("value") AS "first", last("value") AS "last" FROM "readings" WHERE "device" = 'd' AND "sensor" = 's' AND time >= ${T}ms AND time < ${T + 120_000}ms GROUP BY time(60000ms) fill(none)`,
  );
});

it('repairs over Flux: the windows asked for, from the answer rows', async () => {
  const conn = await connectInflux({ url: fluxUrl, org: 'acme', token: 'tok-1' });
  const lines = await new RollupRepairer(conn).lines([{ tier: 0, device: 'pump-1', sensor: 'temp', start: T }], tiers);
  expect(sent.at(-1)!.url).toBe('/api/v2/query?org=acme');
  expect(sent.at(-1)!.query).toBe(repairQuery.flux('fieldline', { tier: tiers[0]!, device: 'pump-1', sensor: 'temp', starts: [T] }));
  expect(sent.at(-1)!.query).toContain('aggregateWindow(every: 60000ms, fn: first, createEmpty: false, timeSrc: "_start")');
  // Only the window asked for; mean = sum / count.
  expect(lines.get(0)).toEqual([`readings_1m,device=pump-1,sensor=temp mean=20.5,min=19,max=22,count=60i,first=20.5,last=21,sum=1230 ${T}000000`]);
});
