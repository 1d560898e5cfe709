// Every parser, fed arbitrary JSON and arbitrary bytes, returns a value or throws ContractError,
// and nothing else (architecture: "bad input gets a clear error ... no crash").
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContractError, encodeEnvelope, MAX_ERROR_PATH_CHARS, MAX_ERROR_TEXT_CHARS, MESSAGES, parseAlert, parseEnvelope, parseStatus, REJECT_REASONS, type Message } from '../src/index.js';

function outcome(f: () => unknown): 'ok' | 'refused' {
  try {
    f();
    return 'ok';
  } catch (err) {
    if (!(err instanceof ContractError)) throw new Error(`threw ${String(err)} instead of a ContractError`, { cause: err });
    expect(REJECT_REASONS).toContain(err.reason);
    expect(err.message.startsWith(`${err.path}: `)).toBe(true);
    // Bounded whatever the input (error texts never serialize attacker data without a bound).
    expect(err.message.length).toBeLessThanOrEqual(MAX_ERROR_PATH_CHARS + 2 + MAX_ERROR_TEXT_CHARS);
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

/** Nesting `depth` levels of arrays and objects: JSON.stringify of such a value throws a RangeError. */
const nested = (depth: number, kind: 'array' | 'object'): string => (kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
/** Hostile shapes placed where the schema reaches deepest: a reading's value, a health figure, an unknown key, the whole payload. */
const hostileValues = fc.oneof(
  fc.constantFrom('1e309', '-1e309', '1e-400', '-0', '123456789012345678901234567890', '9223372036854775807', '0.1e1000'),
  fc.tuple(fc.integer({ min: 1, max: 60_000 }), fc.constantFrom('array', 'object') as fc.Arbitrary<'array' | 'object'>).map(([d, k]) => nested(d, k)),
  fc.integer({ min: 1, max: 300_000 }).map((n) => JSON.stringify('x'.repeat(n))),
  fc.constantFrom('{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"x":1}}}', '"\\u0000\\ud800"'),
);
const placed = fc.tuple(hostileValues, fc.constantFrom('value', 'ts', 'health', 'key', 'sensor', 'whole')).map(([v, where]) => {
  const head = '{"v":1,"device":"d1","epoch":"abcdefgh","seq":1,"clock":{"synced":true,"now":1}';
  if (where === 'whole') return v;
  if (where === 'health') return `${head},"health":{"a":${v}},"readings":[]}`;
  if (where === 'key') return `${head},"readings":[],${JSON.stringify('k'.repeat(v.length % 100_000))}:${v}}`;
  if (where === 'sensor') return `${head},"readings":[{"sensor":${v},"ts":1,"value":1}]}`;
  return `${head},"readings":[{"sensor":"s","ts":${where === 'ts' ? v : 1},"value":${where === 'value' ? v : 1}}]}`;
});

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

  it('deep nesting (60,000 levels), 1e309, huge strings and prototype keys: a value or a ContractError, for every parser', () => {
    for (const message of Object.values(MESSAGES) as Message<unknown>[]) {
      fc.assert(fc.property(placed, (text) => void outcome(() => message.parse(text))), { numRuns: 60, seed: 11 });
    }
    // The same values parsed first (as a caller holding an object would): validate never serializes them.
    fc.assert(
      fc.property(placed, (text) => {
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          return;
        }
        for (const message of Object.values(MESSAGES) as Message<unknown>[]) outcome(() => message.validate(value));
      }),
      { numRuns: 60, seed: 12 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a valid envelope mutated in a few bytes is refused or still valid, never anything else', () => {
    let refused = 0;
    fc.assert(fc.property(mutated, (b) => void (outcome(() => parseEnvelope(b)) === 'refused' && refused++)), { numRuns: 1000 });
    expect(refused).toBeGreaterThan(0);
  });
});
