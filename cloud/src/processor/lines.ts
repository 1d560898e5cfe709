import type { AlertEvent, Reading, SessionSummary } from '@fieldline/contract';
import { encodeFieldValue, encodePoint, encodeStringField, msToNs } from '../influx/line-protocol.js';

// Measurements of docs/influxdb-schema.md. Device and sensor ids were validated against the
// contract's id pattern ([a-z0-9_-]), which needs no escaping, so the hot path skips it.

export function readingLine(device: string, r: Reading, score: number | undefined): string {
  let line = `readings,device=${device},sensor=${r.sensor} value=${encodeFieldValue(r.value)}`;
  if (score !== undefined) line += `,score=${encodeFieldValue(score)}`;
  line += `,quality="${r.quality ?? 'good'}"`;
  if (r.unit !== undefined) line += `,unit=${encodeStringField(r.unit, 'unit')}`;
  return `${line} ${msToNs(r.ts)}`;
}

/** Side output of readings older than the allowed lateness (they are in `readings` too). */
export function lateLine(device: string, r: Reading, latenessMs: number): string {
  return `late_readings,device=${device},sensor=${r.sensor} value=${encodeFieldValue(r.value)},lateness_ms=${Math.round(latenessMs)}i ${msToNs(r.ts)}`;
}

export function sessionLine(s: SessionSummary): string {
  return encodePoint({
    measurement: 'sessions',
    tags: { device: s.device, sensor: s.sensor },
    fields: {
      end: BigInt(Math.round(s.end)),
      count: BigInt(s.count),
      min: s.min,
      max: s.max,
      mean: s.mean,
      stddev: s.stddev,
      anomalies: BigInt(s.anomalies),
      closed_by: s.closedBy,
    },
    ts: s.start,
  });
}

export function alertLine(a: AlertEvent): string {
  return encodePoint({
    measurement: 'alerts',
    tags: { device: a.device, sensor: a.sensor, rule: a.rule, severity: a.severity },
    fields: {
      id: a.id,
      state: a.state,
      start: BigInt(Math.round(a.start)),
      ...(a.end === undefined ? {} : { end: BigInt(Math.round(a.end)) }),
      value: a.value,
      score: a.score,
      message: a.message,
    },
    ts: a.ts,
  });
}
