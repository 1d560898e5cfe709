import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { AlertEventSchema, encodeBundle, ID_PATTERN } from '@fieldline/contract';
import { pino } from 'pino';
import { cleanupAll, InfluxServer, NatsServer, teardown } from '@fieldline/harness';
import { loadApiConfig, startApi, type ApiHandle } from '../../src/api/index.js';
import { KEEP_FOREVER } from '../processor/helpers.js';
import { readingLine } from '../../src/influx/points.js';
import { HOUR, MIN, seedLines, seedRollupLines, T0, TOKEN, writeLines, writeRollups } from './seed.js';

let influx: InfluxServer;
let nats: NatsServer;
let nc: NatsConnection;
let api: ApiHandle;
const auth = { authorization: `Bearer ${TOKEN}` };

async function get(path: string, headers: Record<string, string> = auth): Promise<{ status: number; body: any }> {
  const res = await fetch(`${api.url}${path}`, { headers });
  return { status: res.status, body: await res.json() };
}

const END = T0 + 6 * HOUR;
const series = (q: string) => get(`/api/v1/series?device=pump-1&sensor=temp&${q}`);

beforeAll(async () => {
  [influx, nats] = await Promise.all([InfluxServer.start(), NatsServer.start()]);
  await influx.createDatabase('fieldline');
  await writeLines(influx.url, 'fieldline', seedLines());
  await writeRollups(influx.url, 'fieldline', seedLines());
  nc = await connect({ servers: nats.url });
  // The seed is from 2026-01: every tier kept forever, so the range is within each tier's retention.
  const config = loadApiConfig({ port: 0, ops: { port: 0 }, influx: { url: influx.url }, tiers: KEEP_FOREVER, nats: { servers: nats.url }, auth: { tokens: [TOKEN] } });
  api = await startApi(config, { logger: pino({ level: 'silent' }) });
});

afterAll(() =>
  teardown({
    'api.close': () => api?.close(),
    'nc.close': () => nc?.close(),
    'servers.stop': () => Promise.all([influx?.stop(), nats?.stop()]),
    cleanupAll,
  }),
);

describe('query API against real InfluxDB 1.x', () => {
  it('lists devices and sensors with their last reading and unit', async () => {
    const { status, body } = await get('/api/v1/devices');
    expect(status).toBe(200);
    const pump1 = body.devices.find((d: any) => d.device === 'pump-1');
    expect(pump1.sensors.map((s: any) => s.sensor)).toEqual(['temp', 'vib']);
    expect(pump1.sensors[0]).toMatchObject({ unit: 'C', last: { ts: END - 10_000 } });
    expect(body.devices.find((d: any) => d.device === 'pump-2').sensors[0].last).toEqual({ ts: T0 + 59 * MIN, value: 18 + 59 / 60 });
  });

  it('downsamples a range to at most `points` buckets without losing readings', async () => {
    const [raw] = await influx.query(`SELECT min("value"), max("value") FROM "readings" WHERE "device" = 'pump-1' AND "sensor" = 'temp'`, 'fieldline');
    const [, rawMin, rawMax] = raw!.values[0]!;
    for (const points of [2, 7, 100, 999, 5000]) {
      const { status, body } = await series(`from=${T0}&to=${END}&points=${points}`);
      expect(status).toBe(200);
      expect(body.points).toBeLessThanOrEqual(points);
      expect(body.time.length).toBe(body.points);
      if (body.tier === 'raw') {
        expect(body.bucketMs).toBe(Math.ceil((6 * HOUR) / points));
        // 2160 readings (6 h every 10 s): every bucket holds one unless there are more buckets than readings.
        expect(body.points).toBe(Math.min(points, 2160));
      } else {
        // A rollup tier: buckets of whole windows, never more than asked.
        expect(body.bucketMs % (body.tier === '1h' ? HOUR : MIN)).toBe(0);
        expect(body.points).toBe(Math.ceil((6 * HOUR) / body.bucketMs));
      }
      expect(Math.min(...body.min)).toBe(rawMin);
      expect(Math.max(...body.max)).toBe(rawMax);
      for (let i = 0; i < body.points; i++) {
        expect(body.min[i]).toBeLessThanOrEqual(body.mean[i]);
        expect(body.mean[i]).toBeLessThanOrEqual(body.max[i]);
      }
    }
  });

  it('chooses the tier by range and bucket size, says which one answered, and answers as the raw readings would', async () => {
    const raw = async (from: number, to: number, bucketMs: number) => {
      const [s] = await influx.query(
        `SELECT mean("value"), min("value"), max("value") FROM "readings" WHERE "device" = 'pump-1' AND "sensor" = 'temp' AND time >= ${from}ms AND time < ${to}ms GROUP BY time(${bucketMs}ms, ${from % bucketMs}ms) fill(none)`,
        'fieldline',
      );
      return { time: s!.values.map((v) => v[0]), mean: s!.values.map((v) => v[1] as number), min: s!.values.map((v) => v[2]), max: s!.values.map((v) => v[3]) };
    };
    for (const [points, tier, bucketMs] of [[2000, 'raw', 10_800], [40, '1m', 9 * MIN], [10, '1m', 36 * MIN], [3, '1h', 2 * HOUR]] as const) {
      const { body } = await series(`from=${T0}&to=${END}&points=${points}`);
      expect([body.tier, body.bucketMs], `points=${points}`).toEqual([tier, bucketMs]);
      const want = await raw(T0, END, bucketMs);
      expect(body.time).toEqual(want.time);
      // min of mins, max of maxes: the band is the raw one, not a band of means.
      expect(body.min).toEqual(want.min);
      expect(body.max).toEqual(want.max);
      body.mean.forEach((m: number, i: number) => expect(m).toBeCloseTo(want.mean[i]!, 9));
    }
    // Buckets of a rollup tier are whole windows: a range that starts mid-window starts at the window.
    const mid = await series(`from=${T0 + 90 * MIN + 30_000}&to=${END}&points=10`);
    expect([mid.body.tier, mid.body.time[0]]).toEqual(['1m', T0 + 90 * MIN]);
  });

  it('reads the newest windows of a tier from the raw readings: they are written only once their device has passed them', async () => {
    // pump-3/temp every 10 s for the last 3 hours. Its rollups are written up to the current
    // minute, whose point (the processor writes it only when the minute is over) holds nonsense
    // here: the API must take that minute, and the one before, from the raw readings.
    const now = Date.now();
    const current = Math.floor(now / MIN) * MIN;
    const lines: string[] = [];
    for (let t = current - 3 * HOUR; t <= now; t += 10_000) lines.push(readingLine('pump-3', { sensor: 'temp', ts: t, value: 20 + Math.sin(t / 1e6) }, 0));
    await writeLines(influx.url, 'fieldline', lines);
    const earlier = seedRollupLines(lines.filter((l) => Number(BigInt(l.split(' ').at(-1)!) / 1_000_000n) < current))[0]!;
    const bogus = `readings_1m,device=pump-3,sensor=temp mean=1e6,min=1e6,max=1e6,count=1i,first=1e6,last=1e6,sum=1e6 ${current}000000`;
    const res = await fetch(`${influx.url}/write?db=fieldline&rp=rollup_1m&precision=ns`, { method: 'POST', body: [...earlier, bogus].join('\n') });
    expect(res.status).toBe(204);
    const from = current - 2 * HOUR;
    const asked = Date.now();
    const { body } = await get(`/api/v1/series?device=pump-3&sensor=temp&from=${from}&to=${now + 1}&points=12`);
    expect(body.tier).toBe('1m');
    // The previous minute of the API's clock (a minute may turn over during the request).
    expect([Math.floor(asked / MIN) * MIN - MIN, Math.floor(Date.now() / MIN) * MIN - MIN]).toContain(body.rawFrom);
    const [want] = await influx.query(
      `SELECT mean("value"), min("value"), max("value") FROM "readings" WHERE "device" = 'pump-3' AND time >= ${from}ms AND time < ${now + 1}ms GROUP BY time(${body.bucketMs}ms, ${from % body.bucketMs}ms) fill(none)`,
      'fieldline',
    );
    expect(body.time).toEqual(want!.values.map((v) => v[0]));
    expect(body.max).toEqual(want!.values.map((v) => v[3]));
    expect(body.min).toEqual(want!.values.map((v) => v[2]));
    body.mean.forEach((m: number, i: number) => expect(m).toBeCloseTo(want!.values[i]![1] as number, 9));
  });

  it('returns only the asked range; ISO times and epoch ms give the same answer', async () => {
    const from = T0 + HOUR;
    const to = T0 + 2 * HOUR + 30 * MIN;
    const a = await series(`from=${from}&to=${to}&points=90`);
    const b = await series(`from=${new Date(from).toISOString()}&to=${encodeURIComponent('2026-01-01T02:30:00+00:00')}&points=90`);
    expect(a.status).toBe(200);
    expect(b.body).toEqual(a.body);
    expect(a.body.time[0]).toBe(from);
    expect(a.body.time.at(-1)).toBeLessThan(to);
    expect(a.body.points).toBe(90);
    expect(a.body.bucketMs).toBe(MIN);
    // The alert spike (+9) starts at 02:00: its buckets have a higher max.
    expect(Math.max(...a.body.max)).toBeGreaterThan(28);
    const empty = await series(`from=${END + HOUR}&to=${END + 2 * HOUR}`);
    expect(empty.body.points).toBe(0);
  });

  it.each([
    ['points=5001', 'query parameter "points": must be <= 5000'],
    ['points=1', 'query parameter "points": must be >= 2'],
    ['points=abc', 'query parameter "points": must be integer'],
    [`from=${END}&to=${T0}`, 'from: must be before to'],
    [`from=${T0 - 500 * 24 * HOUR}&to=${T0}`, 'to: the range from..to spans 500 days; at most 400 are allowed'],
    ['from=yesterday', 'from: expected an ISO 8601 time, epoch milliseconds'],
    ['to=2026-13-45T99:00:00Z', 'to: expected an ISO 8601 time'],
    ['colour=red', 'query parameter "colour": is not a known parameter'],
  ])('rejects %s with 400 and a message naming the parameter', async (q, message) => {
    const { status, body } = await series(q);
    expect(status).toBe(400);
    expect(body.message).toContain(message);
  });

  it('names a missing required parameter', async () => {
    const { status, body } = await get('/api/v1/series?device=pump-1');
    expect(status).toBe(400);
    expect(body.message).toBe('query parameter "sensor": is required');
  });

  it.each([
    "pump-1' OR sensor='vib",
    'pump-1"; DROP DATABASE "fieldline',
    "pump-1'; DROP DATABASE fieldline; --",
    '/.*/',
    'pump-.*',
    'pump-1\\',
    'pump-1) |> drop(',
    '${secret}',
    'Pump-1',
    'pump-1\nx',
    'pümp',
    'a'.repeat(64),
    '',
  ])('refuses injection attempt %j before it reaches InfluxDB', async (bad) => {
    for (const key of ['device', 'sensor']) {
      const q = new URLSearchParams({ device: 'pump-1', sensor: 'temp', [key]: bad });
      const { status, body } = await get(`/api/v1/series?${q}`);
      expect(status).toBe(400);
      expect(body.message).toMatch(new RegExp(`^query parameter "${key}": must`));
    }
    const alerts = await get(`/api/v1/alerts?${new URLSearchParams({ rule: bad })}`);
    expect(alerts.status).toBe(400);
    // The database is intact.
    expect((await influx.query('SHOW MEASUREMENTS', 'fieldline'))[0]!.values.flat()).toEqual(['alerts', 'readings', 'readings_1h', 'readings_1m', 'sessions']);
  });

  it('folds alert transitions into alerts with their state', async () => {
    const all = await get(`/api/v1/alerts?from=${T0}&to=${END}`);
    expect(all.status).toBe(200);
    expect(all.body.alerts.map((a: any) => [a.rule, a.state, a.severity])).toEqual([
      ['drift', 'firing', 'warning'],
      ['zscore', 'resolved', 'critical'],
    ]);
    expect(all.body.alerts[1]).toMatchObject({ start: T0 + 2 * HOUR, end: T0 + 2 * HOUR + 20 * MIN, message: 'temp back to normal' });
    const firing = await get(`/api/v1/alerts?from=${T0}&to=${END}&state=firing`);
    expect(firing.body.alerts).toHaveLength(1);
    // Fired before the range and still firing: it overlaps, so it is listed.
    const later = await get(`/api/v1/alerts?from=${END + HOUR}&to=${END + 2 * HOUR}`);
    expect(later.body.alerts.map((a: any) => a.rule)).toEqual(['drift']);
    const before = await get(`/api/v1/alerts?from=${T0}&to=${T0 + HOUR}&device=pump-1`);
    expect(before.body.alerts).toEqual([]);
    // A range that ends while the critical alert fires still shows its current state (resolved later).
    const during = await get(`/api/v1/alerts?from=${T0}&to=${T0 + 2 * HOUR + 5 * MIN}`);
    expect(during.body.alerts.map((a: any) => [a.rule, a.state, a.end])).toEqual([['zscore', 'resolved', T0 + 2 * HOUR + 20 * MIN]]);
    const bad = await get(`/api/v1/alerts?severity=fatal`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('query parameter "severity": must be equal to one of the allowed values');
  });

  it('lists sessions overlapping the range, newest first', async () => {
    const { status, body } = await get(`/api/v1/sessions?device=pump-1&sensor=temp&from=${T0 + 2 * HOUR}&to=${END}`);
    expect(status).toBe(200);
    expect(body.sessions.map((s: any) => [s.start, s.end, s.closedBy])).toEqual([
      [T0 + 3 * HOUR + 10 * MIN, END, 'gap'],
      [T0, T0 + 3 * HOUR, 'max_length'],
    ]);
    expect(body.sessions[0]).toMatchObject({ device: 'pump-1', sensor: 'temp', count: 1020, anomalies: 3 });
    const limited = await get(`/api/v1/sessions?from=${T0}&to=${END}&limit=1`);
    expect(limited.body.sessions).toHaveLength(1);
  });
});

describe('authentication', () => {
  it('answers 401 without a token or with a wrong one, and leaves /healthz open', async () => {
    expect((await get('/api/v1/devices', {})).status).toBe(401);
    const wrong = await get('/api/v1/devices', { authorization: 'Bearer test-token-0123456789abcdeX' });
    expect(wrong).toEqual({ status: 401, body: { error: 'unauthorized', message: 'invalid token' } });
    expect((await get('/api/v1/devices', { authorization: TOKEN })).status).toBe(401);
    expect((await get('/api/v1/live', {})).status).toBe(401);
    const health = await get('/healthz', {});
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ service: 'api', status: 'ok', ready: true, checks: { influx: { ok: true, detail: { api: 'v1' } }, nats: { ok: true } } });
    // The ops server answers the same report.
    const ops = (await (await fetch(`http://127.0.0.1:${api.opsPort}/healthz`)).json()) as Record<string, unknown>;
    expect(Object.keys(ops)).toEqual(Object.keys(health.body as object));
    expect((await fetch(`http://127.0.0.1:${api.opsPort}/metrics`)).status).toBe(200);
  });

  it('logs the dashboard in with a cookie that works for GET only', async () => {
    const bad = await fetch(`${api.url}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'nope' }) });
    expect(bad.status).toBe(401);
    const res = await fetch(`${api.url}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: TOKEN }) });
    expect(res.status).toBe(204);
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly; SameSite=Strict/);
    const cookie = setCookie.split(';')[0]!;
    expect((await get('/api/v1/devices', { cookie })).status).toBe(200);
    const post = await fetch(`${api.url}/api/v1/devices/pump-1/commands`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'reboot' }),
    });
    expect(post.status).toBe(401);
  });

  it('serves the OpenAPI document and the dashboard without a token', async () => {
    const doc = await get('/openapi.json', {});
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/v1/series', '/api/v1/alerts', '/api/v1/live', '/api/v1/devices/{device}/commands']));
    // Alerts, sessions, statuses and commands are documented by the wire contract's own schemas.
    const alert = doc.body.paths['/api/v1/alerts'].get.responses['200'].content['application/json'].schema.properties.alerts.items;
    expect(alert).toMatchObject({ description: AlertEventSchema.description, properties: { rule: { pattern: ID_PATTERN.source, 'x-id': 'rule id' } } });
    expect(alert.properties.v).toBeUndefined();
    const command = doc.body.paths['/api/v1/devices/{device}/commands'].post.requestBody.content['application/json'].schema;
    expect(command.properties.name).toMatchObject({ not: { enum: ['rejected'] } }); // OpenAPI 3.0 has no const
    const html = await fetch(`${api.url}/`);
    expect(html.headers.get('content-type')).toContain('text/html');
    expect(await html.text()).toContain('vendor/uPlot.iife.min.js');
    const uplot = await fetch(`${api.url}/vendor/uPlot.iife.min.js`);
    expect(uplot.status).toBe(200);
    expect((await uplot.text()).length).toBeGreaterThan(10_000);
  });
});

describe('NATS: live updates and commands', () => {
  it('streams an alert published on NATS to an SSE client', async () => {
    const ctl = new AbortController();
    const res = await fetch(`${api.url}/api/v1/live?device=pump-1`, { headers: auth, signal: ctl.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const readUntil = async (needle: string): Promise<void> => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}: ${text}`);
        text += value;
      }
    };
    await readUntil('event: hello');
    const alert = { v: 1, id: `pump-1:temp:zscore:${T0}`, state: 'firing', severity: 'critical', device: 'pump-1', sensor: 'temp', rule: 'zscore', start: T0, ts: T0, value: 31, score: 0.99, message: 'hot' };
    nc.publish('fl.alerts.critical.pump-2', JSON.stringify({ ...alert, device: 'pump-2', id: `pump-2:temp:zscore:${T0}` }));
    nc.publish('fl.alerts.critical.pump-1', JSON.stringify(alert));
    await readUntil('event: alert');
    const data = /event: alert\ndata: (.*)\n/.exec(text)![1]!;
    expect(JSON.parse(data)).toEqual(alert);
    expect(text).not.toContain('pump-2');
    ctl.abort();
  });

  it('streams readings of the asked sensor from telemetry, and counts payloads it cannot parse', async () => {
    const ctl = new AbortController();
    const res = await fetch(`${api.url}/api/v1/live?device=pump-1&sensor=temp&readings=true`, { headers: auth, signal: ctl.signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('event: hello')) text += (await reader.read()).value;
    const clock = { synced: true, now: T0 };
    nc.publish('fl.telemetry.3.pump-1', 'not json');
    const env = { v: 1, device: 'pump-1', epoch: 'abcdefgh', seq: 1, clock, readings: [{ sensor: 'vib', ts: T0, value: 0.5 }, { sensor: 'temp', ts: T0, value: 21.5 }] };
    nc.publish('fl.telemetry.3.pump-1', JSON.stringify(env));
    while (!text.includes('event: readings')) text += (await reader.read()).value;
    expect(JSON.parse(/event: readings\ndata: (.*)\n/.exec(text)![1]!)).toEqual({ device: 'pump-1', readings: [{ sensor: 'temp', ts: T0, value: 21.5 }] });
    // A bundle (the gateway's envelopes of one turn, contract bundle.ts): each envelope's readings, in order.
    const next = (seq: number, value: number): Buffer => Buffer.from(JSON.stringify({ ...env, seq, readings: [{ sensor: 'temp', ts: T0 + seq, value }] }));
    nc.publish('fl.telemetry.3.pump-1', encodeBundle([next(2, 22.5), next(3, 23.5)]));
    while ((text.match(/event: readings/g) ?? []).length < 3) text += (await reader.read()).value;
    expect([...text.matchAll(/event: readings\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]!).readings[0].value)).toEqual([21.5, 22.5, 23.5]);
    ctl.abort();
    expect((await get('/healthz', {})).body.checks.nats.detail.liveBadMessages).toBe(1);
  });

  it('publishes a contract CommandMessage on fl.commands.{device}', async () => {
    const sub = nc.subscribe('fl.commands.pump-1', { max: 1 });
    await nc.flush(); // the server has the subscription before the API publishes
    const res = await fetch(`${api.url}/api/v1/devices/pump-1/commands`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'set-interval', args: { ms: 500 }, id: 'cmd-1' }),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id: 'cmd-1', subject: 'fl.commands.pump-1' });
    for await (const m of sub) expect(m.json()).toEqual({ v: 1, id: 'cmd-1', name: 'set-interval', args: { ms: 500 } });
    const bad = await fetch(`${api.url}/api/v1/devices/pump-1/commands`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'rejected' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain('body field "name"');
  });
});
