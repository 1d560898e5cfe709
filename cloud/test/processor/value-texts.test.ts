import { encodeEnvelope, parseEnvelope, type Envelope } from '@fieldline/contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readingText } from '../../src/influx/points.js';
import { valueTexts } from '../../src/processor/value-texts.js';

/** The scan as first written (a search for the whole `"value"` key): the fast one must agree with it on any text. */
function reference(json: string, readings: number): (string | undefined)[] | undefined {
  const out: (string | undefined)[] = new Array<string | undefined>(readings);
  const space = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;
  let n = 0;
  for (let at = json.indexOf('"value"'); at >= 0; at = json.indexOf('"value"', at)) {
    let i = (at += 7);
    while (space(json.charCodeAt(i))) i++;
    if (json.charCodeAt(i) !== 58) continue;
    i++;
    while (space(json.charCodeAt(i))) i++;
    let end = i;
    for (let c = json.charCodeAt(end); end < json.length && c !== 44 && c !== 125 && c !== 93 && !space(c); c = json.charCodeAt(++end));
    if (n === readings) return undefined;
    const text = json.slice(i, end);
    out[n++] = text.length <= 24 && /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/.test(text) ? text : undefined;
  }
  return n === readings ? out : undefined;
}

const envelope = (values: number[], extra: Partial<Envelope> = {}): string =>
  encodeEnvelope({ v: 1, device: 'd1', epoch: 'epoch0001', seq: 1, clock: { synced: true, now: 0 }, readings: values.map((value, i) => ({ sensor: 's', ts: i, value, unit: 'value' })), ...extra });

describe('value texts (JSON source text of each reading value)', () => {
  it('pairs each reading with its value text; whitespace, a "value" string and non-plain numbers are handled', () => {
    const json = '{"v":1,"device":"d1","epoch":"epoch0001","seq":1,"clock":{"synced":true,"now":0},"readings":[' +
      '{"sensor":"s","ts":0,"unit":"value","value" : 20.50 },{"sensor":"s","ts":1,"value":-3},{"sensor":"s","ts":2,"value":1e3}]}';
    expect(parseEnvelope(json).readings.map((r) => r.value)).toEqual([20.5, -3, 1000]);
    expect(valueTexts(json, 3)).toEqual(['20.50', '-3', undefined]);
  });

  it('gives up (undefined) unless value keys and readings pair one to one', () => {
    expect(valueTexts(envelope([1, 2], { health: { value: 3 } }), 2)).toBeUndefined();
    expect(valueTexts('{"readings":[{"value":1,"value":2}]}', 1)).toBeUndefined();
    expect(valueTexts(envelope([1, 2]), 3)).toBeUndefined();
  });

  it('lines from the texts equal lines from formatting the values (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 30 }), (values) => {
        const json = envelope(values);
        const env = parseEnvelope(json);
        const texts = valueTexts(json, env.readings.length);
        expect(texts).toBeDefined();
        env.readings.forEach((r, i) => {
          expect(readingText('p value=', r, 0.25, false, texts![i])).toBe(readingText('p value=', r, 0.25, false));
        });
      }),
    );
  });

  it('finds exactly what a search for the whole "value" key finds, in any text (property)', () => {
    // Texts built from the pieces that matter: quotes, the key's letters, colons, spaces, numbers.
    const piece = fc.constantFrom('"', 'value', 'v', 'alue', '"value"', 'value"', '"value', ':', ' ', ',', '}', ']', '1', '-2.5', 'x', '\\');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }).map((p) => p.join('')), fc.integer({ min: 0, max: 4 }), (json, readings) => {
        expect(valueTexts(json, readings)).toEqual(reference(json, readings));
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 10 }), (values) => {
        const json = envelope(values, { health: { note: 'value"value' } as never });
        expect(valueTexts(json, values.length)).toEqual(reference(json, values.length));
      }),
    );
  });
});
