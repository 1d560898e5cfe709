// npm run bench:points -- the cost per reading of the typed-points path (the pipeline calls
// `Points.reading(series, reading, score, withUnit, valueText)`; the InfluxDB module encodes)
// against pushing the line the way the pipeline did before it (`lines.push(format(prefix, …))`),
// on the bench:processor readings. Pure CPU, one core; medians of several rounds after a warm-up.
import { cpus, loadavg } from 'node:os';
import type { Reading } from '@fieldline/contract';
import { Points, readingSeries, readingText } from '../src/influx/points.js';

const N = 100_000;
const ROUNDS = Number(process.env.FL_BENCH_ROUNDS ?? 9);
const T0 = Date.UTC(2026, 0, 5);
const series = Array.from({ length: 5 }, (_, s) => readingSeries('dev-1', `s${s}`));
const readings: Reading[] = Array.from({ length: N }, (_, i) => ({ sensor: `s${i % 5}`, ts: T0 + Math.floor(i / 5) * 1000, value: 20 + Math.sin(i) * 3.25, unit: 'C' }));
const texts = readings.map((r) => JSON.stringify(r.value));

function typed(): number {
  const p = new Points();
  for (let i = 0; i < N; i++) p.reading(series[i % 5]!, readings[i]!, 0.25, i % 5 === 0, texts[i]);
  return p.count;
}

function direct(): number {
  const lines: string[] = [];
  for (let i = 0; i < N; i++) lines.push(readingText(series[i % 5]!.prefix, readings[i]!, 0.25, i % 5 === 0, texts[i]));
  return lines.length;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
function time(f: () => number): number {
  const t = performance.now();
  if (f() !== N) throw new Error('wrong count');
  return ((performance.now() - t) * 1e6) / N;
}
if (typed() !== direct()) throw new Error('paths disagree');
for (let w = 0; w < 3; w++) (time(typed), time(direct));
const a: number[] = [];
const b: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  a.push(time(direct));
  b.push(time(typed));
}
const o = median(a);
const n = median(b);
console.log(`lines.push(format(prefix, …))   ${o.toFixed(1)} ns/reading`);
console.log(`points.reading(series, …)       ${n.toFixed(1)} ns/reading   ratio ${(n / o).toFixed(2)} (< 1.05: no extra cost)`);
console.log(`(${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}; ${N} readings, median of ${ROUNDS} rounds)`);
console.log(JSON.stringify({ direct_ns_per_reading: Number(o.toFixed(1)), typed_points_ns_per_reading: Number(n.toFixed(1)), ratio: Number((n / o).toFixed(3)), load_avg_1m: Number(loadavg()[0]!.toFixed(2)) }));
