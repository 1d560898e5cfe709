import { ContractError, telemetryEnvelopes, type Envelope } from '@fieldline/contract';
import { valueTexts } from './value-texts.js';

/** One envelope of a TELEMETRY message, with the source text of its values (value-texts.ts). */
export interface Parsed {
  env: Envelope;
  values: (string | undefined)[] | undefined;
}

/** The bytes a bundle's envelope is dead-lettered with, alone (its own JSON; the bundle's bytes hold the others too). */
export const envelopeBytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value) ?? 'null');

/** A TELEMETRY message read: its valid envelopes in order, and each invalid one of a bundle, as bytes to dead-letter. */
export interface TelemetryMessage {
  parsed: Parsed[];
  failed: { error: ContractError; payload: Uint8Array }[];
}

/**
 * The envelopes of one TELEMETRY message (one, or a bundle's: contract bundle.ts) sent by
 * `device`. Throws a ContractError when the message as a whole is bad. A bundle's value texts
 * come from one scan of its text, cut per envelope; when one of its envelopes failed, its values
 * would shift the count, so none are taken (the lines format every value: the same points).
 * `values: false` skips them (a replay that only rebuilds state writes no line).
 */
export function readTelemetry(data: Uint8Array, device: string, o: { values: boolean } = { values: true }): TelemetryMessage {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  const { envelopes, errors } = telemetryEnvelopes(text, device);
  const failed = errors.map((e) => ({ error: e.error, payload: envelopeBytes(e.value) }));
  if (envelopes.length === 1) {
    const env = envelopes[0]!;
    return { parsed: [{ env, values: o.values ? valueTexts(text, env.readings.length) : undefined }], failed };
  }
  const parsed: Parsed[] = [];
  let total = 0;
  for (const env of envelopes) if (env) total += env.readings.length;
  const all = o.values && failed.length === 0 ? valueTexts(text, total) : undefined;
  let at = 0;
  for (const env of envelopes) {
    if (!env) continue;
    const n = env.readings.length;
    parsed.push({ env, values: all?.slice(at, at + n) });
    at += n;
  }
  return { parsed, failed };
}
