/**
 * Reads readings, sessions and alerts from InfluxDB 1.x and 3.x (InfluxQL over `/query`) or 2.x
 * (Flux), through the InfluxDB module (connection, auth and version detection shared with the
 * writer). 3.x has no Flux: its v1-compatible InfluxQL endpoint runs the same statements as 1.x.
 */
import type { AlertEvent, SessionSummary } from '@fieldline/contract';
import type { InfluxConfig } from '../influx/config.js';
import { connectInflux, type InfluxApi } from '../influx/connection.js';
import { createInfluxQuery, seriesRows, type InfluxQuery, type InfluxSeries, type Row } from '../influx/query.js';
import { flux, influxql, type RollupSource, type SeriesQuery, type TagFilter } from './query-text.js';

export { InfluxQueryError as StoreError } from '../influx/errors.js';

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

/**
 * A rollup tier answering `/series`, and from when on the raw readings answer instead: the latest
 * windows of a tier are written only once their devices' event time has passed them.
 */
export interface RollupRead extends RollupSource {
  rawFrom: number;
}

interface Totals {
  time: number;
  sum: number;
  count: number;
  min: number;
  max: number;
}

/** Buckets from the rollups and from the raw tail, combined where a bucket has both (disjoint time ranges). */
function mergeTotals(rows: Totals[]): SeriesData {
  const byTime = new Map<number, Totals>();
  for (const r of rows) {
    if (!(r.count > 0)) continue;
    const b = byTime.get(r.time);
    if (!b) byTime.set(r.time, { ...r });
    else {
      b.sum += r.sum;
      b.count += r.count;
      if (r.min < b.min) b.min = r.min;
      if (r.max > b.max) b.max = r.max;
    }
  }
  const out: SeriesData = { time: [], mean: [], min: [], max: [] };
  for (const b of [...byTime.values()].sort((x, y) => x.time - y.time)) {
    out.time.push(b.time);
    out.mean.push(b.sum / b.count);
    out.min.push(b.min);
    out.max.push(b.max);
  }
  return out;
}

/** The rollup part `[from, cut)` and the raw part `[cut, to)` of a query. */
function split(q: SeriesQuery, rollup: RollupRead): { rollup?: SeriesQuery; raw?: SeriesQuery } {
  const cut = Math.min(Math.max(rollup.rawFrom, q.from), q.to);
  return { ...(cut > q.from ? { rollup: { ...q, to: cut } } : {}), ...(cut < q.to ? { raw: { ...q, from: cut } } : {}) };
}

const totalsOf = (r: Row, time: number): Totals => ({ time, sum: num(r.sum), count: num(r.count), min: num(r.min), max: num(r.max) });

/** A slice of a read has at least this many buckets: below it, a second request costs more than it saves. */
export const MIN_SLICE_BUCKETS = 100;

/**
 * Splits a read at bucket boundaries (the `GROUP BY time(bucketMs, offsetMs)` grid) into at most
 * `n` slices of about as many buckets each, at least {@link MIN_SLICE_BUCKETS}: every bucket lies
 * wholly in one slice, so the slices' rows, in order, are the rows of the whole read.
 */
export function sliceSeries(q: SeriesQuery, n: number): SeriesQuery[] {
  const b = q.bucketMs;
  const gridStart = q.from - ((((q.from - q.offsetMs) % b) + b) % b);
  const buckets = Math.ceil((q.to - gridStart) / b);
  const k = Math.max(1, Math.min(n, Math.floor(buckets / MIN_SLICE_BUCKETS)));
  const out: SeriesQuery[] = [];
  let from = q.from;
  for (let i = 1; i < k; i++) {
    const cut = gridStart + Math.round((i * buckets) / k) * b;
    if (cut <= from || cut >= q.to) continue;
    out.push({ ...q, from, to: cut });
    from = cut;
  }
  out.push({ ...q, from });
  return out;
}

/** How the store reads. */
export interface StoreOptions {
  /**
   * InfluxDB 1.x runs one query on one core, reading each aggregated field in turn: a `/series`
   * read of many buckets goes out as up to this many queries at once (slices of its time range at
   * bucket boundaries, {@link sliceSeries}), and a rollup read's raw tail beside them. 1: one query.
   * @default 2
   */
  seriesParallel?: number;
}

export type SessionRow = Omit<SessionSummary, 'v'>;
/** One stored transition of an alert (the measurement holds firing and resolved rows). */
export type AlertRow = Omit<AlertEvent, 'v'>;

export interface Store {
  readonly api: InfluxApi;
  lastReadings(): Promise<LastReading[]>;
  /** From the raw readings, or from a rollup tier when `rollup` is given (the raw readings from `rollup.rawFrom` on). */
  series(q: SeriesQuery, rollup?: RollupRead): Promise<SeriesData>;
  sessions(tags: TagFilter, since: number, from: number, to: number, limit: number): Promise<SessionRow[]>;
  /** Transitions in [since, to) plus later resolutions of alerts started before `to`, in time order. */
  alertRows(tags: TagFilter, since: number, to: number, limit: number): Promise<AlertRow[]>;
}

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

const rowsOf = (series: InfluxSeries[]): Row[] => series.flatMap((s) => seriesRows(s));

/**
 * InfluxQL over the v1 `/query` API: 1.x, and 3.x's v1-compatible endpoint. Rows are read by
 * column name with GROUP BY tags merged in ({@link seriesRows}), so a server that returns the tags
 * as columns (InfluxDB 3) reads the same as one that returns them per series (1.x).
 */
class InfluxqlStore implements Store {
  readonly api: InfluxApi;

  private readonly parallel: number;

  constructor(
    private readonly q: InfluxQuery,
    opts: StoreOptions,
  ) {
    this.api = q.api;
    // 3.x plans and parallelises a query itself: slicing is for 1.x.
    this.parallel = q.api === 'v1' ? (opts.seriesParallel ?? 2) : 1;
  }

  /** The slices of a read, each one statement, sent at once (1.x: one POST each; 3.x: one GET each, as always). */
  private async sliced(q: SeriesQuery, text: (s: SeriesQuery) => string): Promise<InfluxSeries[]> {
    const parts = await Promise.all(sliceSeries(q, this.parallel).map((s) => this.run([text(s)])));
    return parts.flatMap(([series = []]) => series);
  }

  private run(statements: string | string[]): Promise<InfluxSeries[][]> {
    return this.q.influxql(statements);
  }

  async lastReadings(): Promise<LastReading[]> {
    const [values = [], units = []] = await this.run(influxql.lastReadings());
    const unitOf = new Map(rowsOf(units).map((r) => [`${str(r.device)}/${str(r.sensor)}`, r.unit]));
    return rowsOf(values).map((r) => {
      const unit = unitOf.get(`${str(r.device)}/${str(r.sensor)}`);
      return {
        device: str(r.device),
        sensor: str(r.sensor),
        ts: num(r.time),
        value: num(r.value),
        ...(typeof unit === 'string' && unit ? { unit } : {}),
      };
    });
  }

  async series(q: SeriesQuery, rollup?: RollupRead): Promise<SeriesData> {
    if (rollup) {
      const parts = split(q, rollup);
      let results: InfluxSeries[][];
      if (this.api === 'v3') {
        // 3.x keeps a rollup tier in its own database (its `bucket` name): one request per database.
        const [tier, raw] = await Promise.all([
          parts.rollup ? this.q.influxql([influxql.rollupTotals(parts.rollup, rollup, false)], { database: rollup.bucket }) : [],
          parts.raw ? this.run([influxql.rawTotals(parts.raw)]) : [],
        ]);
        results = [...tier, ...raw];
      } else {
        // The tier's slices and the raw tail at once: one statement per POST, as 1.x runs the
        // statements of one POST one after the other.
        const [tier, raw] = await Promise.all([
          parts.rollup ? this.sliced(parts.rollup, (s) => influxql.rollupTotals(s, rollup)) : [],
          parts.raw ? this.sliced(parts.raw, influxql.rawTotals) : [],
        ]);
        results = [tier, raw];
      }
      return mergeTotals(rowsOf(results.flat()).map((r) => totalsOf(r, num(r.time))));
    }
    const series = await this.sliced(q, influxql.series);
    const out: SeriesData = { time: [], mean: [], min: [], max: [] };
    for (const r of rowsOf(series)) {
      out.time.push(num(r.time));
      out.mean.push(num(r.mean));
      out.min.push(num(r.min));
      out.max.push(num(r.max));
    }
    return out;
  }

  async sessions(tags: TagFilter, since: number, from: number, to: number, limit: number): Promise<SessionRow[]> {
    const [series = []] = await this.run(influxql.sessions(tags, since, from, to, limit));
    return rowsOf(series).map((r) => sessionFromRow(r, num(r.time)));
  }

  async alertRows(tags: TagFilter, since: number, to: number, limit: number): Promise<AlertRow[]> {
    const [before = [], after = []] = await this.run(influxql.alerts(tags, since, to, limit));
    return rowsOf([...before, ...after]).map((r) => alertFromRow(r, num(r.time)));
  }
}

/** Flux over the 2.x HTTP API (`/api/v2/query`), through the official client. */
class FluxStore implements Store {
  readonly api = 'v2' as const;

  constructor(
    private readonly q: InfluxQuery,
    private readonly cfg: InfluxConfig,
  ) {}

  private rows(text: string): Promise<Row[]> {
    return this.q.flux(text);
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

  async series(q: SeriesQuery, rollup?: RollupRead): Promise<SeriesData> {
    if (rollup) {
      const parts = split(q, rollup);
      const rows = await Promise.all([parts.rollup && this.rows(flux.rollupTotals(parts.rollup, rollup)), parts.raw && this.rows(flux.rawTotals(this.cfg.bucket, parts.raw))]);
      return mergeTotals(rows.flatMap((x) => x ?? []).map((r) => totalsOf(r, Date.parse(str(r._time)))));
    }
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

/** Picks the query language from the connection's API (`auto` asks `/ping` once: 1.x and 3.x InfluxQL, 2.x Flux). */
export async function openStore(cfg: InfluxConfig, opts: StoreOptions = {}): Promise<Store> {
  const conn = await connectInflux(cfg);
  const q = createInfluxQuery(conn);
  return conn.api === 'v2' ? new FluxStore(q, conn.config) : new InfluxqlStore(q, opts);
}
