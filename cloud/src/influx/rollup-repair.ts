/**
 * Rollup repair: a reading that arrives for a rollup window already final (its device's
 * watermark passed the window's end, so the window's state is gone) is still in the raw
 * `readings`, so the window is recomputed from the raw points InfluxDB holds and its rollup point
 * written again under the same key. That keeps "the rollup equals the aggregate over the raw
 * points" true for any lateness. Runs after the raw lines of the batch were accepted.
 * One statement per sensor, tier and run of nearby windows; InfluxQL over v1, Flux over v2.
 */
import { MEASUREMENTS } from '@fieldline/contract';
import type { InfluxConnection } from './connection.js';
import { escapeKey } from './line-protocol.js';
import { rollupText, type RollupRepair, type RollupValues } from './points.js';
import { createInfluxQuery, fluxString, influxqlIdent, influxqlString, seriesRows, type InfluxQuery, type Row } from './query.js';
import type { RollupTier } from './tiers.js';

/** Windows of one sensor and tier, recomputed by one statement. */
export interface RepairRun {
  tier: RollupTier;
  device: string;
  sensor: string;
  /** Requested window starts, ascending. */
  starts: number[];
}

/** A statement spans at most this many windows (a year of late 1 m windows is many statements, not one huge scan). */
const MAX_SPAN_WINDOWS = 256;

/** Groups repairs by sensor and tier into runs of nearby windows, in a stable order. */
export function repairRuns(repairs: readonly RollupRepair[], tiers: readonly RollupTier[]): RepairRun[] {
  const groups = new Map<string, RepairRun>();
  for (const r of repairs) {
    const tier = tiers[r.tier];
    if (!tier) continue;
    const key = `${r.tier}\0${r.device}\0${r.sensor}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { tier, device: r.device, sensor: r.sensor, starts: [] }));
    g.starts.push(r.start);
  }
  const runs: RepairRun[] = [];
  for (const g of groups.values()) {
    const starts = [...new Set(g.starts)].sort((a, b) => a - b);
    let cur: RepairRun | undefined;
    for (const s of starts) {
      if (!cur || s - cur.starts[0]! >= MAX_SPAN_WINDOWS * g.tier.everyMs) runs.push((cur = { ...g, starts: [] }));
      cur.starts.push(s);
    }
  }
  return runs;
}

const FIELDS = ['sum', 'count', 'min', 'max', 'first', 'last'] as const;

export const repairQuery = {
  influxql(run: RepairRun): string {
    const from = run.starts[0]!;
    const to = run.starts.at(-1)! + run.tier.everyMs;
    const select = FIELDS.map((f) => `${f}("value") AS ${influxqlIdent(f)}`).join(', ');
    return (
      `SELECT ${select} FROM ${influxqlIdent(MEASUREMENTS.readings)} ` +
      `WHERE ${influxqlIdent('device')} = ${influxqlString(run.device)} AND ${influxqlIdent('sensor')} = ${influxqlString(run.sensor)} ` +
      `AND time >= ${from}ms AND time < ${to}ms GROUP BY time(${run.tier.everyMs}ms) fill(none)`
    );
  },

  flux(bucket: string, run: RepairRun): string {
    const from = new Date(run.starts[0]!).toISOString();
    const to = new Date(run.starts.at(-1)! + run.tier.everyMs).toISOString();
    const every = `${run.tier.everyMs}ms`;
    return [
      `data = from(bucket: ${fluxString(bucket)})\n  |> range(start: ${from}, stop: ${to})\n` +
        `  |> filter(fn: (r) => r._measurement == ${fluxString(MEASUREMENTS.readings)} and r.device == ${fluxString(run.device)} and r.sensor == ${fluxString(run.sensor)} and r._field == "value")`,
      ...FIELDS.map(
        (f) =>
          `${f}_ = data\n  |> aggregateWindow(every: ${every}, fn: ${f}, createEmpty: false, timeSrc: "_start")\n` +
          `  |> toFloat()\n  |> keep(columns: ["_time", "_value"])\n  |> set(key: "agg", value: ${fluxString(f)})`,
      ),
      `union(tables: [${FIELDS.map((f) => `${f}_`).join(', ')}])\n  |> pivot(rowKey: ["_time"], columnKey: ["agg"], valueColumn: "_value")\n  |> sort(columns: ["_time"])`,
    ].join('\n');
  },
};

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

function values(r: Row): RollupValues | undefined {
  const v = { sum: num(r.sum), count: num(r.count), min: num(r.min), max: num(r.max), first: num(r.first), last: num(r.last) };
  return v.count > 0 && Object.values(v).every(Number.isFinite) ? v : undefined;
}

/** Recomputes rollup windows from the raw points; the lines to write, by tier index. */
export class RollupRepairer {
  private readonly q: InfluxQuery;

  constructor(private readonly conn: InfluxConnection) {
    this.q = createInfluxQuery(conn);
  }

  async lines(repairs: readonly RollupRepair[], tiers: readonly RollupTier[]): Promise<Map<number, string[]>> {
    const runs = repairRuns(repairs, tiers);
    const out = new Map<number, string[]>();
    const emit = (run: RepairRun, start: number, v: RollupValues | undefined): void => {
      // No raw points left (past the raw retention, or refused): the rollup point stays as it is.
      if (!v || !run.starts.includes(start)) return;
      const tags = `device=${escapeKey(run.device, 'tags.device')},sensor=${escapeKey(run.sensor, 'tags.sensor')}`;
      let lines = out.get(run.tier.index);
      if (!lines) out.set(run.tier.index, (lines = []));
      lines.push(rollupText(run.tier.measurement, tags, start, v));
    };
    // InfluxQL on 1.x (50 statements a request) and 3.x (one GET each); Flux on 2.x.
    if (this.q.api !== 'v2') {
      for (let i = 0; i < runs.length; i += 50) {
        const batch = runs.slice(i, i + 50);
        const results = await this.q.influxql(batch.map((r) => repairQuery.influxql(r)));
        batch.forEach((run, k) => {
          for (const s of results[k] ?? []) for (const row of seriesRows(s)) emit(run, num(row.time), values(row));
        });
      }
    } else {
      for (const run of runs) {
        for (const row of await this.q.flux(repairQuery.flux(this.conn.config.bucket, run))) emit(run, Date.parse(String(row._time)), values(row));
      }
    }
    return out;
  }
}
