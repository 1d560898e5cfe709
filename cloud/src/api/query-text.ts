/**
 * InfluxQL (1.x) and Flux (2.x) query text. Pure functions, unit-tested: every value that comes
 * from a request is validated by the route schema first and is still escaped here (defence in
 * depth: issue 7 "never pasted into InfluxQL/Flux text unescaped"). Times are integers we computed.
 */
import { MEASUREMENTS } from '@fieldline/contract';
// Escaping lives with the queries of the InfluxDB module (the processor's rollup repairs use it too).
import { fluxString, influxqlIdent, influxqlString } from '../influx/query.js';

export { fluxString, influxqlIdent, influxqlString };

function int(n: number, what: string): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} must be a safe integer, got ${n}`);
  return String(n);
}

/** Flux time literal (RFC 3339) from epoch ms. */
export function fluxTime(ms: number): string {
  return new Date(Number(int(ms, 'time'))).toISOString();
}

/** Equality filters on tags; keys are our own constants, values come from validated ids. */
export type TagFilter = Partial<Record<'device' | 'sensor' | 'rule' | 'severity', string>>;

function influxqlTagConds(tags: TagFilter): string[] {
  return Object.entries(tags)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${influxqlIdent(k)} = ${influxqlString(v)}`);
}

function fluxTagConds(tags: TagFilter): string[] {
  return Object.entries(tags)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `r[${fluxString(k)}] == ${fluxString(v)}`);
}

/** Bucketing for `/series`: buckets start at `from`, so there are never more than `points` of them. */
export interface Bucketing {
  bucketMs: number;
  /** Window offset from the epoch so that a bucket starts exactly at `from`. */
  offsetMs: number;
}

export function bucketing(from: number, to: number, points: number): Bucketing {
  const bucketMs = Math.max(1, Math.ceil((to - from) / points));
  return { bucketMs, offsetMs: ((from % bucketMs) + bucketMs) % bucketMs };
}

export interface SeriesQuery {
  device: string;
  sensor: string;
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  bucketMs: number;
  offsetMs: number;
}

/** Where a rollup tier is stored: 1.x database + retention policy, or 2.x/3.x bucket; and its measurement. */
export interface RollupSource {
  database: string;
  retentionPolicy: string;
  bucket: string;
  measurement: string;
}

function totals(select: string, from: string, q: SeriesQuery): string {
  const where = [...influxqlTagConds({ device: q.device, sensor: q.sensor }), `time >= ${int(q.from, 'from')}ms`, `time < ${int(q.to, 'to')}ms`].join(' AND ');
  return `SELECT ${select} FROM ${from} WHERE ${where} GROUP BY time(${int(q.bucketMs, 'bucketMs')}ms, ${int(q.offsetMs, 'offsetMs')}ms) fill(none)`;
}

export const influxql = {
  /** Last value and last unit of every device/sensor (two statements). */
  lastReadings(): string[] {
    const m = influxqlIdent(MEASUREMENTS.readings);
    return [
      `SELECT last("value") AS "value" FROM ${m} GROUP BY "device", "sensor"`,
      `SELECT last("unit") AS "unit" FROM ${m} GROUP BY "device", "sensor"`,
    ];
  },

  series(q: SeriesQuery): string {
    const where = [
      ...influxqlTagConds({ device: q.device, sensor: q.sensor }),
      `time >= ${int(q.from, 'from')}ms`,
      `time < ${int(q.to, 'to')}ms`,
    ].join(' AND ');
    return (
      // No count(): InfluxDB 1.x reads the series once per aggregate, and each costs a full pass.
      `SELECT mean("value") AS "mean", min("value") AS "min", max("value") AS "max" ` +
      `FROM ${influxqlIdent(MEASUREMENTS.readings)} WHERE ${where} ` +
      `GROUP BY time(${int(q.bucketMs, 'bucketMs')}ms, ${int(q.offsetMs, 'offsetMs')}ms) fill(none)`
    );
  },

  /**
   * Per bucket from a rollup tier: the totals a bucket of whole windows combines to (sum of sums,
   * sum of counts, min of mins, max of maxes); the mean is sum / count (weighted, not a mean of means).
   */
  rollupTotals(q: SeriesQuery, src: RollupSource, qualified = true): string {
    // 1.x: database.retention_policy.measurement; 3.x (a tier is its own database, sent as `db`): the measurement.
    const from = qualified ? `${influxqlIdent(src.database)}.${influxqlIdent(src.retentionPolicy)}.${influxqlIdent(src.measurement)}` : influxqlIdent(src.measurement);
    return totals(`sum("sum") AS "sum", sum("count") AS "count", min("min") AS "min", max("max") AS "max"`, from, q);
  },

  /** The same totals from the raw readings (the part of a range whose rollup windows may not be written yet). */
  rawTotals(q: SeriesQuery): string {
    return totals(`sum("value") AS "sum", count("value") AS "count", min("value") AS "min", max("value") AS "max"`, influxqlIdent(MEASUREMENTS.readings), q);
  },

  /** Sessions overlapping [from, to): started since `since` (from − lookback), before `to`, ended at or after `from`. */
  sessions(tags: TagFilter, since: number, from: number, to: number, limit: number): string {
    const where = [
      ...influxqlTagConds(tags),
      `time >= ${int(since, 'since')}ms`,
      `time < ${int(to, 'to')}ms`,
      `"end" >= ${int(from, 'from')}`,
    ].join(' AND ');
    return (
      `SELECT "end", "count", "min", "max", "mean", "stddev", "anomalies", "closed_by", "device", "sensor" ` +
      `FROM ${influxqlIdent(MEASUREMENTS.sessions)} WHERE ${where} ORDER BY time DESC LIMIT ${int(limit, 'limit')}`
    );
  },

  /**
   * Alert transitions in [since, to), then the resolutions after `to` of alerts that started
   * before it (so their state is current); the caller folds them into alerts.
   */
  alerts(tags: TagFilter, since: number, to: number, limit: number): string[] {
    const select =
      `SELECT "id", "state", "start", "end", "value", "score", "message", "device", "sensor", "rule", "severity" ` +
      `FROM ${influxqlIdent(MEASUREMENTS.alerts)} WHERE `;
    const tail = ` ORDER BY time ASC LIMIT ${int(limit, 'limit')}`;
    const conds = influxqlTagConds(tags);
    const t = int(to, 'to');
    const inRange = [...conds, `time >= ${int(since, 'since')}ms`, `time < ${t}ms`].join(' AND ');
    const resolvedLater = [...conds, `"state" = 'resolved'`, `"start" < ${t}`, `time >= ${t}ms`].join(' AND ');
    return [`${select}${inRange}${tail}`, `${select}${resolvedLater}${tail}`];
  },
};

function fluxFrom(bucket: string, measurement: string, start: string, stop?: string): string {
  const range = stop ? `range(start: ${start}, stop: ${stop})` : `range(start: ${start})`;
  return `from(bucket: ${fluxString(bucket)})\n  |> ${range}\n  |> filter(fn: (r) => r._measurement == ${fluxString(measurement)})`;
}

/** Per bucket, one column per `[name, field, fn]`: `fn` over `field` (Flux has no multi-aggregate window). */
function fluxTotals(bucket: string, measurement: string, q: SeriesQuery, cols: [string, string, string][]): string {
  const conds = fluxTagConds({ device: q.device, sensor: q.sensor }).join(' and ');
  const every = `${int(q.bucketMs, 'bucketMs')}ms`;
  const offset = `${int(q.offsetMs, 'offsetMs')}ms`;
  return [
    `data = ${fluxFrom(bucket, measurement, fluxTime(q.from), fluxTime(q.to))}\n  |> filter(fn: (r) => ${conds})`,
    ...cols.map(
      ([name, field, fn]) =>
        `${name}_ = data\n  |> filter(fn: (r) => r._field == ${fluxString(field)})\n` +
        `  |> aggregateWindow(every: ${every}, offset: ${offset}, fn: ${fn}, createEmpty: false, timeSrc: "_start")\n` +
        `  |> toFloat()\n  |> keep(columns: ["_time", "_value"])\n  |> set(key: "agg", value: ${fluxString(name)})`,
    ),
    `union(tables: [${cols.map(([n]) => `${n}_`).join(', ')}])\n  |> pivot(rowKey: ["_time"], columnKey: ["agg"], valueColumn: "_value")\n  |> sort(columns: ["_time"])`,
  ].join('\n');
}

export const flux = {
  lastReadings(bucket: string): string {
    return (
      `${fluxFrom(bucket, MEASUREMENTS.readings, '0')}\n` +
      `  |> filter(fn: (r) => r._field == "value" or r._field == "unit")\n` +
      `  |> last()\n` +
      `  |> keep(columns: ["_time", "_field", "_value", "device", "sensor"])`
    );
  },

  series(bucket: string, q: SeriesQuery): string {
    const conds = [...fluxTagConds({ device: q.device, sensor: q.sensor }), 'r._field == "value"'].join(' and ');
    const every = `${int(q.bucketMs, 'bucketMs')}ms`;
    const offset = `${int(q.offsetMs, 'offsetMs')}ms`;
    const agg = (fn: string): string =>
      `${fn} = data\n  |> aggregateWindow(every: ${every}, offset: ${offset}, fn: ${fn}, createEmpty: false, timeSrc: "_start")\n` +
      `  |> keep(columns: ["_time", "_value"])\n  |> set(key: "agg", value: ${fluxString(fn)})`;
    return [
      `data = ${fluxFrom(bucket, MEASUREMENTS.readings, fluxTime(q.from), fluxTime(q.to))}\n  |> filter(fn: (r) => ${conds})`,
      agg('mean'),
      agg('min'),
      agg('max'),
      `union(tables: [mean, min, max])\n  |> pivot(rowKey: ["_time"], columnKey: ["agg"], valueColumn: "_value")\n  |> sort(columns: ["_time"])`,
    ].join('\n');
  },

  /** As {@link influxql.rollupTotals}: sum, count, min and max per bucket from a rollup tier's bucket. */
  rollupTotals(q: SeriesQuery, src: RollupSource): string {
    return fluxTotals(src.bucket, src.measurement, q, [['sum', 'sum', 'sum'], ['count', 'count', 'sum'], ['min', 'min', 'min'], ['max', 'max', 'max']]);
  },

  /** As {@link influxql.rawTotals}. */
  rawTotals(bucket: string, q: SeriesQuery): string {
    return fluxTotals(bucket, MEASUREMENTS.readings, q, [['sum', 'value', 'sum'], ['count', 'value', 'count'], ['min', 'value', 'min'], ['max', 'value', 'max']]);
  },

  sessions(bucket: string, tags: TagFilter, since: number, from: number, to: number, limit: number): string {
    const conds = fluxTagConds(tags);
    return (
      `${fluxFrom(bucket, MEASUREMENTS.sessions, fluxTime(since), fluxTime(to))}\n` +
      (conds.length ? `  |> filter(fn: (r) => ${conds.join(' and ')})\n` : '') +
      `  |> pivot(rowKey: ["_time", "device", "sensor"], columnKey: ["_field"], valueColumn: "_value")\n` +
      `  |> filter(fn: (r) => r.end >= ${int(from, 'from')})\n` +
      `  |> group()\n  |> sort(columns: ["_time"], desc: true)\n  |> limit(n: ${int(limit, 'limit')})`
    );
  },

  /** As {@link influxql.alerts}, in one pass: transitions before `to`, and later resolutions of alerts started before it. */
  alerts(bucket: string, tags: TagFilter, since: number, to: number, limit: number): string {
    const conds = fluxTagConds(tags);
    const t = int(to, 'to');
    return (
      `${fluxFrom(bucket, MEASUREMENTS.alerts, fluxTime(since))}\n` +
      (conds.length ? `  |> filter(fn: (r) => ${conds.join(' and ')})\n` : '') +
      `  |> pivot(rowKey: ["_time", "device", "sensor", "rule", "severity"], columnKey: ["_field"], valueColumn: "_value")\n` +
      `  |> filter(fn: (r) => r._time < ${fluxTime(to)} or (r.state == "resolved" and r.start < ${t}))\n` +
      `  |> group()\n  |> sort(columns: ["_time"])\n  |> limit(n: ${int(limit, 'limit')})`
    );
  },
};
