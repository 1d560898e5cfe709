import { describe, expect, it } from 'vitest';
import { encodePoint, escapeKey, escapeMeasurement, encodeStringField, LineProtocolError, msToNs } from '../../src/influx/line-protocol.js';
import { apiForVersion } from '../../src/influx/writer.js';

const point = (tags: Record<string, string>, fields: Record<string, number | bigint | boolean | string> = { value: 1 }) =>
  encodePoint({ measurement: 'm', tags, fields, ts: 1 });

describe('line protocol encoding', () => {
  it('escapes tag values with spaces, commas and "=" and keeps quotes literal', () => {
    expect(point({ t: 'a b,c=d"e' })).toBe('m,t=a\\ b\\,c\\=d"e value=1 1000000');
  });

  it('keeps a backslash that cannot be mistaken for an escape and rejects one that can', () => {
    expect(point({ t: 'C:\\dir' })).toBe('m,t=C:\\dir value=1 1000000');
    expect(() => point({ t: 'ends\\' })).toThrow(/tags\.t: must not contain a backslash/);
    expect(() => point({ t: 'a\\ b' })).toThrow(LineProtocolError);
  });

  it('rejects newlines in tags, field keys, string fields and measurements: never a second point', () => {
    expect(() => point({ t: 'a\nm2 value=2' })).toThrow(/tags\.t: must not contain a newline/);
    expect(() => point({ t: 'x' }, { 'f\r': 1 })).toThrow(/fields\.f\r: must not contain a newline/);
    expect(() => point({}, { s: 'two\nlines' })).toThrow(/fields\.s: must not contain a newline/);
    expect(() => encodePoint({ measurement: 'a\nb', tags: {}, fields: { v: 1 }, ts: 1 })).toThrow(/measurement/);
  });

  it('escapes string field values (quotes and backslashes) but not commas or spaces', () => {
    expect(encodeStringField('say "hi", C:\\ ok')).toBe('"say \\"hi\\", C:\\\\ ok"');
    expect(point({}, { msg: 'a "b"' })).toBe('m msg="a \\"b\\"" 1000000');
  });

  it('escapes measurement commas and spaces but not "="', () => {
    expect(escapeMeasurement('my m,x=1')).toBe('my\\ m\\,x=1');
    expect(() => escapeMeasurement('#comment')).toThrow(/comment/);
    expect(escapeKey('k=v')).toBe('k\\=v');
  });

  it('encodes field types: float, integer (bigint), boolean, string; rejects NaN and Infinity', () => {
    expect(point({}, { f: 1.5, i: 42n, b: true, s: 'x' })).toBe('m f=1.5,i=42i,b=true,s="x" 1000000');
    expect(() => point({}, { f: NaN })).toThrow(/finite/);
    expect(() => point({}, { f: Infinity })).toThrow(/finite/);
    expect(() => encodePoint({ measurement: 'm', tags: {}, fields: {}, ts: 1 })).toThrow(/at least one field/);
  });

  it('sorts tags (InfluxDB canonical order) and omits empty tag values', () => {
    expect(point({ z: '1', a: '2', e: '' })).toBe('m,a=2,z=1 value=1 1000000');
  });

  it('writes event time in ns, exact down to 1 µs', () => {
    expect(msToNs(1767614400000.5)).toBe('1767614400000500000');
    expect(msToNs(1767614400000.001)).toBe('1767614400000001000');
    expect(msToNs(0)).toBe('0');
    expect(() => msToNs(-1)).toThrow(/ts/);
  });
});

describe('API detection from /ping version', () => {
  it('uses v1 only before 1.8', () => {
    expect(apiForVersion('1.6.7~rc0')).toBe('v1');
    expect(apiForVersion('1.7.10')).toBe('v1');
    expect(apiForVersion('1.8.10')).toBe('v2');
    expect(apiForVersion('v2.7.4')).toBe('v2');
    expect(apiForVersion('3.0.0')).toBe('v2');
    expect(apiForVersion(null)).toBe('v2');
  });
});
