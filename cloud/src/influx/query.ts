/** Queries: InfluxQL over the v1 `/query` API, Flux over the v2 API, with the connection's auth. */
import { InfluxDB, type QueryApi } from '@influxdata/influxdb-client';
import type { InfluxConnection } from './connection.js';
import { InfluxQueryError } from './errors.js';

/** A series as InfluxDB 1.x returns it from `/query`. */
export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export type Row = Record<string, unknown>;

/** InfluxQL single-quoted string literal. */
export function influxqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** InfluxQL double-quoted identifier (database, measurement, tag, field). */
export function influxqlIdent(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** Flux string literal: `\`, `"` and `$` (interpolation `${`) escaped, control characters too. */
export function fluxString(value: string): string {
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\$/g, '\\$')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t');
  return `"${escaped}"`;
}

/** Rows of a v1 series: its tags merged into each row of columns. */
export function seriesRows(series: InfluxSeries): Row[] {
  return series.values.map((v) => {
    const row: Row = { ...series.tags };
    series.columns.forEach((c, i) => (row[c] = v[i]));
    return row;
  });
}

export interface InfluxQuery {
  readonly api: 'v1' | 'v2';
  /** v1: runs one request (statements separated by `;`); one list of series per statement. A missing database reads as empty. */
  influxql(q: string): Promise<InfluxSeries[][]>;
  /** v2: the rows of a Flux query. */
  flux(text: string): Promise<Row[]>;
}

export function createInfluxQuery(conn: InfluxConnection): InfluxQuery {
  const cfg = conn.config;
  const headers: Record<string, string> = conn.authorization ? { authorization: conn.authorization } : {};
  let fluxApi: QueryApi | undefined;
  return {
    api: conn.api,
    async influxql(q) {
      const body = new URLSearchParams({ q, db: cfg.database, epoch: 'ms' });
      if (cfg.retentionPolicy) body.set('rp', cfg.retentionPolicy);
      let res: Response;
      try {
        res = await fetch(`${conn.url}/query`, { method: 'POST', body, headers, signal: AbortSignal.timeout(cfg.timeoutMs) });
      } catch (err) {
        throw new InfluxQueryError(`InfluxDB unreachable at ${conn.url}: ${(err as Error).message}`, { cause: err });
      }
      const json = (await res.json().catch(() => ({}))) as { results?: { series?: InfluxSeries[]; error?: string }[]; error?: string };
      const err = json.error ?? json.results?.find((r) => r.error)?.error;
      if (err && /database not found/.test(err)) return (json.results ?? []).map(() => []);
      if (!res.ok || err) throw new InfluxQueryError(`InfluxDB query failed (HTTP ${res.status}): ${err ?? 'no result'}`);
      return (json.results ?? []).map((r) => r.series ?? []);
    },
    async flux(text) {
      fluxApi ??= new InfluxDB({ url: conn.url, token: conn.token, timeout: cfg.timeoutMs }).getQueryApi(cfg.org ?? '');
      try {
        return await fluxApi.collectRows<Row>(text);
      } catch (err) {
        throw new InfluxQueryError(`InfluxDB Flux query failed: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}
