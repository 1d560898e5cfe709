/**
 * Retention per tier, set up and checked at start (the processor's): InfluxDB 1.x retention
 * policies are created and their durations applied (`tiers.manage: apply`) or compared (`check`)
 * over `/query`; InfluxDB 2.x buckets (`/api/v2/buckets`) and 3.x databases
 * (`/api/v3/configure/database`) are named in the config and checked to exist, never created:
 * that needs an operator's token. Debian's 1.6.7 is the only server that runs here; the 2.x/3.x
 * checks are tested against recorded answers (cloud/test/influx/retention.test.ts).
 */
import type { Logger } from 'pino';
import { formatDurationMs } from '../units/duration.js';
import type { InfluxApi, InfluxConnection } from './connection.js';
import { InfluxQueryError, InfluxStorageError } from './errors.js';
import { createInfluxQuery, influxqlIdent as ident, seriesRows } from './query.js';
import type { Tiers } from './tiers.js';

/** What was found and done, for the start-up log and tests. */
export interface RetentionReport {
  api: InfluxApi;
  /** v1: `{policy, durationMs}` as the server has them after start; v2: buckets found. */
  tiers: { tier: string; where: string; retentionMs: number | null; action: 'created' | 'altered' | 'ok' | 'checked' | 'skipped' }[];
}

/** InfluxQL duration literal: whole hours (1.x rounds to them), INF for forever. */
export function influxDuration(ms: number): string {
  return ms === Infinity ? 'INF' : `${Math.ceil(ms / 3_600_000)}h`;
}

/** A Go duration as 1.x prints it (`720h0m0s`, `0s` = forever) in ms; Infinity for 0. */
export function parseGoDuration(text: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(text);
  if (!m) throw new InfluxQueryError(`unexpected retention policy duration "${text}"`);
  const ms = (Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 1000;
  return ms === 0 ? Infinity : ms;
}

const same = (a: number, b: number): boolean => a === b || (a !== Infinity && b !== Infinity && Math.ceil(a / 3_600_000) === Math.ceil(b / 3_600_000));
const show = (ms: number): string => formatDurationMs(ms);

export async function ensureRetention(conn: InfluxConnection, tiers: Tiers, opts: { logger?: Logger } = {}): Promise<RetentionReport> {
  if (tiers.manage === 'off') return { api: conn.api, tiers: [] };
  try {
    return conn.api === 'v1' ? await ensureV1(conn, tiers, opts.logger) : await checkV2(conn, tiers, opts.logger);
  } catch (err) {
    if (err instanceof InfluxStorageError) throw err;
    throw new InfluxStorageError(`tiers: could not check retention on InfluxDB ${conn.url}: ${(err as Error).message}`, 69, { cause: err });
  }
}

async function ensureV1(conn: InfluxConnection, tiers: Tiers, logger: Logger | undefined): Promise<RetentionReport> {
  const q = createInfluxQuery(conn);
  const db = conn.config.database;
  const run = async (text: string): Promise<void> => {
    try {
      await q.influxql(text);
    } catch (err) {
      // Not allowed (a non-admin user) or refused: the operator must create it, or fix the config.
      throw new InfluxStorageError(`tiers: InfluxDB refused \`${text}\`: ${(err as Error).message}`, /unreachable/.test((err as Error).message) ? 69 : 78, { cause: err });
    }
  };
  const policies = async (): Promise<Map<string, { durationMs: number; isDefault: boolean }>> => {
    const [series = []] = await q.influxql(`SHOW RETENTION POLICIES ON ${ident(db)}`);
    const out = new Map<string, { durationMs: number; isDefault: boolean }>();
    for (const s of series) for (const r of seriesRows(s)) out.set(String(r.name), { durationMs: parseGoDuration(String(r.duration)), isDefault: r.default === true });
    return out;
  };
  await run(`CREATE DATABASE ${ident(db)}`);
  const have = await policies();
  const rawPolicy = tiers.raw.retentionPolicy ?? [...have].find(([, p]) => p.isDefault)?.[0] ?? 'autogen';
  const wanted = [
    { tier: 'raw', policy: rawPolicy, retentionMs: tiers.raw.retentionMs, key: tiers.raw.retentionPolicy ? 'influx.retentionPolicy / tiers.raw.retention' : 'tiers.raw.retention' },
    ...tiers.rollups.map((t) => ({ tier: t.name, policy: t.retentionPolicy, retentionMs: t.retentionMs, key: `${t.path}.retention` })),
  ];
  const report: RetentionReport = { api: 'v1', tiers: [] };
  for (const w of wanted) {
    const cur = have.get(w.policy);
    const where = `${db}.${w.policy}`;
    if (cur && same(cur.durationMs, w.retentionMs)) {
      report.tiers.push({ tier: w.tier, where, retentionMs: cur.durationMs, action: tiers.manage === 'check' ? 'checked' : 'ok' });
      continue;
    }
    if (tiers.manage === 'check') {
      const found = cur ? `keeps ${show(cur.durationMs)}` : 'does not exist';
      throw new InfluxStorageError(`${w.key}: retention policy "${w.policy}" on database "${db}" ${found}, the config says ${show(w.retentionMs)} (tiers.manage: check)`, 78);
    }
    if (cur) {
      // Shrinking a policy deletes what falls outside it: said once, loudly.
      logger?.warn({ tier: w.tier, policy: where, from: show(cur.durationMs), to: show(w.retentionMs) }, 'altering retention policy to the configured duration');
      await run(`ALTER RETENTION POLICY ${ident(w.policy)} ON ${ident(db)} DURATION ${influxDuration(w.retentionMs)}`);
      report.tiers.push({ tier: w.tier, where, retentionMs: w.retentionMs, action: 'altered' });
    } else {
      await run(`CREATE RETENTION POLICY ${ident(w.policy)} ON ${ident(db)} DURATION ${influxDuration(w.retentionMs)} REPLICATION 1`);
      logger?.info({ tier: w.tier, policy: where, retention: show(w.retentionMs) }, 'retention policy created');
      report.tiers.push({ tier: w.tier, where, retentionMs: w.retentionMs, action: 'created' });
    }
  }
  // Checked after the change: what the server now holds is what the config says.
  const after = await policies();
  for (const w of wanted) {
    const cur = after.get(w.policy);
    if (!cur || !same(cur.durationMs, w.retentionMs)) {
      throw new InfluxStorageError(`${w.key}: retention policy "${w.policy}" on "${db}" is ${cur ? show(cur.durationMs) : 'missing'} after setting it to ${show(w.retentionMs)}`, 78);
    }
  }
  return report;
}

interface BucketInfo {
  name: string;
  retentionMs: number | null;
}

/**
 * 2.x: `/api/v2/buckets`; 3.x (which has no buckets API): `/api/v3/configure/database`, straight
 * away on the v3 path, else after the buckets API answered that it is not there.
 */
async function listBuckets(conn: InfluxConnection): Promise<{ server: '2.x' | '3.x'; buckets: Map<string, BucketInfo> }> {
  const headers: Record<string, string> = conn.authorization ? { authorization: conn.authorization } : {};
  const get = async (path: string): Promise<Response> => {
    try {
      return await fetch(`${conn.url}${path}`, { headers, signal: AbortSignal.timeout(conn.config.timeoutMs) });
    } catch (err) {
      throw new InfluxStorageError(`tiers: InfluxDB ${conn.url} unreachable: ${(err as Error).message}`, 69, { cause: err });
    }
  };
  const org = conn.config.org ?? '';
  const res = conn.api === 'v3' ? undefined : await get(`/api/v2/buckets?${new URLSearchParams({ org, limit: '100' })}`);
  if (res && (res.status === 401 || res.status === 403)) throw new InfluxStorageError(`influx.token: InfluxDB refused to list buckets (HTTP ${res.status}); the token needs read access to buckets`, 78);
  if (res?.ok) {
    const body = (await res.json()) as { buckets?: { name: string; retentionRules?: { everySeconds?: number }[] }[] };
    const buckets = new Map<string, BucketInfo>();
    for (const b of body.buckets ?? []) {
      const every = b.retentionRules?.[0]?.everySeconds ?? 0;
      buckets.set(b.name, { name: b.name, retentionMs: every > 0 ? every * 1000 : Infinity });
    }
    return { server: '2.x', buckets };
  }
  await res?.arrayBuffer();
  const v3 = await get('/api/v3/configure/database?format=json');
  if (res === undefined && (v3.status === 401 || v3.status === 403)) throw new InfluxStorageError(`influx.token: InfluxDB refused to list databases (HTTP ${v3.status}); the token needs to read the database list`, 78);
  if (!v3.ok) throw new InfluxStorageError(`tiers: InfluxDB ${conn.url} answered ${res ? `neither /api/v2/buckets (HTTP ${res.status}) nor ` : ''}/api/v3/configure/database (HTTP ${v3.status})`, 69);
  const rows = (await v3.json()) as Record<string, unknown>[];
  const buckets = new Map<string, BucketInfo>();
  // 3.x lists databases as rows of one column (`iox::database`); retention is not reported.
  for (const r of rows) for (const v of Object.values(r)) if (typeof v === 'string') buckets.set(v, { name: v, retentionMs: null });
  return { server: '3.x', buckets };
}

async function checkV2(conn: InfluxConnection, tiers: Tiers, logger: Logger | undefined): Promise<RetentionReport> {
  const { server, buckets } = await listBuckets(conn);
  // The v3 path writes the raw readings to `influx.database` (its v1-compatible /write); a rollup
  // tier to its own database, named like a 2.x bucket.
  const raw = conn.api === 'v3' ? { bucket: conn.config.database, key: 'influx.database' } : { bucket: tiers.raw.bucket, key: 'influx.bucket' };
  const wanted = [
    { tier: 'raw', bucket: raw.bucket, retentionMs: tiers.raw.retentionMs, key: raw.key },
    ...tiers.rollups.map((t) => ({ tier: t.name, bucket: t.bucket, retentionMs: t.retentionMs, key: `${t.path}.bucket` })),
  ];
  const report: RetentionReport = { api: conn.api, tiers: [] };
  for (const w of wanted) {
    const b = buckets.get(w.bucket);
    if (!b) {
      const how = server === '3.x' ? `influxdb3 create database ${w.bucket}` : `influx bucket create --name ${w.bucket} --retention ${w.retentionMs === Infinity ? '0' : show(w.retentionMs)}`;
      throw new InfluxStorageError(`${w.key}: ${server === '3.x' ? 'database' : 'bucket'} "${w.bucket}" not found on InfluxDB ${server} ${conn.url}; create it (\`${how}\`) or name an existing one`, 78);
    }
    if (b.retentionMs !== null && !same(b.retentionMs, w.retentionMs)) {
      const msg = `bucket "${w.bucket}" keeps ${show(b.retentionMs)}, the config says ${show(w.retentionMs)}`;
      if (tiers.manage === 'check') throw new InfluxStorageError(`${w.key}: ${msg} (tiers.manage: check)`, 78);
      // Buckets are the operator's: said, not changed.
      logger?.warn({ tier: w.tier, bucket: w.bucket }, `${msg}; change it with \`influx bucket update\``);
    }
    report.tiers.push({ tier: w.tier, where: w.bucket, retentionMs: b.retentionMs, action: 'checked' });
  }
  return report;
}
