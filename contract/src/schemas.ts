/**
 * The source of every wire message's schema, in TypeBox: plain JSON Schema with the TypeScript
 * type of each (`Static<typeof EnvelopeSchema>`).
 *
 * **Build time and types only.** Nothing loads this module at run time: `npm run gen -w contract`
 * (scripts/gen.ts) turns it into `src/generated/json-schemas.ts` (the same schemas as plain data:
 * the parsers' error walker and the query API's OpenAPI document use them) and
 * `src/generated/validators.ts` (ajv's standalone code). The parsers import it with
 * `import type`, which the compiler erases. So no service loads TypeBox (~266 module files,
 * +12–20 MB of RSS) or ajv's compiler; `test/generated.test.ts` fails when the generated files
 * are stale, `test/runtime-graph.test.ts` when a service would load either.
 *
 * Annotations (src/annotations.ts): `x-reason` names the dead-letter reason of errors below a
 * node, `x-expect` the message, `x-id` the id wording.
 */
import { Type, type TUnsafe } from '@sinclair/typebox';
import { X_EXPECT, X_ID, X_REASON } from './annotations.js';
import { REJECT_REASONS } from './errors.js';
import { EPOCH_PATTERN, ID_PATTERN } from './ids.js';
import { ENVELOPE_VERSION, MAX_READINGS, MAX_TS_MS, MAX_UNIT_LENGTH, REJECTED_COMMAND } from './limits.js';
import { SEVERITIES } from './topics.js';

/** A string that is one of `values` (an `enum`, so a refusal names them all). */
export function literalUnion<T extends string>(values: readonly T[], options: Record<string, unknown> = {}): TUnsafe<T> {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
}

// --- ids ---------------------------------------------------------------------------------------

/** Schema of an id (`kind` names it in errors: `device id`, `sensor id`, `rule id`). */
export const idSchema = (kind: string) =>
  Type.String({ pattern: ID_PATTERN.source, maxLength: 63, [X_ID]: kind, [X_REASON]: 'bad_id', description: `${kind}: ${ID_PATTERN.source}` });

export const DeviceIdSchema = idSchema('device id');
export const SensorIdSchema = idSchema('sensor id');
export const RuleIdSchema = idSchema('rule id');
export const EpochSchema = Type.String({ pattern: EPOCH_PATTERN.source, [X_EXPECT]: 'must match [a-z0-9]{8,32}', description: 'edge epoch' });

// --- telemetry envelope ------------------------------------------------------------------------

/** Event time, epoch ms (fractions allowed down to 1 µs). */
export const EventTimeSchema = Type.Number({ minimum: 0, maximum: MAX_TS_MS, [X_EXPECT]: `must be an event time in epoch ms between 0 and ${MAX_TS_MS}` });
const finite = (description?: string) => Type.Number({ [X_EXPECT]: 'must be a finite number', ...(description ? { description } : {}) });

/** `good` unless the edge knows better: `uncertain` (e.g. clock not synced), `bad` (sensor says so). */
export const QualitySchema = literalUnion(['good', 'uncertain', 'bad'], { [X_EXPECT]: 'must be one of good, uncertain, bad' });

export const ReadingSchema = Type.Object(
  {
    /** Sensor id, unique within its device. */
    sensor: SensorIdSchema,
    ts: EventTimeSchema,
    value: finite(),
    unit: Type.Optional(Type.String({ maxLength: MAX_UNIT_LENGTH, pattern: '^[^\\u0000-\\u001f\\u007f]*$', [X_EXPECT]: `must be a printable string of at most ${MAX_UNIT_LENGTH} characters` })),
    quality: Type.Optional(QualitySchema),
  },
  { additionalProperties: false, [X_REASON]: 'bad_reading', description: 'One reading; an invalid one refuses its envelope as bad_reading.' },
);

/** The edge's clock when the envelope was built: heartbeats advance event time with `now`. */
export const ClockStateSchema = Type.Object(
  {
    /** True when the clock is known good (NTP synced or set from a trusted source). */
    synced: Type.Boolean({ [X_EXPECT]: 'must be a boolean' }),
    /** Device wall clock, epoch ms. */
    now: EventTimeSchema,
  },
  { additionalProperties: false },
);

/** One batch on `fl/v1/{device}/telemetry`. No readings = heartbeat. */
export const EnvelopeSchema = Type.Object(
  {
    v: Type.Literal(ENVELOPE_VERSION),
    device: DeviceIdSchema,
    epoch: EpochSchema,
    seq: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, [X_EXPECT]: 'must be a positive integer' }),
    clock: ClockStateSchema,
    readings: Type.Array(ReadingSchema, { maxItems: MAX_READINGS }),
    /** Health figures (heartbeats): queue depth, drops, bad frames, uptime, memory… numbers only. */
    health: Type.Optional(
      // propertyNames + additionalProperties: one regex test per key (patternProperties would take two).
      Type.Unsafe<Record<string, number>>({
        type: 'object',
        propertyNames: { pattern: '^[a-z][a-z0-9_]{0,62}$', [X_EXPECT]: 'key must match [a-z][a-z0-9_]{0,62}' },
        additionalProperties: { type: 'number', [X_EXPECT]: 'must be a finite number' },
        description: 'Keys match [a-z][a-z0-9_]{0,62}; values are finite numbers.',
      }),
    ),
  },
  { additionalProperties: false, description: 'A telemetry batch envelope (fl/v1/{device}/telemetry).' },
);

// --- status ------------------------------------------------------------------------------------

const StateSchema = literalUnion(['online', 'offline'], { [X_EXPECT]: 'must be "online" or "offline"' });

/** Retained on `fl/v1/{device}/status`; the Last Will carries `offline`. */
export const StatusMessageSchema = Type.Object(
  {
    v: Type.Literal(1),
    device: DeviceIdSchema,
    state: StateSchema,
    /** Device clock, epoch ms, when known. */
    ts: Type.Optional(EventTimeSchema),
  },
  { additionalProperties: false, description: 'Device status (fl/v1/{device}/status, retained; also the Last Will).' },
);

/**
 * The gateway's view of a device's latest status: the value of key `{device}` in the status KV
 * bucket (`fl_device_status` by default), read by the query API.
 */
export const DeviceStatusEntrySchema = Type.Object(
  {
    ...StatusMessageSchema.properties,
    /** Whether the device said it (`status`) or the broker did for it (`will`). */
    source: literalUnion(['status', 'will'], { [X_EXPECT]: 'must be "status" or "will"' }),
    /** Gateway wall clock when it was stored, epoch ms. */
    receivedAt: EventTimeSchema,
    /**
     * The MQTT connection that said it: its epoch, increasing with every connection of the device
     * to any gateway. A status is stored only if no newer connection's status is (so a late Last
     * Will from a dead connection never overwrites what a newer one said). Absent: written before
     * connection epochs existed.
     */
    conn: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, [X_EXPECT]: 'must be a non-negative integer' })),
  },
  { additionalProperties: false, description: 'Latest device status as the gateway stored it (status KV bucket).' },
);

// --- commands ----------------------------------------------------------------------------------

export const CommandIdSchema = Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,128}$', [X_EXPECT]: 'must be 1-128 characters of [A-Za-z0-9_.:-]', description: 'Command id, e.g. a UUID.' });
export const CommandNameSchema = Type.String({
  pattern: ID_PATTERN.source,
  maxLength: 63,
  not: { const: REJECTED_COMMAND },
  [X_EXPECT]: 'must match [a-z0-9][a-z0-9_-]{0,62}',
  description: 'Command name (an MQTT topic level); `rejected` is reserved for the gateway.',
});
export const CommandArgsSchema = Type.Record(Type.String(), Type.Unknown(), { description: 'Arguments, any JSON object.' });

/** Downlink on `fl/v1/{device}/commands/{name}` (from NATS `fl.commands.{device}`). */
export const CommandMessageSchema = Type.Object(
  { v: Type.Literal(1), id: CommandIdSchema, name: CommandNameSchema, args: Type.Optional(CommandArgsSchema) },
  { additionalProperties: false, description: 'A command to one device (NATS fl.commands.{device} -> MQTT fl/v1/{device}/commands/{name}).' },
);

/** The gateway's answer to a command sent as a NATS request: `delivered` = the device has a session there. */
export const CommandReplySchema = Type.Object(
  { ok: Type.Boolean(), delivered: Type.Optional(Type.Boolean()), error: Type.Optional(Type.String({ maxLength: 1024 })) },
  { additionalProperties: false, description: '{ok: true, delivered} or {ok: false, error}.' },
);

/**
 * Sent by the gateway on `fl/v1/{device}/commands/rejected` when a batch could never pass:
 * the batch was dead-lettered and acknowledged (or, for `packet_too_large`, refused unread before
 * the connection closed), so the device must not resend it.
 */
export const RejectionNoticeSchema = Type.Object(
  {
    v: Type.Literal(1),
    name: Type.Literal(REJECTED_COMMAND),
    args: Type.Object(
      {
        /** `{device}:{epoch}:{seq}` of the refused batch, or null when the payload named none. */
        batch: Type.Union([Type.String({ maxLength: 256 }), Type.Null()], { [X_EXPECT]: 'must be a batch id or null' }),
        reason: literalUnion(REJECT_REASONS, { [X_EXPECT]: `must be one of ${REJECT_REASONS.join(', ')}` }),
        error: Type.String({ maxLength: 1024 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: 'The gateway tells a device that one of its batches was dead-lettered.' },
);

// --- alerts and sessions -----------------------------------------------------------------------

const finiteNumber = Type.Number({ [X_EXPECT]: 'must be a finite number' });
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
    value: finiteNumber,
    score: finiteNumber,
    message: Type.String({ maxLength: 2048 }),
  },
  { additionalProperties: false, description: 'An alert transition (stream ALERTS, fl.alerts.{severity}.{device}).' },
);

/** On `fl.sessions.{device}` (stream SESSIONS) when a session window closes. */
export const SessionSummarySchema = Type.Object(
  {
    v: Type.Literal(1),
    device: DeviceIdSchema,
    sensor: SensorIdSchema,
    start: EventTimeSchema,
    end: EventTimeSchema,
    count,
    min: finiteNumber,
    max: finiteNumber,
    mean: finiteNumber,
    stddev: finiteNumber,
    /** Readings whose anomaly score crossed the alert threshold. */
    anomalies: count,
    /** Why it closed: inactivity gap, max length, or the sensor went silent while its device did not. */
    closedBy: literalUnion(['gap', 'max_length', 'dropout'], { [X_EXPECT]: 'must be one of gap, max_length, dropout' }),
  },
  { additionalProperties: false, description: 'A closed session window (stream SESSIONS, fl.sessions.{device}).' },
);

/**
 * The schemas each wire message is validated against: the generator writes one standalone
 * validator per entry (`validateEnvelope`, …), named after the schema without `Schema`.
 */
export const VALIDATED = {
  EnvelopeSchema,
  ReadingSchema,
  StatusMessageSchema,
  DeviceStatusEntrySchema,
  CommandMessageSchema,
  CommandReplySchema,
  RejectionNoticeSchema,
  AlertEventSchema,
  SessionSummarySchema,
} as const;
