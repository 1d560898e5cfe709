import { describe, expect, it } from 'vitest';
import { bucketing, flux, fluxString, influxql, influxqlIdent, influxqlString } from '../../src/api/query-text.js';
import { ApiError, foldAlerts, parseRange, parseTime } from '../../src/api/params.js';
import { loadApiConfig, resolveTokens } from '../../src/api/config.js';
import type { AlertRow } from '../../src/api/store.js';
import { Limiter } from '../../src/api/limiter.js';

const T = Date.parse('2026-01-01T00:00:00Z');

describe('escaping', () => {
  it.each([
    ["a'b", "'a\\'b'"],
    ['a\\b', "'a\\\\b'"],
    ["x' OR '1'='1", "'x\\' OR \\'1\\'=\\'1'"],
    ['a\nb', "'a\\nb'"],
  ])('InfluxQL string %j -> %s', (input, out) => expect(influxqlString(input)).toBe(out));

  it('InfluxQL identifiers escape quotes and backslashes', () => {
    expect(influxqlIdent('re"ad\\')).toBe('"re\\"ad\\\\"');
  });

  it.each([
    ['a"b', '"a\\"b"'],
    ['${token}', '"\\${token}"'],
    ['a\\', '"a\\\\"'],
    ['x") |> drop(columns: ["a"]) //', '"x\\") |> drop(columns: [\\"a\\"]) //"'],
    ['l1\nl2\t\r', '"l1\\nl2\\t\\r"'],
  ])('Flux string %j -> %s', (input, out) => expect(fluxString(input)).toBe(out));
});

describe('bucketing', () => {
  it('never makes more than `points` buckets, and the first starts at `from`', () => {
    for (const [span, points] of [[86_400_000, 1000], [7, 3], [1000, 1000], [999, 1000], [5, 2], [123_457, 17]] as const) {
      const from = T + 12_345;
      const { bucketMs, offsetMs } = bucketing(from, from + span, points);
      expect(Math.ceil(span / bucketMs)).toBeLessThanOrEqual(points);
      expect((from - offsetMs) % bucketMs).toBe(0);
      expect(offsetMs).toBeGreaterThanOrEqual(0);
      expect(offsetMs).toBeLessThan(bucketMs);
    }
  });
});

describe('query text', () => {
  const q = { device: 'pump-1', sensor: 'temp', from: T, to: T + 3_600_000, bucketMs: 3600, offsetMs: 0 };

  it('InfluxQL series query groups by time with an offset aligned to `from`', () => {
    expect(influxql.series({ ...q, offsetMs: 1200 })).toBe(
      'SELECT mean("value") AS "mean", min("value") AS "min", max("value") AS "max" FROM "readings" ' +
        `WHERE "device" = 'pump-1' AND "sensor" = 'temp' AND time >= ${T}ms AND time < ${T + 3_600_000}ms GROUP BY time(3600ms, 1200ms) fill(none)`,
    );
  });

  it('InfluxQL escapes values even if validation were bypassed', () => {
    expect(influxql.series({ ...q, device: "x' OR 1=1 --" })).toContain(`"device" = 'x\\' OR 1=1 --'`);
    expect(influxql.alerts({ rule: "r'; DROP DATABASE x" }, T, T + 1, 10)[0]).toContain(`"rule" = 'r\\'; DROP DATABASE x'`);
    expect(() => influxql.series({ ...q, from: 1.5 })).toThrow(RangeError);
  });

  it('Flux series query: one filter, mean/min/max windows pivoted into columns', () => {
    const text = flux.series('fieldline', q);
    expect(text).toContain('from(bucket: "fieldline")');
    expect(text).toContain('|> range(start: 2026-01-01T00:00:00.000Z, stop: 2026-01-01T01:00:00.000Z)');
    expect(text).toContain('|> filter(fn: (r) => r["device"] == "pump-1" and r["sensor"] == "temp" and r._field == "value")');
    for (const fn of ['mean', 'min', 'max']) {
      expect(text).toContain(`${fn} = data\n  |> aggregateWindow(every: 3600ms, offset: 0ms, fn: ${fn}, createEmpty: false, timeSrc: "_start")`);
    }
    expect(text).toContain('union(tables: [mean, min, max])\n  |> pivot(rowKey: ["_time"], columnKey: ["agg"], valueColumn: "_value")');
  });

  it('Flux escapes values even if validation were bypassed', () => {
    const text = flux.series('fl"x', { ...q, sensor: 'a" or r.x == "${y}' });
    expect(text).toContain('from(bucket: "fl\\"x")');
    expect(text).toContain('r["sensor"] == "a\\" or r.x == \\"\\${y}"');
  });

  it('Flux alerts and sessions queries pivot fields into rows', () => {
    expect(flux.alerts('fieldline', { device: 'd1', severity: 'critical' }, T, T + 1000, 50)).toBe(
      'from(bucket: "fieldline")\n  |> range(start: 2026-01-01T00:00:00.000Z)\n  |> filter(fn: (r) => r._measurement == "alerts")\n' +
        '  |> filter(fn: (r) => r["device"] == "d1" and r["severity"] == "critical")\n' +
        '  |> pivot(rowKey: ["_time", "device", "sensor", "rule", "severity"], columnKey: ["_field"], valueColumn: "_value")\n' +
        `  |> filter(fn: (r) => r._time < 2026-01-01T00:00:01.000Z or (r.state == "resolved" and r.start < ${T + 1000}))\n` +
        '  |> group()\n  |> sort(columns: ["_time"])\n  |> limit(n: 50)',
    );
    const s = flux.sessions('fieldline', {}, T, T + 1000, T + 2000, 5);
    expect(s).toContain('|> filter(fn: (r) => r.end >= ' + (T + 1000) + ')');
    expect(s).not.toContain('r["device"]');
  });
});

describe('parameters', () => {
  const now = T + 86_400_000;
  it.each([
    ['now', now],
    ['now-6h', now - 6 * 3_600_000],
    ['now-15m', now - 15 * 60_000],
    [String(T), T],
    ['2026-01-01T00:00:00Z', T],
    ['2026-01-01T01:00:00+01:00', T],
    ['2026-01-01', T],
  ])('parses time %s', (input, ms) => expect(parseTime(input, 'from', now)).toBe(ms));

  it.each(['yesterday', 'now+1h', '2026-01-01T00:00:00Zjunk', '-5', '1e12', '2026-02-31x'])('rejects time %s naming the parameter', (bad) => {
    expect(() => parseTime(bad, 'from', now)).toThrow(/^from: expected an ISO 8601 time/);
  });

  it('bounds ranges', () => {
    expect(parseRange({}, 10 * 86_400_000, 3600_000, now)).toEqual({ from: now - 3600_000, to: now });
    expect(() => parseRange({ from: String(now) }, 86_400_000, 1000, now)).toThrow(ApiError);
    expect(() => parseRange({ from: 'now-2d' }, 86_400_000, 1000, now)).toThrow(/at most 1 are allowed/);
  });

  it('folds alert transitions: latest state wins, a redelivered firing row does not reopen a resolved alert', () => {
    const base = { severity: 'critical', device: 'd', sensor: 's', rule: 'r', value: 1, score: 1, message: 'm' } as const;
    const rows: AlertRow[] = [
      { ...base, id: 'a', state: 'firing', start: T, ts: T },
      { ...base, id: 'a', state: 'resolved', start: T, end: T + 10, ts: T + 10 },
      { ...base, id: 'a', state: 'firing', start: T, ts: T },
      { ...base, id: 'b', state: 'firing', start: T + 5, ts: T + 5 },
      { ...base, id: 'c', state: 'firing', start: T + 50, ts: T + 50 },
    ];
    expect(foldAlerts(rows, T, T + 40).map((a) => [a.id, a.state, a.end])).toEqual([
      ['b', 'firing', undefined],
      ['a', 'resolved', T + 10],
    ]);
    expect(foldAlerts(rows, T + 11, T + 100).map((a) => a.id)).toEqual(['c', 'b']);
  });
});

describe('config', () => {
  it('applies defaults and rejects unknown keys naming the path', () => {
    const cfg = loadApiConfig({ auth: { tokens: ['0123456789abcdef'] } });
    expect(cfg).toMatchObject({ host: '127.0.0.1', port: 8080, limits: { maxPoints: 5000 }, influx: { api: 'auto', database: 'fieldline' } });
    expect(() => loadApiConfig({ limits: { maxPoint: 5 } } as never)).toThrow('limits.maxPoint: unknown key');
    expect(() => loadApiConfig({ port: 'x' } as never)).toThrow(/port: expected number/);
  });

  it('needs at least one token of 16+ characters, from config, file or environment', () => {
    const auth = loadApiConfig({}).auth;
    expect(() => resolveTokens(auth, {})).toThrow(/no API token configured/);
    expect(resolveTokens(auth, { FIELDLINE_API_TOKENS: 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb' })).toEqual(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
    expect(() => resolveTokens(auth, { FIELDLINE_API_TOKENS: 'short' })).toThrow(/shorter than 16/);
  });
});

describe('query limiter', () => {
  it('runs at most `concurrency` at once, queues up to `queue`, refuses the rest with 503', async () => {
    const limiter = new Limiter(2, 1);
    let running = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const job = () =>
      limiter.run(async () => {
        peak = Math.max(peak, ++running);
        await new Promise<void>((r) => gates.push(r));
        running--;
        return 'done';
      });
    const jobs = [job(), job(), job()];
    await expect(job()).rejects.toMatchObject({ statusCode: 503, message: expect.stringContaining('limits.influxConcurrency = 2') });
    expect(limiter.rejected).toBe(1);
    let results: string[] | undefined;
    void Promise.all(jobs).then((r) => (results = r));
    while (!results) {
      await new Promise((r) => setTimeout(r, 1));
      gates.shift()?.();
    }
    expect(results).toEqual(['done', 'done', 'done']);
    expect(peak).toBe(2);
  });
});
