import type { AlertEvent, Envelope } from '@fieldline/contract';
import { Effects, PartitionPipeline, type PipelineConfig } from '../processor/pipeline.js';
import { roundScore } from '../influx/points.js';
import type { Series } from './series.js';

/** What the live pipeline made of one series. */
export interface SeriesRun {
  /** Per row, the score the processor stores with the reading (rounded as in InfluxDB; 0 if unscored). */
  scores: Float64Array;
  /** Alert events (firing and resolved), in order. */
  alerts: AlertEvent[];
  /** Readings the pipeline judged late (not scored). */
  late: number;
}

/** A file or folder name as a contract id (`[a-z0-9][a-z0-9_-]{0,62}`). */
export function toId(name: string): string {
  const id = name
    .toLowerCase()
    .replace(/\.csv$/, '')
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return id === '' ? 'x' : id;
}

/**
 * Runs a series online through a `PartitionPipeline`, exactly as the processor would run a
 * device that sends one reading per message (sessions, detectors, scores, alerts): no second
 * implementation. Each row becomes an envelope `{device, epoch: 'evaluate', seq: row + 1}`.
 * `round`: scores as InfluxDB stores them (1e-4), or unrounded (the baseline, never stored).
 */
export function runSeries(series: Series, config: PipelineConfig, device: string, sensor: string, onRow?: (row: number) => void, round = true): SeriesRun {
  const pipeline = new PartitionPipeline(config);
  const fx = new Effects();
  const scores: number[] = [];
  fx.scores = scores;
  const alerts: AlertEvent[] = [];
  let late = 0;
  const n = series.ts.length;
  for (let i = 0; i < n; i++) {
    const ts = series.ts[i]!;
    const env: Envelope = { v: 1, device, epoch: 'evaluate', seq: i + 1, clock: { synced: true, now: ts }, readings: [{ sensor, ts, value: series.values[i]! }] };
    pipeline.process(env, fx);
    for (const a of fx.alerts) alerts.push(a);
    late += fx.late;
    fx.clear();
    if (onRow && (i & 1023) === 1023) onRow(i + 1);
  }
  onRow?.(n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    out[i] = s === undefined || Number.isNaN(s) ? 0 : round ? roundScore(s) : s;
  }
  return { scores: out, alerts, late };
}
