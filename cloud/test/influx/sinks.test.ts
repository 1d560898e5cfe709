import { cleanupAll, InfluxServer } from '@fieldline/harness';
import { afterAll, describe, expect, it } from 'vitest';
import { createInfluxWriter } from '../../src/influx/writer.js';
import { encodePoint } from '../../src/influx/line-protocol.js';
import { InfluxWriteError } from '../../src/influx/errors.js';
import { sinkConformance, type StoredPoint } from './conformance.js';
import { FakeInfluxV2 } from './fake-influx-v2.js';

afterAll(() => cleanupAll());

/** A measurement as the real influxd 1.6.7 stored it, read back through its own `/query`. */
async function readFromInflux1(url: string, db: string, m: string): Promise<StoredPoint[]> {
  const q = new URLSearchParams({ db, epoch: 'u', q: `SELECT * FROM "${m}" GROUP BY *` });
  const json = (await (await fetch(`${url}/query?${q}`)).json()) as {
    results: { series?: { tags?: Record<string, string>; columns: string[]; values: unknown[][] }[] }[];
  };
  const out: StoredPoint[] = [];
  for (const s of json.results[0]?.series ?? []) {
    for (const row of s.values) {
      const fields: Record<string, unknown> = {};
      s.columns.forEach((c, i) => c !== 'time' && row[i] !== null && (fields[c] = row[i]));
      // GROUP BY * reports absent tags as ""; a point without the tag never had it.
      const tags = Object.fromEntries(Object.entries(s.tags ?? {}).filter(([, v]) => v !== ''));
      out.push({ tags, fields, tsUs: String(row[0]) });
    }
  }
  return out;
}

sinkConformance('influx-v1 on the real influxd 1.6.7', async () => {
  const server = await InfluxServer.start();
  const writer = await createInfluxWriter({ url: server.url, database: 'conf' });
  expect(writer.api).toBe('v1');
  return {
    writer,
    read: (m) => readFromInflux1(server.url, 'conf', m),
    async close() {
      await writer.close();
      await server.stop();
    },
  };
});

const fake = new FakeInfluxV2('fieldline-org', 'telemetry', 'sekrit-token');

sinkConformance('influx-v2 (@influxdata/influxdb-client) on an in-test /api/v2/write', async () => {
  await fake.start();
  const writer = await createInfluxWriter({ url: fake.url, org: 'fieldline-org', bucket: 'telemetry', token: 'sekrit-token' });
  expect(writer.api).toBe('v2');
  return {
    writer,
    async read(m) {
      return [...fake.points.values()]
        .filter((p) => p.measurement === m)
        .map((p) => ({
          tags: p.tags,
          fields: Object.fromEntries(Object.entries(p.fields).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
          tsUs: String(BigInt(p.ts) / 1000n),
        }));
    },
    async close() {
      await writer.close();
      await fake.stop();
    },
  };
});

// The 2.x write path as real as this machine allows: the real @influxdata/influxdb-client, 2.x's
// documented request contract, and a real InfluxDB's line-protocol parser and storage behind it.
sinkConformance('influx-v2 (@influxdata/influxdb-client) through a 2.x /api/v2/write front on the real influxd 1.6.7', async () => {
  const server = await InfluxServer.start();
  await server.createDatabase('telemetry');
  const front = await new FakeInfluxV2('fieldline-org', 'telemetry', 'v2-front-token', server.url).start();
  const writer = await createInfluxWriter({ url: front.url, org: 'fieldline-org', bucket: 'telemetry', token: 'v2-front-token' });
  expect(writer.api).toBe('v2');
  return {
    writer,
    read: (m) => readFromInflux1(server.url, 'telemetry', m),
    async close() {
      await writer.close();
      await front.stop();
      await server.stop();
    },
  };
});

describe('influx-v1 writer', () => {
  it('creates the database again when the server lost it (404 database not found)', async () => {
    const server = await InfluxServer.start();
    try {
      const writer = await createInfluxWriter({ url: server.url, database: 'gone' });
      await server.query('DROP DATABASE "gone"');
      await writer.write([encodePoint({ measurement: 'm', tags: {}, fields: { v: 1 }, ts: 1000 })]);
      expect(await server.query('SELECT v FROM m', 'gone')).toEqual([{ name: 'm', columns: ['time', 'v'], values: [[1000, 1]] }]);
    } finally {
      await server.stop();
    }
  });
});

describe('influx-v2 requests', () => {
  it('carry org, bucket, precision=ns, the token header, and gzip for large bodies', async () => {
    const v2 = await new FakeInfluxV2('o', 'b', 't0k').start();
    try {
      const writer = await createInfluxWriter({ url: v2.url, api: 'v2', org: 'o', bucket: 'b', token: 't0k' });
      await writer.write([encodePoint({ measurement: 'm', tags: { a: 'x' }, fields: { v: 1 }, ts: 1000 })]);
      const big = Array.from({ length: 3000 }, (_, i) => encodePoint({ measurement: 'm', tags: { a: 'y' }, fields: { v: i }, ts: 2000 + i }));
      await writer.write(big);
      expect(v2.requests.map((r) => [r.method, r.path, r.query, r.authorization, r.contentEncoding, r.lines])).toEqual([
        ['POST', '/api/v2/write', { org: 'o', bucket: 'b', precision: 'ns' }, 'Token t0k', undefined, 1],
        ['POST', '/api/v2/write', { org: 'o', bucket: 'b', precision: 'ns' }, 'Token t0k', 'gzip', 3000],
      ]);
      expect(v2.points.size).toBe(3001);
      expect([...v2.points.values()][0]).toEqual({ measurement: 'm', tags: { a: 'x' }, fields: { v: 1 }, ts: '1000000000' });
    } finally {
      await v2.stop();
    }
  });

  it('reports a wrong token as a configuration failure and points beyond retention (422) as rejected', async () => {
    const v2 = await new FakeInfluxV2('o', 'b', 'right').start();
    try {
      const wrong = await createInfluxWriter({ url: v2.url, api: 'v2', org: 'o', bucket: 'b', token: 'wrong' });
      const e1 = await wrong.write(['m v=1 1']).catch((e: unknown) => e as InfluxWriteError);
      expect([e1?.failure, e1?.status]).toEqual(['config', 401]);
      v2.retentionCutoffNs = 10n ** 18n;
      const ok = await createInfluxWriter({ url: v2.url, api: 'v2', org: 'o', bucket: 'b', token: 'right' });
      const e2 = await ok.write(['m v=1 1']).catch((e: unknown) => e as InfluxWriteError);
      expect([e2?.failure, e2?.status]).toEqual(['rejected', 422]);
    } finally {
      await v2.stop();
    }
  });

  it('an unreachable server is unavailable (retryable)', async () => {
    const v2 = await new FakeInfluxV2('o', 'b', 't').start();
    const writer = await createInfluxWriter({ url: v2.url, api: 'v2', org: 'o', bucket: 'b', token: 't', timeoutMs: 2000 });
    await v2.stop();
    const err = await writer.write(['m v=1 1']).catch((e: unknown) => e as InfluxWriteError);
    expect(err?.failure).toBe('unavailable');
  });
});
