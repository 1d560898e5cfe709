/**
 * Retention per tier: 1.x retention policies created, altered and checked at start on a real
 * influxd 1.6; 2.x buckets and 3.x databases (no server of theirs runs here) checked against
 * recorded answers of their HTTP APIs.
 */
import { createServer, type Server } from 'node:http';
import { cleanupAll, InfluxServer } from '@fieldline/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectInflux } from '../../src/influx/connection.js';
import { InfluxStorageError } from '../../src/influx/errors.js';
import { ensureRetention, influxDuration, parseGoDuration } from '../../src/influx/retention.js';
import { resolveTiers, tiersSchema, type TiersConfigInput } from '../../src/influx/tiers.js';
import { loadProcessorConfig, replayMsOf } from '../../src/processor/config.js';

const tiersOf = (t: TiersConfigInput, influx: { retentionPolicy?: string; bucket?: string } = {}) => resolveTiers(tiersSchema.parse(t), { bucket: 'fieldline', ...influx });

async function policies(influx: InfluxServer, db: string): Promise<Record<string, string>> {
  const [s] = await influx.query(`SHOW RETENTION POLICIES ON "${db}"`);
  return Object.fromEntries(s!.values.map((v) => [v[0], v[1]]));
}

describe('tiers config', () => {
  it('defaults: raw 30 d, 1 m for 365 d, 1 h forever; names resolved per tier', () => {
    const t = resolveTiers(loadProcessorConfig({}).tiers, { bucket: 'fl' });
    expect(t.raw).toEqual({ retentionMs: 30 * 86_400_000, retentionPolicy: undefined, bucket: 'fl' });
    expect(t.rollups.map((r) => [r.name, r.everyMs, r.retentionMs, r.measurement, r.retentionPolicy, r.bucket])).toEqual([
      ['1m', 60_000, 365 * 86_400_000, 'readings_1m', 'rollup_1m', 'fl_1m'],
      ['1h', 3_600_000, Infinity, 'readings_1h', 'rollup_1h', 'fl_1h'],
    ]);
  });

  it('rejects tiers that cannot work, naming the key', () => {
    const bad = (t: unknown) => tiersSchema.safeParse(t).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(bad({ rollups: [{ name: '7m', every: '7m', retention: 'inf' }] })).toEqual(['rollups.0.every: must be at least 1s and divide 24h (windows align to UTC days), got 7m']);
    expect(bad({ rollups: [{ name: '1h', every: '1h', retention: 'inf' }, { name: '1m', every: '1m', retention: 'inf' }] })?.[0]).toMatch(/rollups\.1\.every: must be a larger multiple/);
    expect(bad({ raw: { retention: '10m' } })).toEqual(['raw.retention: must be at least 1h or "inf", got 10m']);
    expect(bad({ rollups: [{ name: 'x', every: 'soon', retention: 'inf' }] })?.[0]).toMatch(/rollups\.0\.every: expected milliseconds or a duration/);
    // A rollup window open at a restart comes back from the checkpoint; replayMs is only the
    // fallback without one (issue 12), so a short one is allowed, and the default still covers the widest window.
    expect(loadProcessorConfig({ consumer: { replayMs: 60_000 } }).consumer.replayMs).toBe(60_000);
    expect(replayMsOf(loadProcessorConfig({}))).toBeGreaterThanOrEqual(3_600_000 + 10_000);
  });

  it('speaks InfluxDB durations', () => {
    expect([influxDuration(30 * 86_400_000), influxDuration(Infinity), influxDuration(90 * 60_000)]).toEqual(['720h', 'INF', '2h']);
    expect([parseGoDuration('720h0m0s'), parseGoDuration('0s'), parseGoDuration('1h30m0s')]).toEqual([720 * 3_600_000, Infinity, 5_400_000]);
  });
});

describe('retention policies on a real influxd 1.6', () => {
  let influx: InfluxServer;
  beforeAll(async () => {
    influx = await InfluxServer.start();
  });
  afterAll(async () => {
    await influx?.stop();
    cleanupAll();
  });

  it('apply: creates the rollup policies and sets the raw one (the database default) to 30 d; a second start changes nothing', async () => {
    const conn = await connectInflux({ url: influx.url, database: 'ret1' });
    const first = await ensureRetention(conn, tiersOf({}));
    expect(first.tiers.map((t) => [t.tier, t.where, t.action])).toEqual([
      ['raw', 'ret1.autogen', 'altered'],
      ['1m', 'ret1.rollup_1m', 'created'],
      ['1h', 'ret1.rollup_1h', 'created'],
    ]);
    expect(await policies(influx, 'ret1')).toEqual({ autogen: '720h0m0s', rollup_1m: '8760h0m0s', rollup_1h: '0s' });
    const again = await ensureRetention(conn, tiersOf({}));
    expect(again.tiers.map((t) => t.action)).toEqual(['ok', 'ok', 'ok']);
    // The policies are InfluxDB's own: a reading older than 30 d is refused by the raw tier, kept by the 1 m tier.
    const old = (Date.now() - 40 * 86_400_000) * 1e6;
    const w = (rp: string) => fetch(`${influx.url}/write?db=ret1&rp=${rp}`, { method: 'POST', body: `readings,device=d,sensor=s value=1 ${old}` });
    expect((await w('autogen')).status).toBe(400);
    expect((await w('rollup_1m')).status).toBe(204);
  });

  it('apply: alters a policy whose duration differs; a named raw policy is created if missing', async () => {
    await influx.query('CREATE DATABASE "ret2"');
    await influx.query('CREATE RETENTION POLICY "rollup_1m" ON "ret2" DURATION 48h REPLICATION 1');
    const conn = await connectInflux({ url: influx.url, database: 'ret2', retentionPolicy: 'raw' });
    const r = await ensureRetention(conn, tiersOf({ raw: { retention: '7d' } }, { retentionPolicy: 'raw' }));
    expect(r.tiers.map((t) => [t.tier, t.action])).toEqual([['raw', 'created'], ['1m', 'altered'], ['1h', 'created']]);
    expect(await policies(influx, 'ret2')).toMatchObject({ raw: '168h0m0s', rollup_1m: '8760h0m0s', rollup_1h: '0s' });
  });

  it('check: a missing or different policy fails the start with exit 78, naming the key', async () => {
    const conn = await connectInflux({ url: influx.url, database: 'ret3' });
    const err = await ensureRetention(conn, tiersOf({ manage: 'check' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfluxStorageError);
    expect((err as InfluxStorageError).exitCode).toBe(78);
    expect((err as Error).message).toBe('tiers.raw.retention: retention policy "autogen" on database "ret3" keeps inf, the config says 30d (tiers.manage: check)');
    await ensureRetention(conn, tiersOf({}));
    expect((await ensureRetention(conn, tiersOf({ manage: 'check' }))).tiers.map((t) => t.action)).toEqual(['checked', 'checked', 'checked']);
    const drift = await ensureRetention(conn, tiersOf({ manage: 'check', rollups: [{ name: '1m', every: '1m', retention: '90d' }] })).catch((e: Error) => e.message);
    expect(drift).toBe('tiers.rollups[0].retention: retention policy "rollup_1m" on database "ret3" keeps 365d, the config says 90d (tiers.manage: check)');
  });

  it('an unreachable server is a dependency failure (exit 69)', async () => {
    const conn = await connectInflux({ url: 'http://127.0.0.1:9', api: 'v1', database: 'x', timeoutMs: 1000 });
    const err = (await ensureRetention(conn, tiersOf({})).catch((e: unknown) => e)) as InfluxStorageError;
    expect(err.exitCode).toBe(69);
  });
});

describe('buckets on InfluxDB 2.x and 3.x (recorded answers)', () => {
  let server: Server;
  let url = '';
  let mode: '2.x' | '3.x' = '2.x';
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization}`);
      if (req.url === '/ping') return void res.writeHead(204, { 'x-influxdb-version': mode === '2.x' ? 'v2.7.11' : '3.2.0' }).end();
      if (mode === '2.x' && req.url?.startsWith('/api/v2/buckets')) {
        // As 2.7 answers GET /api/v2/buckets (trimmed to the fields read).
        const b = (name: string, everySeconds: number) => ({ id: '0', orgID: '1', type: 'user', name, retentionRules: [{ type: 'expire', everySeconds, shardGroupDurationSeconds: 0 }] });
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ links: {}, buckets: [b('_monitoring', 604800), b('fieldline', 2_592_000), b('fieldline_1m', 31_536_000), b('fieldline_1h', 0)] }));
      }
      if (mode === '3.x' && req.url === '/api/v3/configure/database?format=json') {
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([{ 'iox::database': '_internal' }, { 'iox::database': 'fieldline' }, { 'iox::database': 'fieldline_1m' }]));
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"not found","message":"path not found"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('2.x: every tier bucket is found with its retention, with the token; a missing one fails naming the key', async () => {
    mode = '2.x';
    const conn = await connectInflux({ url, org: 'acme', token: 'tok-123' });
    expect(conn.api).toBe('v2');
    const r = await ensureRetention(conn, tiersOf({}));
    expect(r.tiers.map((t) => [t.tier, t.where, t.retentionMs])).toEqual([
      ['raw', 'fieldline', 30 * 86_400_000],
      ['1m', 'fieldline_1m', 365 * 86_400_000],
      ['1h', 'fieldline_1h', Infinity],
    ]);
    expect(seen.at(-1)).toBe('/api/v2/buckets?org=acme&limit=100 Token tok-123');
    const missing = await ensureRetention(conn, tiersOf({ rollups: [{ name: '5m', every: '5m', retention: '90d' }] })).catch((e: InfluxStorageError) => [e.exitCode, e.message]);
    expect(missing).toEqual([78, 'tiers.rollups[0].bucket: bucket "fieldline_5m" not found on InfluxDB 2.x ' + url + '; create it (`influx bucket create --name fieldline_5m --retention 90d`) or name an existing one']);
    const differs = await ensureRetention(conn, tiersOf({ manage: 'check', raw: { retention: '7d' } })).catch((e: Error) => e.message);
    expect(differs).toBe('influx.bucket: bucket "fieldline" keeps 30d, the config says 7d (tiers.manage: check)');
  });

  it('3.x: databases listed by /api/v3/configure/database are the buckets', async () => {
    mode = '3.x';
    const conn = await connectInflux({ url, org: 'acme', token: 'tok-123' });
    const missing = await ensureRetention(conn, tiersOf({})).catch((e: Error) => e.message);
    expect(missing).toBe(`tiers.rollups[1].bucket: database "fieldline_1h" not found on InfluxDB 3.x ${url}; create it (\`influxdb3 create database fieldline_1h\`) or name an existing one`);
    const ok = await ensureRetention(conn, tiersOf({ rollups: [{ name: '1m', every: '1m', retention: '365d' }] }));
    expect(ok.tiers.map((t) => [t.where, t.retentionMs])).toEqual([['fieldline', null], ['fieldline_1m', null]]);
  });
});
