/**
 * Which device times the processor believes (docs/architecture.md, "Device clocks").
 *
 * Every TELEMETRY message carries the time JetStream stored it: a time no device can set, and part
 * of the stream, so a replay sees the same value (guarantee 3). Against it:
 * - a reading (or a heartbeat's clock) more than `maxAheadMs` after its message was stored comes
 *   from a clock running ahead: an edge stamps a reading before it sends it;
 * - a reading before `earliestMs` in a message whose clock says `synced: true` comes from a clock
 *   that says it is right and is not (a board that booted at 1970, a bad RTC).
 * Such a reading is stored (in `readings`, `quality` uncertain, field `clock` saying why), counted
 * and flagged with a `clock` alert, but it does not drive event time, windows or detectors: one
 * device's broken clock must not make its own later, correct readings late, nor move anything of
 * another device. Messages without a stored time (evaluate's recorded series) are not checked.
 */
import type { JsMsg } from 'nats';

/** When JetStream stored a TELEMETRY message (ms): the time device clocks are checked against. */
export const storedMs = (m: JsMsg): number => Math.floor(m.info.timestampNanos / 1e6);

/** Why a reading's time cannot be right. */
export type ClockProblem = 'ahead' | 'before_earliest';

export interface ClockLimits {
  /** A reading this far (ms) after the time JetStream stored its message is "ahead". @default 60000 */
  maxAheadMs: number;
  /** With `clock.synced`, a reading before this (epoch ms) is implausible. @default 946684800000 (2000-01-01) */
  earliestMs: number;
}

export const DEFAULT_CLOCK_LIMITS: ClockLimits = { maxAheadMs: 60_000, earliestMs: Date.UTC(2000, 0, 1) };

/** The rule id of the clock alert (reserved: no detector may use it). */
export const CLOCK_RULE = 'clock';

/** The window of plausible times for one message: `[earliest, latest]`. */
export interface TimeWindow {
  earliest: number;
  latest: number;
}

const TRUST_ALL: TimeWindow = { earliest: -Infinity, latest: Infinity };

/** The plausible times of a message stored at `storedMs` (undefined: not from the stream, not checked). */
export function plausibleWindow(limits: ClockLimits, storedMs: number | undefined, synced: boolean): TimeWindow {
  if (storedMs === undefined) return TRUST_ALL;
  return { earliest: synced ? limits.earliestMs : -Infinity, latest: storedMs + limits.maxAheadMs };
}

export function clockProblem(ts: number, w: TimeWindow): ClockProblem | undefined {
  return ts > w.latest ? 'ahead' : ts < w.earliest ? 'before_earliest' : undefined;
}

/** For the alert's message: `73.1 years`, `2.0 h`, `90 s`. */
export function span(ms: number): string {
  const a = Math.abs(ms);
  if (a >= 365.25 * 86_400_000) return `${(a / (365.25 * 86_400_000)).toFixed(1)} years`;
  if (a >= 86_400_000) return `${(a / 86_400_000).toFixed(1)} days`;
  if (a >= 3_600_000) return `${(a / 3_600_000).toFixed(1)} h`;
  return `${Math.round(a / 1000)} s`;
}

export function clockMessage(problem: ClockProblem, ts: number, storedMs: number, limits: ClockLimits): string {
  const claimed = new Date(ts).toISOString();
  const why =
    problem === 'ahead'
      ? `${span(ts - storedMs)} after its message was stored (${new Date(storedMs).toISOString()}; at most ${span(limits.maxAheadMs)} is believed)`
      : `before ${new Date(limits.earliestMs).toISOString()} although its clock says it is synced`;
  return `reading stamped ${claimed}, ${why}: stored with quality uncertain, not windowed or scored until the clock is right`;
}
