import type { Severity } from './topics.js';

/** Retained on `fl/v1/{device}/status`; the Last Will carries `offline`. */
export interface StatusMessage {
  v: 1;
  device: string;
  state: 'online' | 'offline';
  /** Device clock, epoch ms, when known. */
  ts?: number;
}

/** Downlink on `fl/v1/{device}/commands/{name}` (from NATS `fl.commands.{device}`). */
export interface CommandMessage {
  v: 1;
  id: string;
  name: string;
  args?: Record<string, unknown>;
}

/**
 * Sent by the gateway on `fl/v1/{device}/commands/rejected` when a batch could never pass:
 * the batch was dead-lettered and acknowledged, so the device must not resend it.
 */
export interface RejectionNotice {
  v: 1;
  name: 'rejected';
  args: { batch: string | null; reason: string; error: string };
}

/** On `fl.alerts.{severity}.{device}` (stream ALERTS), `Nats-Msg-Id` = `{id}:{state}`. */
export interface AlertEvent {
  v: 1;
  /** Stable from event data: `{device}:{sensor}:{rule}:{start}`. */
  id: string;
  state: 'firing' | 'resolved';
  severity: Severity;
  device: string;
  sensor: string;
  rule: string;
  /** Event time of the first anomalous reading, epoch ms. */
  start: number;
  /** Event time the alert resolved, epoch ms (resolved only). */
  end?: number;
  /** Event time of this transition, epoch ms. */
  ts: number;
  value: number;
  score: number;
  message: string;
}

export const alertId = (a: Pick<AlertEvent, 'device' | 'sensor' | 'rule' | 'start'>): string =>
  `${a.device}:${a.sensor}:${a.rule}:${a.start}`;

/** On `fl.sessions.{device}` (stream SESSIONS) when a session window closes. */
export interface SessionSummary {
  v: 1;
  device: string;
  sensor: string;
  start: number;
  end: number;
  count: number;
  min: number;
  max: number;
  mean: number;
  stddev: number;
  /** Readings whose anomaly score crossed the alert threshold. */
  anomalies: number;
  /** Why it closed: inactivity gap, max length, or the sensor went silent while its device did not. */
  closedBy: 'gap' | 'max_length' | 'dropout';
}
