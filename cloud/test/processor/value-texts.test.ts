import { encodeEnvelope, parseEnvelope, type Envelope } from '@fieldline/contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readingText } from '../../src/influx/points.js';
import { valueTexts } from '../../src/processor/value-texts.js';

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
});
