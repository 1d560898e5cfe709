/**
 * The store calls every recording answers (one per Store method), and what each must return for
 * {@link contractLines}: the same for every API, since the data is the same. The v1 recording
 * comes from the real influxd 1.6.7, so these expectations are checked against a real server.
 */
import { bucketing } from '../../../src/api/query-text.js';
import type { AlertRow, LastReading, SeriesData, SessionRow, Store } from '../../../src/api/store.js';
import { T } from './exchanges.js';

const S = 1000;

export const CALLS = {
  lastReadings: (s: Store) => s.lastReadings(),
  series: (s: Store) => s.series({ device: 'pump-1', sensor: 'temp', from: T, to: T + 40 * S, ...bucketing(T, T + 40 * S, 2) }),
  sessions: (s: Store) => s.sessions({ device: 'pump-1' }, T - 3_600_000, T, T + 60 * S, 100),
  alertRows: (s: Store) => s.alertRows({}, T, T + 25 * S, 100),
} as const;

export type CallName = keyof typeof CALLS;

const alert = { id: `pump-1:temp:zscore:${T + 20 * S}`, severity: 'critical', device: 'pump-1', sensor: 'temp', rule: 'zscore', start: T + 20 * S } as const;

export const EXPECTED: { lastReadings: LastReading[]; series: SeriesData; sessions: SessionRow[]; alertRows: AlertRow[] } = {
  lastReadings: [
    { device: 'pump-1', sensor: 'temp', ts: T + 30 * S, value: 23, unit: 'C' },
    { device: 'pump-1', sensor: 'vib', ts: T + 10 * S, value: 0.5, unit: 'g' },
  ],
  // Two 20 s buckets from T: (20, 21) and (22, 23).
  series: { time: [T, T + 20 * S], mean: [20.5, 22.5], min: [20, 22], max: [21, 23] },
  sessions: [{ device: 'pump-1', sensor: 'temp', start: T, end: T + 30 * S, count: 4, min: 20, max: 23, mean: 21.5, stddev: 1.29, anomalies: 0, closedBy: 'gap' }],
  // The firing before `to`, and its resolution after `to` (the alert started before it).
  alertRows: [
    { ...alert, state: 'firing', ts: T + 20 * S, value: 22, score: 0.9, message: 'hot' },
    { ...alert, state: 'resolved', end: T + 30 * S, ts: T + 30 * S, value: 23, score: 0.2, message: 'ok' },
  ],
};

/** Runs every call, in order, and returns the results by name. */
export async function runCalls(store: Store): Promise<Record<CallName, unknown>> {
  const out = {} as Record<CallName, unknown>;
  for (const [name, call] of Object.entries(CALLS) as [CallName, (s: Store) => Promise<unknown>][]) out[name] = await call(store);
  return out;
}
