import { alertId, type AlertEvent, type Severity } from '@fieldline/contract';
import type { DetectorResult } from '../detectors/types.js';

/** One sensor + rule: at most one open alert. NaN marks "none". */
export class AlertState {
  start = NaN;
  clearSince = NaN;
}

export interface AlertContext {
  device: string;
  sensor: string;
  rule: string;
  severity: Severity;
}

/**
 * Lifecycle firing -> resolved. Flapping suppression: an open alert resolves only after its
 * condition has been clear for `clearMs` of event time; if it comes back before that, it is the
 * same alert (no new firing). Ids come from event data: `alertId` of the first anomalous reading.
 */
export function stepAlert(st: AlertState, ctx: AlertContext, ts: number, value: number, r: DetectorResult, clearMs: number): AlertEvent | null {
  const open = !Number.isNaN(st.start);
  if (r.active) {
    st.clearSince = NaN;
    if (open) return null;
    st.start = ts;
    return event(ctx, 'firing', ts, ts, undefined, value, r);
  }
  if (!open) return null;
  if (Number.isNaN(st.clearSince) || ts < st.clearSince) st.clearSince = ts;
  if (ts - st.clearSince < clearMs) return null;
  const start = st.start;
  const end = Math.max(st.clearSince, start);
  st.start = NaN;
  st.clearSince = NaN;
  return event(ctx, 'resolved', start, end, end, value, r);
}

function event(ctx: AlertContext, state: AlertEvent['state'], start: number, ts: number, end: number | undefined, value: number, r: DetectorResult): AlertEvent {
  const e: AlertEvent = {
    v: 1,
    id: alertId({ ...ctx, start }),
    state,
    severity: ctx.severity,
    device: ctx.device,
    sensor: ctx.sensor,
    rule: ctx.rule,
    start,
    ts,
    value,
    score: r.score,
    message: `${ctx.rule}: ${r.message}`,
  };
  if (end !== undefined) e.end = end;
  return e;
}
