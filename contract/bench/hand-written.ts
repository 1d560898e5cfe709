/**
 * The envelope check as it was before the contract moved to one schema language (commit 850cd3a),
 * kept only as the baseline of `npm run bench:contract`. Not exported by the package.
 */
import { ContractError } from '../src/errors.js';
import type { Envelope, Reading } from '../src/envelope.js';

const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Edge epochs: random, created with the edge's state directory. */
const EPOCH_PATTERN = /^[a-z0-9]{8,32}$/;

function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id);
}

function describe(value: unknown): string {
  if (typeof value !== 'string') return `a ${value === null ? 'null' : typeof value}`;
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(shown);
}

function assertId(kind: string, path: string, id: unknown): asserts id is string {
  if (isValidId(id)) return;
  let why = 'must match [a-z0-9][a-z0-9_-]{0,62}';
  if (typeof id === 'string') {
    if (id.length === 0) why = 'must not be empty';
    else if (id.length > 63) why = `is ${id.length} characters long; at most 63 are allowed`;
    else if (/[A-Z]/.test(id)) why = 'must be lower case; ' + why;
  }
  throw new ContractError('bad_id', path, `${kind} ${describe(id)} ${why}`);
}

/** Throws a {@link ContractError} naming what is wrong with a device id. */
function assertDeviceId(id: unknown, path = 'device'): asserts id is string {
  assertId('device id', path, id);
}

/** Throws a {@link ContractError} naming what is wrong with a sensor id. */
function assertSensorId(id: unknown, path = 'sensor'): asserts id is string {
  assertId('sensor id', path, id);
}

function assertEpoch(epoch: unknown, path = 'epoch'): asserts epoch is string {
  if (typeof epoch === 'string' && EPOCH_PATTERN.test(epoch)) return;
  throw new ContractError('bad_schema', path, `epoch ${describe(epoch)} must match [a-z0-9]{8,32}`);
}


const ENVELOPE_VERSION = 1;
const MAX_ENVELOPE_BYTES = 256 * 1024;
const MAX_READINGS = 5000;
const MAX_TS_MS = 1e14;
const MAX_UNIT_LENGTH = 32;
const QUALITIES: readonly string[] = ['good', 'uncertain', 'bad'];

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
function validateReading(r: unknown, path = 'reading'): Reading {
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
function validateEnvelope(obj: unknown, expectedDevice?: string): Envelope {
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
export function handWrittenParseEnvelope(payload: Uint8Array | string, expectedDevice?: string): Envelope {
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

