import { ContractError } from './errors.js';
import { assertDeviceId, assertEpoch, assertSensorId } from './ids.js';

export const ENVELOPE_VERSION = 1;
/** Largest telemetry payload a gateway accepts (bytes). Also the broker's packet budget. */
export const MAX_ENVELOPE_BYTES = 256 * 1024;
/** Most readings in one batch envelope. */
export const MAX_READINGS = 5000;
/** Latest event time accepted (ms): year 5138; anything beyond is a broken clock or unit. */
export const MAX_TS_MS = 1e14;
const MAX_UNIT_LENGTH = 32;

/** `good` unless the edge knows better: `uncertain` (e.g. clock not synced), `bad` (sensor says so). */
export type Quality = 'good' | 'uncertain' | 'bad';
const QUALITIES: readonly string[] = ['good', 'uncertain', 'bad'];

export interface Reading {
  /** Sensor id, unique within its device. */
  sensor: string;
  /** Event time, epoch ms (fractions allowed down to 1 µs), from the edge's clock. */
  ts: number;
  value: number;
  unit?: string;
  quality?: Quality;
}

/** The edge's clock when the envelope was built: heartbeats advance event time with `now`. */
export interface ClockState {
  /** True when the clock is known good (NTP synced or set from a trusted source). */
  synced: boolean;
  /** Device wall clock, epoch ms. */
  now: number;
}

/** One batch on `fl/v1/{device}/telemetry`. No readings = heartbeat. */
export interface Envelope {
  v: 1;
  device: string;
  epoch: string;
  seq: number;
  clock: ClockState;
  readings: Reading[];
  /** Health figures (heartbeats): queue depth, drops, bad frames, uptime, memory… numbers only. */
  health?: Record<string, number>;
}

const ENVELOPE_KEYS = new Set(['v', 'device', 'epoch', 'seq', 'clock', 'readings', 'health']);
const READING_KEYS = new Set(['sensor', 'ts', 'value', 'unit', 'quality']);
const CLOCK_KEYS = new Set(['synced', 'now']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rejectUnknownKeys(obj: Record<string, unknown>, allowed: Set<string>, path: string, reason: 'bad_schema' | 'bad_reading'): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key)) throw new ContractError(reason, path ? `${path}.${key}` : key, 'unknown key');
  }
}

function assertTs(ts: unknown, path: string, reason: 'bad_schema' | 'bad_reading'): asserts ts is number {
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0 || ts > MAX_TS_MS) {
    throw new ContractError(reason, path, `must be an event time in epoch ms between 0 and ${MAX_TS_MS}, got ${JSON.stringify(ts)}`);
  }
}

/** Validates one reading; throws a {@link ContractError} with reason `bad_reading` and the key. */
export function validateReading(r: unknown, path = 'reading'): Reading {
  if (!isRecord(r)) throw new ContractError('bad_reading', path, 'must be an object');
  rejectUnknownKeys(r, READING_KEYS, path, 'bad_reading');
  try {
    assertSensorId(r.sensor, `${path}.sensor`);
  } catch (err) {
    throw new ContractError('bad_reading', `${path}.sensor`, (err as Error).message.replace(/^[^:]*: /, ''), { cause: err });
  }
  assertTs(r.ts, `${path}.ts`, 'bad_reading');
  if (typeof r.value !== 'number' || !Number.isFinite(r.value)) {
    throw new ContractError('bad_reading', `${path}.value`, `must be a finite number, got ${JSON.stringify(r.value)}`);
  }
  if (r.unit !== undefined && (typeof r.unit !== 'string' || r.unit.length > MAX_UNIT_LENGTH || /[\u0000-\u001f\u007f]/.test(r.unit))) {
    throw new ContractError('bad_reading', `${path}.unit`, `must be a printable string of at most ${MAX_UNIT_LENGTH} characters`);
  }
  if (r.quality !== undefined && (typeof r.quality !== 'string' || !QUALITIES.includes(r.quality))) {
    throw new ContractError('bad_reading', `${path}.quality`, `must be one of ${QUALITIES.join(', ')}, got ${JSON.stringify(r.quality)}`);
  }
  return r as unknown as Reading;
}

/** Validates a parsed envelope object. `expectedDevice` is the id the sender authenticated as. */
export function validateEnvelope(obj: unknown, expectedDevice?: string): Envelope {
  if (!isRecord(obj)) throw new ContractError('bad_schema', 'envelope', 'must be a JSON object');
  rejectUnknownKeys(obj, ENVELOPE_KEYS, '', 'bad_schema');
  if (obj.v !== ENVELOPE_VERSION) {
    throw new ContractError('bad_schema', 'v', `must be ${ENVELOPE_VERSION}, got ${JSON.stringify(obj.v)}`);
  }
  assertDeviceId(obj.device, 'device');
  if (expectedDevice !== undefined && obj.device !== expectedDevice) {
    throw new ContractError('device_mismatch', 'device', `envelope names device "${obj.device}" but was sent by "${expectedDevice}"`);
  }
  assertEpoch(obj.epoch, 'epoch');
  if (typeof obj.seq !== 'number' || !Number.isSafeInteger(obj.seq) || obj.seq < 1) {
    throw new ContractError('bad_schema', 'seq', `must be a positive integer, got ${JSON.stringify(obj.seq)}`);
  }
  const clock = obj.clock;
  if (!isRecord(clock)) throw new ContractError('bad_schema', 'clock', 'must be an object {synced, now}');
  rejectUnknownKeys(clock, CLOCK_KEYS, 'clock', 'bad_schema');
  if (typeof clock.synced !== 'boolean') throw new ContractError('bad_schema', 'clock.synced', 'must be a boolean');
  assertTs(clock.now, 'clock.now', 'bad_schema');
  if (!Array.isArray(obj.readings)) throw new ContractError('bad_schema', 'readings', 'must be an array');
  if (obj.readings.length > MAX_READINGS) {
    throw new ContractError('too_large', 'readings', `has ${obj.readings.length} readings; at most ${MAX_READINGS} are allowed`);
  }
  obj.readings.forEach((r, i) => validateReading(r, `readings[${i}]`));
  if (obj.health !== undefined) {
    if (!isRecord(obj.health)) throw new ContractError('bad_schema', 'health', 'must be an object of numbers');
    for (const [k, val] of Object.entries(obj.health)) {
      if (!/^[a-z][a-z0-9_]{0,62}$/.test(k)) throw new ContractError('bad_schema', `health.${k}`, 'key must match [a-z][a-z0-9_]{0,62}');
      if (typeof val !== 'number' || !Number.isFinite(val)) throw new ContractError('bad_schema', `health.${k}`, 'must be a finite number');
    }
  }
  return obj as unknown as Envelope;
}

/**
 * Parses and validates a telemetry payload. Never throws anything but {@link ContractError},
 * whatever the bytes.
 */
export function parseEnvelope(payload: Uint8Array | string, expectedDevice?: string): Envelope {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > MAX_ENVELOPE_BYTES) {
    throw new ContractError('too_large', 'payload', `is ${size} bytes; at most ${MAX_ENVELOPE_BYTES} are allowed`);
  }
  let obj: unknown;
  try {
    const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
    obj = JSON.parse(text);
  } catch (err) {
    throw new ContractError('bad_json', 'payload', `is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  return validateEnvelope(obj, expectedDevice);
}

export function encodeEnvelope(env: Envelope): string {
  return JSON.stringify(env);
}

/** `{device}:{epoch}:{seq}` names a batch everywhere; it is also JetStream's `Nats-Msg-Id`. */
export function batchId(env: Pick<Envelope, 'device' | 'epoch' | 'seq'>): string {
  return `${env.device}:${env.epoch}:${env.seq}`;
}
