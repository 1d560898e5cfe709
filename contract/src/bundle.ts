import { clip, ContractError } from './errors.js';
import { envelopeMessage, parseEnvelope, type Envelope } from './envelope.js';
import { EnvelopeSchema } from './generated/json-schemas.js';
import { MAX_BUNDLE_BYTES, MAX_BUNDLE_ENVELOPES } from './limits.js';
import type { JsonSchema } from './schema.js';

/**
 * A TELEMETRY message is either one envelope, byte for byte as its device sent it, or a bundle:
 * a JSON array of two or more envelopes of the one device its subject names, in the order the
 * gateway received them. The gateway bundles what a device sent in one turn of its event loop
 * (gateway/src/bundler.ts), so that many small envelopes cost JetStream, NATS and the processor
 * one message, not one each. Each envelope keeps its batch id: the processor's window of seen
 * batches per device (cloud/src/processor/seq-window.ts) drops a repeat, also one a re-sent
 * bundle carries cut differently from the first time (JetStream's `Nats-Msg-Id` only catches
 * a bundle re-sent whole).
 *
 * A bundle is told from an envelope by its first byte: `[` (an envelope is an object, and the
 * gateway joins the envelopes it has validated with nothing before the bracket).
 */
export const TelemetryBundleSchema: JsonSchema = {
  description: 'Envelopes of one device stored as one TELEMETRY message by the gateway, in the order received (fl.telemetry.{partition}.{device}).',
  type: 'array',
  items: EnvelopeSchema,
  minItems: 2,
  maxItems: MAX_BUNDLE_ENVELOPES,
};

const OPEN = 0x5b; // [
const OPEN_BYTES = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/** True when the TELEMETRY payload is a bundle (see {@link TelemetryBundleSchema}). */
export function isBundle(payload: Uint8Array | string): boolean {
  return typeof payload === 'string' ? payload.charCodeAt(0) === OPEN : payload[0] === OPEN;
}

/**
 * Joins envelopes already validated (each valid JSON, so the array is too) into one bundle.
 * The caller keeps within {@link MAX_BUNDLE_BYTES} and {@link MAX_BUNDLE_ENVELOPES}.
 */
export function encodeBundle(payloads: readonly Uint8Array[]): Buffer {
  const parts: Uint8Array[] = [OPEN_BYTES];
  for (let i = 0; i < payloads.length; i++) {
    if (i > 0) parts.push(COMMA);
    parts.push(payloads[i]!);
  }
  parts.push(CLOSE);
  return Buffer.concat(parts);
}

/** Bytes a bundle of envelopes of these sizes takes: the brackets and a comma between two. */
export const bundleBytes = (envelopeBytes: number, envelopes: number): number => envelopeBytes + envelopes + 1;

/** `Nats-Msg-Id` of a bundle: its first and last batch ids (a bundle re-sent whole is a duplicate). */
export function bundleId(first: Pick<Envelope, 'device' | 'epoch' | 'seq'>, last: Pick<Envelope, 'epoch' | 'seq'>): string {
  return `${first.device}:${first.epoch}:${first.seq}..${last.epoch}:${last.seq}`;
}

/** A bundle's envelopes, and the ones that failed validation (by index, with the reason), each on its own. */
export interface ParsedBundle {
  envelopes: (Envelope | undefined)[];
  errors: { index: number; error: ContractError; value: unknown }[];
}

/**
 * Parses a bundle. The array itself must be valid (JSON, an array of 2 to
 * {@link MAX_BUNDLE_ENVELOPES}, within {@link MAX_BUNDLE_BYTES}) or a {@link ContractError} is
 * thrown; an envelope that fails validation (or names another device than `expectedDevice`)
 * fails alone: its slot is undefined and its error listed. Never throws anything else.
 */
export function parseBundle(payload: Uint8Array | string, expectedDevice?: string): ParsedBundle {
  // A text of n characters is at most 3n bytes in UTF-8: counted only when that could exceed the bound (the envelope parser's shortcut).
  const size = typeof payload === 'string' ? (payload.length * 3 <= MAX_BUNDLE_BYTES ? payload.length : Buffer.byteLength(payload)) : payload.byteLength;
  if (size > MAX_BUNDLE_BYTES) throw new ContractError('too_large', 'payload', `bundle is ${size} bytes; at most ${MAX_BUNDLE_BYTES} are allowed`);
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch (err) {
    throw new ContractError('bad_json', 'payload', `bundle is not valid JSON (${clip(String((err as Error).message), 200)})`, { cause: err });
  }
  if (!Array.isArray(value)) throw new ContractError('bad_schema', 'payload', 'bundle must be an array of envelopes');
  if (value.length < 2 || value.length > MAX_BUNDLE_ENVELOPES) throw new ContractError('bad_schema', 'payload', `bundle holds ${value.length} envelopes; 2 to ${MAX_BUNDLE_ENVELOPES} are allowed`);
  const out: ParsedBundle = { envelopes: new Array<Envelope | undefined>(value.length), errors: [] };
  for (let i = 0; i < value.length; i++) {
    try {
      const env = envelopeMessage.validate(value[i]);
      if (expectedDevice !== undefined && env.device !== expectedDevice) {
        throw new ContractError('device_mismatch', 'device', `envelope names device "${env.device}" but the bundle is "${expectedDevice}"'s`);
      }
      out.envelopes[i] = env;
    } catch (err) {
      // The envelope's own path, under its place in the bundle: `[3].readings[0].ts`.
      const e = err instanceof ContractError ? new ContractError(err.reason, `[${i}].${err.path}`, err.message.slice(err.path.length + 2), { cause: err }) : new ContractError('bad_schema', `[${i}]`, String(err));
      out.errors.push({ index: i, error: e, value: value[i] });
    }
  }
  return out;
}

/**
 * The envelopes of one TELEMETRY message, whichever form it has: one envelope (`parseEnvelope`)
 * or a bundle (`parseBundle`). Throws a {@link ContractError} when the message as a whole is bad
 * (an invalid lone envelope, a bundle that is not an array of envelopes); a bundle's invalid
 * envelope fails alone and is listed in `errors`.
 */
export function telemetryEnvelopes(payload: Uint8Array | string, expectedDevice?: string): ParsedBundle {
  if (isBundle(payload)) return parseBundle(payload, expectedDevice);
  return { envelopes: [parseEnvelope(payload, expectedDevice)], errors: [] };
}
