import type { Static } from '@sinclair/typebox';
import { ContractError } from './errors.js';
import { AlertEventSchema, SessionSummarySchema } from './generated/json-schemas.js';
import { validateAlertEvent, validateSessionSummary } from './generated/validators.js';
import { defineMessage } from './schema.js';
import type * as TB from './schemas.js';
import { subjects } from './topics.js';

/** On `fl.alerts.{severity}.{device}` (stream ALERTS), `Nats-Msg-Id` = `{id}:{state}`. */
export type AlertEvent = Static<typeof TB.AlertEventSchema>;
/** On `fl.sessions.{device}` (stream SESSIONS) when a session window closes. */
export type SessionSummary = Static<typeof TB.SessionSummarySchema>;

export const alertId = (a: Pick<AlertEvent, 'device' | 'sensor' | 'rule' | 'start'>): string => `${a.device}:${a.sensor}:${a.rule}:${a.start}`;

export const alertEvent = defineMessage<AlertEvent>({
  name: 'alert',
  schema: AlertEventSchema,
  validator: validateAlertEvent,
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

export const sessionSummary = defineMessage<SessionSummary>({ name: 'session', schema: SessionSummarySchema, validator: validateSessionSummary, maxBytes: 16 * 1024 });
export const parseSession = (payload: Uint8Array | string): SessionSummary => sessionSummary.parse(payload);
