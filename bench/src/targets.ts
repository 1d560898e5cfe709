/** The targets, checked against what was measured; a miss says by how much. */
import type { BenchResults } from './results.js';

/** Keeping up: storing at least this share of what was acked (closed loop) or offered (a sweep step). */
export const KEPT_UP = 0.95;

export interface Target {
  name: string;
  target: string;
  measured: string;
  /** null: not measured in this run (phase skipped or failed). */
  pass: boolean | null;
  /** How far off a miss is. */
  gap?: string;
}

const fmt = (n: number, unit: string): string => `${Math.abs(n) < 100 ? Math.round(n * 10) / 10 : Math.round(n).toLocaleString('en')} ${unit}`;

/** `{ pass, gap }` for "at least `want`" (`higher`) or "at most `want`". */
function check(v: number | null | undefined, want: number, higher: boolean, unit: string): { pass: boolean | null; gap?: string; measured: string } {
  if (v === null || v === undefined || Number.isNaN(v)) return { pass: null, measured: 'not measured' };
  const pass = higher ? v >= want : v <= want;
  const off = higher ? want - v : v - want;
  return { pass, measured: fmt(v, unit), ...(pass ? {} : { gap: `missed by ${fmt(off, unit)} (${Math.round((off / want) * 100)} %)` }) };
}

export function targets(r: BenchResults): Target[] {
  const e100 = r.e2e?.find((e) => e.readings_per_envelope === 100);
  const e1 = r.e2e?.find((e) => e.readings_per_envelope === 1);
  const rawInflux = r.raw?.influx.lines_per_s;
  const share = e100 && rawInflux ? (e100.e2e_readings_per_s / rawInflux) * 100 : null;
  const half = r.sweep?.steps.find((s) => s.load_pct === 50);
  const nrZero = r.node_red?.zero_loss_readings_per_s;
  const times = e100 && e100.lost === 0 && nrZero ? e100.e2e_readings_per_s / nrZero : null;
  const peak = r.burst ? Math.max(...Object.values(r.burst.peak_rss_mb)) : null;
  const out: Target[] = [];
  const add = (name: string, target: string, c: ReturnType<typeof check>, extra?: { lost?: number }): void => {
    const lossMiss = extra?.lost !== undefined && extra.lost > 0;
    out.push({ name, target, measured: c.measured + (lossMiss ? `, ${extra!.lost} lost` : ''), pass: c.pass === null ? null : c.pass && !lossMiss, ...(c.gap || lossMiss ? { gap: [c.gap, lossMiss ? `${extra!.lost} readings lost` : ''].filter(Boolean).join('; ') } : {}) });
  };
  add('100 readings/envelope: end to end vs raw InfluxDB batch write', '>= 60 % (aim 70 %), zero loss', check(share, 60, true, '%'), { lost: e100?.lost });
  add('100 readings/envelope: processor keeps up with the gateway acks', `end to end >= ${KEPT_UP * 100} % of acked`, check(e100 ? (e100.e2e_readings_per_s / e100.acked_readings_per_s) * 100 : null, KEPT_UP * 100, true, '%'));
  add('1 reading/envelope: end to end', '>= 40,000 readings/s, zero loss', check(e1?.e2e_readings_per_s, 40_000, true, 'readings/s'), { lost: e1?.lost });
  add('reading -> alert p99 at half the maximum load', '<= 50 ms', check(half?.probe.alert_ms?.p99, 50, false, 'ms'));
  add('reading -> queryable p99 at half the maximum load', '<= 1,000 ms', check(half?.probe.queryable_ms?.p99, 1000, false, 'ms'));
  add('vs the Node-RED baseline, zero-loss throughput', '>= 500 x', check(times, 500, true, 'x'));
  add('burst: loss', '0 readings', check(r.burst?.lost, 0, false, 'readings'));
  add('burst: peak RSS of any process', '<= 1,024 MB', check(peak, 1024, false, 'MB'));
  add('sweep: loss past the maximum', '0 readings', check(r.sweep?.lost, 0, false, 'readings'));
  add('edge agent RSS, 10 sensors at 10 Hz (bench:edge target)', '< 60 MB', check(r.edge?.agent_rss_max_mb, 60, false, 'MB'));
  add('edge agent CPU, 10 sensors at 10 Hz (bench:edge target)', '< 3 % of one core', check(r.edge?.agent_cpu_pct, 3, false, '%'));
  return out;
}
