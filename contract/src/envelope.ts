import { Type, type Static } from '@sinclair/typebox';
import { X_EXPECT, X_REASON } from './annotations.js';
import { ContractError } from './errors.js';
import { DeviceIdSchema, EpochSchema, SensorIdSchema } from './ids.js';
import { defineMessage, literalUnion } from './schema.js';

export const ENVELOPE_VERSION = 1;
/** Largest telemetry payload a gateway accepts (bytes). Also the broker's packet budget. */
export const MAX_ENVELOPE_BYTES = 256 * 1024;
/** Most readings in one batch envelope. */
export const MAX_READINGS = 5000;
/**
 * Latest event time accepted (ms): 2262-04-11T23:47:16.854Z, the last whole millisecond InfluxDB
 * can store (its timestamps are int64 nanoseconds, at most 2^63 - 2 ns). A later time could pass
 * the contract only to be refused by the sink, so the bound is the sink's.
 */
export const MAX_TS_MS = 9_223_372_036_854;
const MAX_UNIT_LENGTH = 32;

/** Event time, epoch ms (fractions allowed down to 1 µs). */
export const EventTimeSchema = Type.Number({ minimum: 0, maximum: MAX_TS_MS, [X_EXPECT]: `must be an event time in epoch ms between 0 and ${MAX_TS_MS}` });
const finite = (description?: string) => Type.Number({ [X_EXPECT]: 'must be a finite number', ...(description ? { description } : {}) });

/** `good` unless the edge knows better: `uncertain` (e.g. clock not synced), `bad` (sensor says so). */
export const QualitySchema = literalUnion(['good', 'uncertain', 'bad'], { [X_EXPECT]: 'must be one of good, uncertain, bad' });
export type Quality = Static<typeof QualitySchema>;

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
export type Reading = Static<typeof ReadingSchema>;

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
export type ClockState = Static<typeof ClockStateSchema>;

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
export type Envelope = Static<typeof EnvelopeSchema>;

export const envelopeMessage = defineMessage({ name: 'envelope', schema: EnvelopeSchema, maxBytes: MAX_ENVELOPE_BYTES });

function checkSender(env: Envelope, expectedDevice: string | undefined): Envelope {
  if (expectedDevice !== undefined && env.device !== expectedDevice) {
    throw new ContractError('device_mismatch', 'device', `envelope names device "${env.device}" but was sent by "${expectedDevice}"`);
  }
  return env;
}

/** Validates one reading; throws a {@link ContractError} with reason `bad_reading` and the key. */
export const readingMessage = defineMessage({ name: 'reading', schema: ReadingSchema, maxBytes: 4096, reason: 'bad_reading' });

/** Validates a parsed envelope object. `expectedDevice` is the id the sender authenticated as. */
export function validateEnvelope(obj: unknown, expectedDevice?: string): Envelope {
  return checkSender(envelopeMessage.validate(obj), expectedDevice);
}

/**
 * Parses and validates a telemetry payload. Never throws anything but {@link ContractError},
 * whatever the bytes.
 */
export function parseEnvelope(payload: Uint8Array | string, expectedDevice?: string): Envelope {
  return checkSender(envelopeMessage.parse(payload), expectedDevice);
}

export function encodeEnvelope(env: Envelope): string {
  return JSON.stringify(env);
}

/** `{device}:{epoch}:{seq}` names a batch everywhere; it is also JetStream's `Nats-Msg-Id`. */
export function batchId(env: Pick<Envelope, 'device' | 'epoch' | 'seq'>): string {
  return `${env.device}:${env.epoch}:${env.seq}`;
}

/** Splits a batch id; null when it is not one (`{device}:{epoch}:{seq}` with valid parts). */
export function parseBatchId(id: string): { device: string; epoch: string; seq: number } | null {
  const m = /^([a-z0-9][a-z0-9_-]{0,62}):([a-z0-9]{8,32}):([1-9]\d{0,15})$/.exec(id);
  if (!m) return null;
  const seq = Number(m[3]);
  return Number.isSafeInteger(seq) ? { device: m[1]!, epoch: m[2]!, seq } : null;
}

/**
 * The batch a refused payload names, when it can be read at all, for the device's rejection
 * notice: `{device}:{epoch}:{seq}` from the payload's own `epoch` and `seq`; null otherwise.
 */
export function guessBatchId(device: string, payload: Uint8Array | string): string | null {
  try {
    const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
    const o = JSON.parse(text) as { epoch?: unknown; seq?: unknown } | null;
    if (typeof o?.epoch === 'string' && typeof o.seq === 'number' && Number.isFinite(o.seq)) return `${device.slice(0, 63)}:${o.epoch.slice(0, 64)}:${o.seq}`;
  } catch {
    // not JSON: the notice says batch null
  }
  return null;
}
