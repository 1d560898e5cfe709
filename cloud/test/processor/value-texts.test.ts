import { encodeEnvelope, parseEnvelope, type Envelope } from '@fieldline/contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readingText } from '../../src/influx/points.js';
import { valueTexts } from '../../src/processor/value-texts.js';

/** Every `"value"` key's text, as the scan was first written (a search for the whole key, a regex for the number): the fast scan must agree with it on any text. */
function reference(json: string): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  const space = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;
  for (let at = json.indexOf('"value"'); at >= 0; at = json.indexOf('"value"', at)) {
    let i = (at += 7);
    while (space(json.charCodeAt(i))) i++;
    if (json.charCodeAt(i) !== 58) continue;
    i++;
    while (space(json.charCodeAt(i))) i++;
    let end = i;
    for (let c = json.charCodeAt(end); end < json.length && c !== 44 && c !== 125 && c !== 93 && !space(c); c = json.charCodeAt(++end));
    const text = json.slice(i, end);
    out.push(text.length <= 24 && /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/.test(text) ? text : undefined);
  }
  return out;
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
    // Texts made of the pieces that matter: quotes, the key and parts of it, colons, spaces,
    // delimiters, and number-like texts plain and not.
    const number = fc.constantFrom('1', '-2.5', '0', '01', '-', '.', '1.', '.5', '-0.25', '-0', '00.1', '1.2.3', '12345678901234567890123', '1e3', 'x');
    const piece = fc.oneof(
      fc.constantFrom('"', 'value', 'v', 'alue', '"value"', 'value"', '"value', ':', ' ', ',', '}', ']', '\\'),
      number,
      number.map((n) => `"value":${n},`),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }).map((p) => p.join('')), (json) => {
        const all = reference(json);
        expect(valueTexts(json, all.length)).toEqual(all);
        expect(valueTexts(json, all.length + 1)).toBeUndefined();
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 10 }), (values) => {
        const json = envelope(values, { health: { note: 'value"value' } as never });
        expect(valueTexts(json, values.length)).toEqual(reference(json));
      }),
    );
  });
});
