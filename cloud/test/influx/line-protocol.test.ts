import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodePoint, escapeKey, formatFloat, escapeMeasurement, encodeStringField, LineProtocolError, msToNs, readTag } from '../../src/influx/line-protocol.js';
import { influxConfigSchema } from '../../src/influx/config.js';
import { readingSeries, rollupText, sessionLine } from '../../src/influx/points.js';
import { credentials } from '../../src/influx/connection.js';
import { apiForVersion } from '../../src/influx/connection.js';

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

  it('formats floats exactly as String does, on the fast path and off it', () => {
    const same = (x: number): void => {
      expect(formatFloat(x)).toBe(String(x));
    };
    // The fast path: decimals of up to three places, at every magnitude it takes, and around its bounds.
    fc.assert(fc.property(fc.integer({ min: -2147483647, max: 2147483647 }), fc.constantFrom(1, 10, 100, 1000), (k, d) => same(k / d)), { numRuns: 20_000 });
    for (const x of [0, -0, 0.001, -0.001, 0.01, 0.05, 0.1, 0.5, 1, -1, 20.5, 21.37, -3.005, 0.045, 1.2, 1.02, 1.002, 2147483.647, -2147483.647, 2147483.648, 2147483.6475, 1e-7, 123456789.5]) same(x);
    // Off it: any double (sums, means, scores' kin), and near-decimals one ulp away.
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => same(x)), { numRuns: 20_000 });
    fc.assert(fc.property(fc.integer({ min: -2147483647, max: 2147483647 }), fc.boolean(), (k, up) => {
      const x = k / 1000;
      same(up ? x + Number.EPSILON * Math.max(1, Math.abs(x)) : x - Number.EPSILON * Math.max(1, Math.abs(x)));
    }), { numRuns: 20_000 });
    // Sums of decimals drift off the grid (0.1 + 0.2): the slow path, still the same text.
    same(0.1 + 0.2);
    same(21.37 + 21.38 + 21.39);
  });

  it('writes session and rollup lines byte for byte as the generic encoder does', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9_.:\- =,]{1,12}$/).filter((x) => !/\\/.test(x));
    const num = fc.oneof(fc.integer({ min: -100_000, max: 100_000 }).map((k) => k / 100), fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }));
    const ts = fc.integer({ min: 0, max: 9_000_000_000_000 });
    fc.assert(
      fc.property(id, id, ts, ts, fc.nat(1e6), num, num, num, num, fc.nat(1000), fc.constantFrom('gap', 'max_length', 'dropout', 'shutdown'), (device, sensor, start, end, count, min, max, mean, stddev, anomalies, closedBy) => {
        const s = { v: 1 as const, device, sensor, start, end, count, min, max, mean, stddev, anomalies, closedBy: closedBy as never };
        const generic = encodePoint({
          measurement: 'sessions',
          tags: { device, sensor },
          fields: { end: BigInt(Math.round(end)), count: BigInt(count), min, max, mean, stddev, anomalies: BigInt(anomalies), closed_by: closedBy },
          ts: start,
        });
        expect(sessionLine(s)).toBe(generic);
        expect(sessionLine(s, readingSeries(device, sensor).tags)).toBe(generic);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(id, id, ts, fc.integer({ min: 1, max: 100 }), num, num, num, num, (device, sensor, start, count, a, b, first, last) => {
        const v = { count, sum: count === 1 ? first : a * count, min: count === 1 ? first : Math.min(a, b, first, last), max: count === 1 ? first : Math.max(a, b, first, last), first, last: count === 1 ? first : last };
        const tags = readingSeries(device, sensor).tags;
        const generic = encodePoint({ measurement: 'readings_1m', tags: { device, sensor }, fields: { mean: v.sum / v.count, min: v.min, max: v.max, count: BigInt(v.count), first: v.first, last: v.last, sum: v.sum }, ts: start });
        expect(rollupText('readings_1m', tags, start, v)).toBe(generic);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes event time in ns, exact down to 1 µs', () => {
    expect(msToNs(1767614400000.5)).toBe('1767614400000500000');
    expect(msToNs(1767614400000.001)).toBe('1767614400000001000');
    expect(msToNs(0)).toBe('0');
    expect(() => msToNs(-1)).toThrow(/ts/);
  });
});

describe('API detection from /ping version', () => {
  it('one rule for writes and queries: any 1.x gets the v1 API, 3.x the v3 path (no Flux there), everything else v2', () => {
    expect(apiForVersion('1.6.7~rc0')).toBe('v1');
    expect(apiForVersion('1.7.10')).toBe('v1');
    expect(apiForVersion('1.8.10')).toBe('v1');
    expect(apiForVersion('v2.7.4')).toBe('v2');
    expect(apiForVersion('3.0.0')).toBe('v3');
    expect(apiForVersion('3.8.1')).toBe('v3');
    expect(apiForVersion(null)).toBe('v2');
  });
});

describe('one auth rule for writes and queries', () => {
  const base = influxConfigSchema.parse({});
  it('v1: Basic for a user or a user:password token, Token for any other token', () => {
    expect(credentials({ ...base, username: 'u' }, { password: 'p' }, 'v1').authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(credentials(base, { token: 'u:p' }, 'v1').authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(credentials(base, { token: 'tok' }, 'v1').authorization).toBe('Token tok');
    expect(credentials(base, {}, 'v1').authorization).toBeUndefined();
  });
  it('v2: Token, with user:password as the token when only a user is given', () => {
    expect(credentials(base, { token: 'tok' }, 'v2')).toEqual({ authorization: 'Token tok', token: 'tok' });
    expect(credentials({ ...base, username: 'u' }, { password: 'p' }, 'v2').token).toBe('u:p');
  });
  it('v3: Bearer for a token (every 3.x edition), Basic with the token as password for a user', () => {
    expect(credentials(base, { token: 'apiv3_tok' }, 'v3')).toEqual({ authorization: 'Bearer apiv3_tok', token: 'apiv3_tok' });
    expect(credentials({ ...base, username: 'any' }, { password: 'apiv3_tok' }, 'v3').authorization).toBe(`Basic ${Buffer.from('any:apiv3_tok').toString('base64')}`);
    expect(credentials(base, {}, 'v3').authorization).toBeUndefined();
  });
});

describe('reading a tag back', () => {
  it('is the inverse of the tag encoding', () => {
    const line = encodePoint({ measurement: 'm', tags: { device: 'a b,c=d', sensor: 's' }, fields: { v: 1 }, ts: 1 });
    expect(readTag(line, 'device')).toBe('a b,c=d');
    expect(readTag(line, 'sensor')).toBe('s');
    expect(readTag(line, 'nope')).toBeUndefined();
    expect(readTag('readings,device=d1,sensor=t value=1 1', 'device')).toBe('d1');
  });
});
