/** Reads readings, sessions and alerts from InfluxDB 1.x (InfluxQL over `/query`) or 2.x (Flux). */
import { InfluxDB, type QueryApi } from '@influxdata/influxdb-client';
import type { AlertEvent, SessionSummary } from '@fieldline/contract';
import type { InfluxConfig } from '../influx/config.js';
import { readSecretFile } from './config.js';
import { flux, influxql, type SeriesQuery, type TagFilter } from './query-text.js';

export interface LastReading {
  device: string;
  sensor: string;
  ts: number;
  value: number;
  unit?: string;
}

/** Columnar, as uPlot draws it: one entry per non-empty bucket, `time` is the bucket start. */
export interface SeriesData {
  time: number[];
  mean: number[];
  min: number[];
  max: number[];
}

export type SessionRow = Omit<SessionSummary, 'v'>;
/** One stored transition of an alert (the measurement holds firing and resolved rows). */
export type AlertRow = Omit<AlertEvent, 'v'>;

export interface Store {
  readonly api: 'v1' | 'v2';
  lastReadings(): Promise<LastReading[]>;
  series(q: SeriesQuery): Promise<SeriesData>;
  sessions(tags: TagFilter, since: number, from: number, to: number, limit: number): Promise<SessionRow[]>;
  /** Transitions in [since, to) plus later resolutions of alerts started before `to`, in time order. */
  alertRows(tags: TagFilter, since: number, to: number, limit: number): Promise<AlertRow[]>;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';
}

type Row = Record<string, unknown>;
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const optNum = (v: unknown): number | undefined => (v === null || v === undefined || v === '' ? undefined : num(v));

function sessionFromRow(r: Row, start: number): SessionRow {
  return {
    device: str(r.device),
    sensor: str(r.sensor),
    start,
    end: num(r.end),
    count: num(r.count),
    min: num(r.min),
    max: num(r.max),
    mean: num(r.mean),
    stddev: num(r.stddev),
    anomalies: num(r.anomalies),
    closedBy: str(r.closed_by) as SessionRow['closedBy'],
  };
}

function alertFromRow(r: Row, ts: number): AlertRow {
  const end = optNum(r.end);
  return {
    id: str(r.id),
    state: str(r.state) as AlertRow['state'],
    severity: str(r.severity) as AlertRow['severity'],
    device: str(r.device),
    sensor: str(r.sensor),
    rule: str(r.rule),
    start: num(r.start),
    ...(end === undefined ? {} : { end }),
    ts,
    value: num(r.value),
    score: num(r.score),
    message: str(r.message),
  };
}

function secret(cfg: InfluxConfig): { token?: string; username?: string; password?: string } {
  const token = cfg.token ?? (cfg.tokenFile ? readSecretFile(cfg.tokenFile, 'influx.tokenFile') : undefined);
  const password = cfg.password ?? (cfg.passwordFile ? readSecretFile(cfg.passwordFile, 'influx.passwordFile') : undefined);
  return { token, username: cfg.username, password };
}

interface V1Series {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** InfluxQL over the 1.x HTTP API. */
class V1Store implements Store {
  readonly api = 'v1' as const;
  private readonly headers: Record<string, string> = {};

  constructor(private readonly cfg: InfluxConfig) {
    const s = secret(cfg);
    const [user, pass] = s.username ? [s.username, s.password ?? ''] : s.token?.includes(':') ? s.token.split(/:(.*)/s) : [];
    if (user !== undefined) this.headers.authorization = `Basic ${Buffer.from(`${user}:${pass ?? ''}`).toString('base64')}`;
  }

  /** Runs one request (possibly several `;`-separated statements); a missing database reads as empty. */
  private async run(q: string): Promise<V1Series[][]> {
    const body = new URLSearchParams({ q, db: this.cfg.database, epoch: 'ms' });
    if (this.cfg.retentionPolicy) body.set('rp', this.cfg.retentionPolicy);
    let res: Response;
    try {
      res = await fetch(`${this.cfg.url}/query`, {
        method: 'POST',
        body,
        headers: this.headers,
        signal: AbortSignal.timeout(this.cfg.timeoutMs),
      });
    } catch (err) {
      throw new StoreError(`InfluxDB unreachable at ${this.cfg.url}: ${(err as Error).message}`, { cause: err });
    }
    const json = (await res.json().catch(() => ({}))) as { results?: { series?: V1Series[]; error?: string }[]; error?: string };
    const err = json.error ?? json.results?.find((r) => r.error)?.error;
    if (err && /database not found/.test(err)) return (json.results ?? []).map(() => []);
    if (!res.ok || err) throw new StoreError(`InfluxDB query failed (HTTP ${res.status}): ${err ?? 'no result'}`);
    return (json.results ?? []).map((r) => r.series ?? []);
  }

  private static rows(series: V1Series): Row[] {
    return series.values.map((v) => {
      const row: Row = { ...series.tags };
      series.columns.forEach((c, i) => (row[c] = v[i]));
      return row;
    });
  }

  async lastReadings(): Promise<LastReading[]> {
    const [values = [], units = []] = await this.run(influxql.lastReadings());
    const unitOf = new Map(units.map((s) => [`${s.tags?.device}/${s.tags?.sensor}`, s.values[0]?.[1]]));
    return values.map((s) => {
      const unit = unitOf.get(`${s.tags?.device}/${s.tags?.sensor}`);
      return {
        device: str(s.tags?.device),
        sensor: str(s.tags?.sensor),
        ts: num(s.values[0]?.[0]),
        value: num(s.values[0]?.[1]),
        ...(typeof unit === 'string' && unit ? { unit } : {}),
      };
    });
  }

  async series(q: SeriesQuery): Promise<SeriesData> {
    const [series = []] = await this.run(influxql.series(q));
    const out: SeriesData = { time: [], mean: [], min: [], max: [] };
    for (const r of series.flatMap((s) => V1Store.rows(s))) {
      out.time.push(num(r.time));
      out.mean.push(num(r.mean));
      out.min.push(num(r.min));
      out.max.push(num(r.max));
    }
    return out;
  }

  async sessions(tags: TagFilter, since: number, from: number, to: number, limit: number): Promise<SessionRow[]> {
    const [series = []] = await this.run(influxql.sessions(tags, since, from, to, limit));
    return series.flatMap((s) => V1Store.rows(s)).map((r) => sessionFromRow(r, num(r.time)));
  }

  async alertRows(tags: TagFilter, since: number, to: number, limit: number): Promise<AlertRow[]> {
    const [before = [], after = []] = await this.run(influxql.alerts(tags, since, to, limit));
    return [...before, ...after].flatMap((s) => V1Store.rows(s)).map((r) => alertFromRow(r, num(r.time)));
  }
}

/** Flux over the 2.x HTTP API (`/api/v2/query`), through the official client. */
class V2Store implements Store {
  readonly api = 'v2' as const;
  private readonly query: QueryApi;

  constructor(private readonly cfg: InfluxConfig) {
    const { token } = secret(cfg);
    this.query = new InfluxDB({ url: cfg.url, token, timeout: cfg.timeoutMs }).getQueryApi(cfg.org ?? '');
  }

  private async rows(text: string): Promise<Row[]> {
    try {
      return await this.query.collectRows<Row>(text);
    } catch (err) {
      throw new StoreError(`InfluxDB Flux query failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async lastReadings(): Promise<LastReading[]> {
    const byKey = new Map<string, LastReading>();
    for (const r of await this.rows(flux.lastReadings(this.cfg.bucket))) {
      const key = `${str(r.device)}/${str(r.sensor)}`;
      const entry = byKey.get(key) ?? { device: str(r.device), sensor: str(r.sensor), ts: 0, value: Number.NaN };
      if (r._field === 'value') {
        entry.value = num(r._value);
        entry.ts = Date.parse(str(r._time));
      } else if (r._value) entry.unit = str(r._value);
      byKey.set(key, entry);
    }
    return [...byKey.values()].filter((e) => Number.isFinite(e.value));
  }

  async series(q: SeriesQuery): Promise<SeriesData> {
    const out: SeriesData = { time: [], mean: [], min: [], max: [] };
    for (const r of await this.rows(flux.series(this.cfg.bucket, q))) {
      out.time.push(Date.parse(str(r._time)));
      out.mean.push(num(r.mean));
      out.min.push(num(r.min));
      out.max.push(num(r.max));
    }
    return out;
  }

  async sessions(tags: TagFilter, since: number, from: number, to: number, limit: number): Promise<SessionRow[]> {
    const rows = await this.rows(flux.sessions(this.cfg.bucket, tags, since, from, to, limit));
    return rows.map((r) => sessionFromRow(r, Date.parse(str(r._time))));
  }

  async alertRows(tags: TagFilter, since: number, to: number, limit: number): Promise<AlertRow[]> {
    const rows = await this.rows(flux.alerts(this.cfg.bucket, tags, since, to, limit));
    return rows.map((r) => alertFromRow(r, Date.parse(str(r._time))));
  }
}

/**
 * Picks the query language. `auto` asks `/ping`: any 1.x gets InfluxQL (Flux is optional on 1.8,
 * InfluxQL is always there), 2.x/3.x/Cloud get Flux.
 */
export async function openStore(cfg: InfluxConfig): Promise<Store> {
  let api = cfg.api;
  if (api === 'auto') {
    let version: string | null;
    try {
      const res = await fetch(`${cfg.url}/ping`, { signal: AbortSignal.timeout(cfg.timeoutMs) });
      version = res.headers.get('x-influxdb-version');
    } catch (err) {
      throw new StoreError(`influx.url: cannot reach InfluxDB at ${cfg.url} to detect its version: ${(err as Error).message}`, { cause: err });
    }
    api = version && /^v?1\./.test(version) ? 'v1' : 'v2';
  }
  return api === 'v1' ? new V1Store(cfg) : new V2Store(cfg);
}
