import { alertId, type AlertEvent, type Severity } from '@fieldline/contract';
import type { DetectorResult } from '../detectors/types.js';

/** One sensor + rule: at most one open alert. NaN marks "none". */
export class AlertState {
  start = NaN;
  clearSince = NaN;
  /** Readings in a row with the condition clear. */
  clearCount = 0;
}

export interface ClearPolicy {
  /** Event time the condition must stay clear before the alert resolves. */
  clearMs: number;
  /** Readings in a row it must stay clear (a cooldown in the sensor's own sample rate). */
  clearReadings: number;
}

export interface AlertTransition {
  state: AlertEvent['state'];
  start: number;
  /** Resolved only: event time the condition cleared. */
  end?: number;
}

/**
 * Lifecycle firing -> resolved, one alert per episode. Flapping suppression: an open alert
 * resolves only after its condition has been clear for `clearMs` of event time and for
 * `clearReadings` readings in a row (so the cooldown means the same for a 10 Hz sensor and one
 * that reports every 5 minutes); if it comes back before that, it is the same alert (no new
 * firing). Allocates only on a transition (this runs for every reading).
 */
export function stepAlert(st: AlertState, ts: number, r: DetectorResult, clear: ClearPolicy): AlertTransition | null {
  const open = !Number.isNaN(st.start);
  if (r.active) {
    st.clearSince = NaN;
    st.clearCount = 0;
    if (open) return null;
    st.start = ts;
    return { state: 'firing', start: ts };
  }
  if (!open) return null;
  if (Number.isNaN(st.clearSince) || ts < st.clearSince) st.clearSince = ts;
  st.clearCount++;
  if (ts - st.clearSince < clear.clearMs || st.clearCount < clear.clearReadings) return null;
  const start = st.start;
  const end = Math.max(st.clearSince, start);
  st.start = NaN;
  st.clearSince = NaN;
  st.clearCount = 0;
  return { state: 'resolved', start, end };
}

export interface AlertContext {
  device: string;
  sensor: string;
  rule: string;
  severity: Severity;
}

/** The contract event of a transition; its id comes from event data (`alertId` of the first anomalous reading). */
export function alertEvent(ctx: AlertContext, t: AlertTransition, value: number, score: number, message: string): AlertEvent {
  const e: AlertEvent = {
    v: 1,
    id: alertId({ ...ctx, start: t.start }),
    state: t.state,
    severity: ctx.severity,
    device: ctx.device,
    sensor: ctx.sensor,
    rule: ctx.rule,
    start: t.start,
    ts: t.end ?? t.start,
    value,
    score,
    message: `${ctx.rule}: ${message}`,
  };
  if (t.end !== undefined) e.end = t.end;
  return e;
}
