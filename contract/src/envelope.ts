import type { Static } from '@sinclair/typebox';
import { ContractError } from './errors.js';
import { EnvelopeSchema, ReadingSchema } from './generated/json-schemas.js';
import { validateEnvelope as envelopeValidator, validateReading } from './generated/validators.js';
import { MAX_ENVELOPE_BYTES } from './limits.js';
import { defineMessage } from './schema.js';
import type * as TB from './schemas.js';

export type Quality = Static<typeof TB.QualitySchema>;
export type Reading = Static<typeof TB.ReadingSchema>;
export type ClockState = Static<typeof TB.ClockStateSchema>;
export type Envelope = Static<typeof TB.EnvelopeSchema>;

export const envelopeMessage = defineMessage<Envelope>({ name: 'envelope', schema: EnvelopeSchema, validator: envelopeValidator, maxBytes: MAX_ENVELOPE_BYTES });

function checkSender(env: Envelope, expectedDevice: string | undefined): Envelope {
  if (expectedDevice !== undefined && env.device !== expectedDevice) {
    throw new ContractError('device_mismatch', 'device', `envelope names device "${env.device}" but was sent by "${expectedDevice}"`);
  }
  return env;
}

/** Validates one reading; throws a {@link ContractError} with reason `bad_reading` and the key. */
export const readingMessage = defineMessage<Reading>({ name: 'reading', schema: ReadingSchema, validator: validateReading, maxBytes: 4096, reason: 'bad_reading' });

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
