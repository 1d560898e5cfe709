/**
 * Queries: InfluxQL over the v1 `/query` API (1.x, and 3.x's v1-compatible endpoint), Flux over
 * the v2 API, with the connection's auth.
 */
import { InfluxDB, type QueryApi } from '@influxdata/influxdb-client';
import type { InfluxApi, InfluxConnection } from './connection.js';
import { InfluxQueryError } from './errors.js';

/** A series as the v1 `/query` API returns it. */
export interface InfluxSeries {
  name: string;
  /** GROUP BY tags. InfluxDB 3 may return them as columns instead: read rows through {@link seriesRows}. */
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

/** Rows of a v1 series: its tags (if any) merged into each row of columns. */
export function seriesRows(series: InfluxSeries): Row[] {
  return series.values.map((v) => {
    const row: Row = { ...series.tags };
    series.columns.forEach((c, i) => (row[c] = v[i]));
    return row;
  });
}

export interface InfluxQuery {
  readonly api: InfluxApi;
  /**
   * v1 and v3: runs InfluxQL statements; one list of series per statement. 1.x gets them in one
   * POST; 3.x one GET each (its v1 endpoint runs a single statement and reads the query string
   * only). A missing database reads as empty. `database`: another than `influx.database` (3.x
   * keeps each rollup tier in its own database).
   */
  influxql(statements: string | readonly string[], opts?: { database?: string }): Promise<InfluxSeries[][]>;
  /** v2: the rows of a Flux query. */
  flux(text: string): Promise<Row[]>;
}

interface V1Answer {
  results?: { series?: InfluxSeries[]; error?: string }[];
  error?: string;
}

export function createInfluxQuery(conn: InfluxConnection): InfluxQuery {
  const cfg = conn.config;
  const headers: Record<string, string> = { accept: 'application/json', ...(conn.authorization ? { authorization: conn.authorization } : {}) };
  let fluxApi: QueryApi | undefined;

  /** One `/query` request; `n` statements expected in its results. */
  async function request(q: string, n: number, method: 'GET' | 'POST', database = cfg.database): Promise<InfluxSeries[][]> {
    const params = new URLSearchParams({ db: database, q, epoch: 'ms' });
    if (cfg.retentionPolicy && database === cfg.database) params.set('rp', cfg.retentionPolicy);
    let res: Response;
    let text: string;
    try {
      res =
        method === 'GET'
          ? await fetch(`${conn.url}/query?${params}`, { headers, signal: AbortSignal.timeout(cfg.timeoutMs) })
          : await fetch(`${conn.url}/query`, { method: 'POST', body: params, headers, signal: AbortSignal.timeout(cfg.timeoutMs) });
      text = await res.text();
    } catch (err) {
      throw new InfluxQueryError(`InfluxDB unreachable at ${conn.url}: ${(err as Error).message}`, { cause: err });
    }
    let json: V1Answer = {};
    try {
      json = JSON.parse(text) as V1Answer;
    } catch {
      // 3.x may answer an error as plain text
      if (!res.ok) json = { error: text.trim().slice(0, 500) || `HTTP ${res.status}` };
    }
    const err = json.error ?? json.results?.find((r) => r.error)?.error;
    if (err && /database\b.*\bnot found|not found:? database/i.test(err)) return Array.from({ length: n }, () => []);
    if (!res.ok || err) throw new InfluxQueryError(`InfluxDB query failed (HTTP ${res.status}): ${err ?? 'no result'}`);
    const out = (json.results ?? []).map((r) => r.series ?? []);
    while (out.length < n) out.push([]);
    return out;
  }

  return {
    api: conn.api,
    async influxql(statements, opts = {}) {
      const list = typeof statements === 'string' ? [statements] : [...statements];
      if (conn.api !== 'v3') return request(list.join('; '), list.length, 'POST', opts.database);
      return (await Promise.all(list.map((s) => request(s, 1, 'GET', opts.database)))).map((r) => r[0] ?? []);
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
