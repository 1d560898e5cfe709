// Every parser, fed arbitrary JSON and arbitrary bytes, returns a value or throws ContractError,
// and nothing else (architecture: "bad input gets a clear error ... no crash").
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContractError, encodeEnvelope, MESSAGES, parseAlert, parseEnvelope, parseStatus, REJECT_REASONS, type Message } from '../src/index.js';

function outcome(f: () => unknown): 'ok' | 'refused' {
  try {
    f();
    return 'ok';
  } catch (err) {
    if (!(err instanceof ContractError)) throw new Error(`threw ${String(err)} instead of a ContractError`, { cause: err });
    expect(REJECT_REASONS).toContain(err.reason);
    expect(err.message.startsWith(`${err.path}: `)).toBe(true);
    return 'refused';
  }
}

const seed = encodeEnvelope({ v: 1, device: 'd1', epoch: 'abcdefgh', seq: 1, clock: { synced: true, now: 1 }, readings: [{ sensor: 's', ts: 1, value: 1, unit: 'C' }] });
/** A valid payload with a few bytes overwritten: mostly near misses, which reach deep into the schema. */
const mutated = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) => {
  const b = Buffer.from(seed);
  for (const [at, byte] of edits) b[at % b.length] = byte;
  return b;
});
const inputs = fc.oneof(
  fc.json().map((t) => t as string | Uint8Array),
  fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
  fc.uint8Array({ maxLength: 512 }),
  fc.string({ unit: 'binary', maxLength: 256 }),
  mutated,
);

describe('every contract parser on arbitrary input', () => {
  for (const [name, message] of Object.entries(MESSAGES) as [string, Message<unknown>][]) {
    it(`${name}: a value or a ContractError, nothing else`, () => {
      fc.assert(fc.property(inputs, (input) => void outcome(() => message.parse(input))), { numRuns: 600 });
      fc.assert(fc.property(fc.jsonValue(), (value) => void outcome(() => message.validate(value))), { numRuns: 300 });
    });
  }

  it('parsers with context (sender, subject) too', () => {
    fc.assert(
      fc.property(inputs, fc.string(), (input, who) => {
        outcome(() => parseEnvelope(input, who));
        outcome(() => parseStatus(input, who));
        outcome(() => parseAlert(input, { subject: who }));
      }),
      { numRuns: 600 },
    );
  });

  it('a valid envelope mutated in a few bytes is refused or still valid, never anything else', () => {
    let refused = 0;
    fc.assert(fc.property(mutated, (b) => void (outcome(() => parseEnvelope(b)) === 'refused' && refused++)), { numRuns: 1000 });
    expect(refused).toBeGreaterThan(0);
  });
});
