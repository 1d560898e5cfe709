import { Type, type Static } from '@sinclair/typebox';
import { X_EXPECT } from './annotations.js';
import { ContractError } from './errors.js';
import { EventTimeSchema } from './envelope.js';
import { DeviceIdSchema, RuleIdSchema, SensorIdSchema } from './ids.js';
import { defineMessage, literalUnion } from './schema.js';
import { SEVERITIES, subjects } from './topics.js';

const finite = Type.Number({ [X_EXPECT]: 'must be a finite number' });
const count = Type.Integer({ minimum: 0, [X_EXPECT]: 'must be a non-negative integer' });

export const SeveritySchema = literalUnion(SEVERITIES, { [X_EXPECT]: `must be one of ${SEVERITIES.join(', ')}` });

/** On `fl.alerts.{severity}.{device}` (stream ALERTS), `Nats-Msg-Id` = `{id}:{state}`. */
export const AlertEventSchema = Type.Object(
  {
    v: Type.Literal(1),
    /** Stable from event data: `{device}:{sensor}:{rule}:{start}`. */
    id: Type.String({ maxLength: 256 }),
    state: literalUnion(['firing', 'resolved'], { [X_EXPECT]: 'must be "firing" or "resolved"' }),
    severity: SeveritySchema,
    device: DeviceIdSchema,
    sensor: SensorIdSchema,
    rule: RuleIdSchema,
    /** Event time of the first anomalous reading, epoch ms. */
    start: EventTimeSchema,
    /** Event time the alert resolved, epoch ms (resolved only). */
    end: Type.Optional(EventTimeSchema),
    /** Event time of this transition, epoch ms. */
    ts: EventTimeSchema,
    value: finite,
    score: finite,
    message: Type.String({ maxLength: 2048 }),
  },
  { additionalProperties: false, description: 'An alert transition (stream ALERTS, fl.alerts.{severity}.{device}).' },
);
export type AlertEvent = Static<typeof AlertEventSchema>;

export const alertId = (a: Pick<AlertEvent, 'device' | 'sensor' | 'rule' | 'start'>): string => `${a.device}:${a.sensor}:${a.rule}:${a.start}`;

export const alertEvent = defineMessage({
  name: 'alert',
  schema: AlertEventSchema,
  maxBytes: 16 * 1024,
  check: (a) => {
    const want = alertId(a);
    if (a.id !== want) throw new ContractError('bad_schema', 'id', `must be ${JSON.stringify(want)} ({device}:{sensor}:{rule}:{start}), got ${JSON.stringify(a.id.slice(0, 100))}`);
  },
});

/** Parses one ALERTS message; with `subject`, it must be the alert's own subject (`fl.alerts.{severity}.{device}`). */
export function parseAlert(payload: Uint8Array | string, opts: { subject?: string } = {}): AlertEvent {
  const a = alertEvent.parse(payload);
  if (opts.subject !== undefined) {
    const expected = subjects.alerts(a.severity, a.device);
    if (opts.subject !== expected) throw new ContractError('bad_topic', 'subject', `alert for ${a.device}/${a.severity} arrived on "${opts.subject.slice(0, 200)}", expected "${expected}"`);
  }
  return a;
}

/** On `fl.sessions.{device}` (stream SESSIONS) when a session window closes. */
export const SessionSummarySchema = Type.Object(
  {
    v: Type.Literal(1),
    device: DeviceIdSchema,
    sensor: SensorIdSchema,
    start: EventTimeSchema,
    end: EventTimeSchema,
    count,
    min: finite,
    max: finite,
    mean: finite,
    stddev: finite,
    /** Readings whose anomaly score crossed the alert threshold. */
    anomalies: count,
    /** Why it closed: inactivity gap, max length, or the sensor went silent while its device did not. */
    closedBy: literalUnion(['gap', 'max_length', 'dropout'], { [X_EXPECT]: 'must be one of gap, max_length, dropout' }),
  },
  { additionalProperties: false, description: 'A closed session window (stream SESSIONS, fl.sessions.{device}).' },
);
export type SessionSummary = Static<typeof SessionSummarySchema>;

export const sessionSummary = defineMessage({ name: 'session', schema: SessionSummarySchema, maxBytes: 16 * 1024 });
export const parseSession = (payload: Uint8Array | string): SessionSummary => sessionSummary.parse(payload);
