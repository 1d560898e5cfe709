import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  batchId,
  bundleBytes,
  bundleId,
  ContractError,
  encodeBundle,
  encodeEnvelope,
  isBundle,
  MAX_BUNDLE_BYTES,
  MAX_BUNDLE_ENVELOPES,
  parseBundle,
  REJECT_REASONS,
  telemetryEnvelopes,
  type Envelope,
} from '../src/index.js';

const env = (seq: number, device = 'dev-1'): Envelope => ({ v: 1, device, epoch: 'abcdefgh', seq, clock: { synced: true, now: 1000 * seq }, readings: [{ sensor: 's1', ts: 1000 * seq, value: seq + 0.5, unit: 'C' }] });
const bytes = (e: Envelope | string): Buffer => Buffer.from(typeof e === 'string' ? e : encodeEnvelope(e));

describe('telemetry bundles', () => {
  it('round-trips envelopes in order, and is told from a lone envelope by its first byte', () => {
    const parts = [bytes(env(1)), bytes(`{ "v": 1, "device": "dev-1", "epoch": "abcdefgh", "seq": 2,\n  "clock": {"synced": true, "now": 2000}, "readings": [] }`), bytes(env(3))];
    const b = encodeBundle(parts);
    expect(b.byteLength).toBe(bundleBytes(parts.reduce((n, p) => n + p.byteLength, 0), parts.length));
    expect(isBundle(b)).toBe(true);
    expect(isBundle(b.toString())).toBe(true);
    expect(isBundle(parts[0]!)).toBe(false);
    const parsed = parseBundle(b, 'dev-1');
    expect(parsed.errors).toEqual([]);
    expect(parsed.envelopes.map((e) => e!.seq)).toEqual([1, 2, 3]);
    expect(telemetryEnvelopes(b, 'dev-1').envelopes.map((e) => batchId(e!))).toEqual(['dev-1:abcdefgh:1', 'dev-1:abcdefgh:2', 'dev-1:abcdefgh:3']);
    expect(telemetryEnvelopes(parts[0]!, 'dev-1').envelopes).toEqual([env(1)]);
    expect(bundleId(env(1), env(3))).toBe('dev-1:abcdefgh:1..abcdefgh:3');
  });

  it('an invalid envelope fails alone, named by its index; one of another device too', () => {
    const b = encodeBundle([bytes(env(1)), bytes('{"v":1}'), bytes(env(3, 'dev-2')), bytes(env(4))]);
    const parsed = parseBundle(b, 'dev-1');
    expect(parsed.envelopes.map((e) => e?.seq)).toEqual([1, undefined, undefined, 4]);
    expect(parsed.errors.map((e) => [e.index, e.error.reason])).toEqual([
      [1, 'bad_schema'],
      [2, 'device_mismatch'],
    ]);
    expect(parsed.errors[1]!.error.message).toBe('[2].device: envelope names device "dev-2" but the bundle is "dev-1"\'s');
    expect(parsed.errors[0]!.error.message).toBe('[1].device: is required');
    expect(parsed.errors[0]!.value).toEqual({ v: 1 });
  });

  it('refuses what is not a bundle as a whole, saying why', () => {
    const refused = (p: string | Uint8Array): string => {
      try {
        parseBundle(p, 'dev-1');
      } catch (err) {
        expect(err).toBeInstanceOf(ContractError);
        return `${(err as ContractError).reason}: ${(err as Error).message}`;
      }
      throw new Error('accepted');
    };
    expect(refused('[{"v":1},')).toMatch(/^bad_json: payload: bundle is not valid JSON/);
    expect(refused(`[${encodeEnvelope(env(1))}]`)).toMatch(/^bad_schema: payload: bundle holds 1 envelopes; 2 to 1000 are allowed/);
    expect(refused('{"a":[1,2]}')).toMatch(/^bad_schema: payload: bundle must be an array of envelopes/);
    expect(refused(`[${Array.from({ length: MAX_BUNDLE_ENVELOPES + 1 }, () => '1').join(',')}]`)).toMatch(/^bad_schema: .*1001 envelopes/);
    expect(refused(Buffer.alloc(MAX_BUNDLE_BYTES + 1, 0x5b))).toMatch(/^too_large: payload: bundle is 524289 bytes/);
    // A lone envelope that is invalid is refused whole, as parseEnvelope does.
    expect(() => telemetryEnvelopes('{"v":1}', 'dev-1')).toThrow(ContractError);
  });

  it('any bytes starting with `[`: a bundle read, or a ContractError, nothing else', () => {
    const good = bytes(env(1)).toString();
    const inputs = fc.oneof(
      fc.jsonValue().map((v) => `[${JSON.stringify(v) ?? 'null'}]`),
      fc.array(fc.oneof(fc.constant(good), fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null')), { maxLength: 6 }).map((a) => `[${a.join(',')}]`),
      fc.uint8Array({ maxLength: 512 }).map((u) => Buffer.concat([Buffer.from('['), u])),
    );
    fc.assert(
      fc.property(inputs, (p) => {
        try {
          const r = telemetryEnvelopes(p, 'dev-1');
          for (const e of r.errors) expect(REJECT_REASONS).toContain(e.error.reason);
          expect(r.envelopes.length).toBeGreaterThanOrEqual(2);
        } catch (err) {
          if (!(err instanceof ContractError)) throw new Error(`threw ${String(err)} instead of a ContractError`, { cause: err });
        }
      }),
      { numRuns: 2000 },
    );
  });
});
