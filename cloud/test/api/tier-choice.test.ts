import { describe, expect, it } from 'vitest';
import { chooseTier } from '../../src/api/tier-choice.js';
import { flux, influxql } from '../../src/api/query-text.js';
import { resolveTiers, tiersSchema } from '../../src/influx/tiers.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MIN = 60_000;
const NOW = Date.UTC(2026, 5, 1);
const tiers = resolveTiers(tiersSchema.parse({}), { bucket: 'fieldline' });
const pick = (rangeMs: number, points: number, ago = 0) => {
  const c = chooseTier(tiers, NOW - ago - rangeMs, NOW - ago, points, NOW);
  return [c.name, c.bucketMs];
};

describe('tier choice by range and bucket size', () => {
  it('raw for short ranges, 1 m for days to a month, 1 h for a year (the defaults: raw 30 d, 1 m 365 d, 1 h forever)', () => {
    expect(pick(6 * HOUR, 1000)).toEqual(['raw', 21_600]);
    expect(pick(16 * HOUR, 1000)).toEqual(['raw', 57_600]);
    expect(pick(17 * HOUR, 1000)).toEqual(['1m', 2 * MIN]);
    expect(pick(7 * DAY, 1000)).toEqual(['1m', 11 * MIN]);
    expect(pick(30 * DAY, 1000)).toEqual(['1m', 44 * MIN]);
    expect(pick(365 * DAY, 1000)).toEqual(['1h', 9 * HOUR]);
    expect(pick(40 * DAY, 100)).toEqual(['1h', 10 * HOUR]);
  });

  it('past a tier`s retention, the next coarser tier answers even a short range', () => {
    // An hour, 40 days ago: raw is gone (30 d), 1 m holds it.
    expect(pick(HOUR, 1000, 40 * DAY)).toEqual(['1m', MIN]);
    // An hour, two years ago: only 1 h is kept.
    expect(pick(HOUR, 1000, 730 * DAY)).toEqual(['1h', HOUR]);
    // Everything kept forever: raw again.
    const forever = resolveTiers(tiersSchema.parse({ raw: { retention: 'inf' }, rollups: [{ name: '1m', every: '1m', retention: 'inf' }] }), { bucket: 'b' });
    expect(chooseTier(forever, NOW - 730 * DAY - HOUR, NOW - 730 * DAY, 1000, NOW).name).toBe('raw');
    // No rollups configured: always raw.
    const none = resolveTiers(tiersSchema.parse({ rollups: [] }), { bucket: 'b' });
    expect(chooseTier(none, NOW - 365 * DAY, NOW, 1000, NOW)).toMatchObject({ name: 'raw', bucketMs: 31_536_000 });
  });

  it('aligns rollup buckets to the tier`s windows, so a bucket is whole windows', () => {
    const c = chooseTier(tiers, NOW - 7 * DAY + 30_000, NOW, 1000, NOW);
    expect([c.from, c.bucketMs % MIN, c.offsetMs]).toEqual([NOW - 7 * DAY, 0, (NOW - 7 * DAY) % c.bucketMs]);
  });

  it('reads a tier as totals (sum of sums, sum of counts, min of mins, max of maxes), the newest windows from the raw readings', () => {
    const q = { device: 'd', sensor: 's', from: 0, to: HOUR, bucketMs: 10 * MIN, offsetMs: 0 };
    const src = { database: 'fieldline', retentionPolicy: 'rollup_1m', bucket: 'fieldline_1m', measurement: 'readings_1m' };
    expect(influxql.rollupTotals(q, src)).toBe(
      `SELECT sum("sum") AS "sum", sum("count") AS "count", min("min") AS "min", max("max") AS "max" FROM "fieldline"."rollup_1m"."readings_1m" WHERE "device" = 'd' AND "sensor" = 's' AND time >= 0ms AND time < 3600000ms GROUP BY time(600000ms, 0ms) fill(none)`,
    );
    expect(influxql.rawTotals(q)).toBe(
      `SELECT sum("value") AS "sum", count("value") AS "count", min("value") AS "min", max("value") AS "max" FROM "readings" WHERE "device" = 'd' AND "sensor" = 's' AND time >= 0ms AND time < 3600000ms GROUP BY time(600000ms, 0ms) fill(none)`,
    );
    const f = flux.rollupTotals(q, src);
    expect(f).toContain('from(bucket: "fieldline_1m")');
    expect(f).toContain('r._field == "max")\n  |> aggregateWindow(every: 600000ms, offset: 0ms, fn: max');
    expect(f).toContain('r._field == "count")\n  |> aggregateWindow(every: 600000ms, offset: 0ms, fn: sum');
    expect(flux.rawTotals('fieldline', q)).toContain('r._field == "value")\n  |> aggregateWindow(every: 600000ms, offset: 0ms, fn: count');
  });
});
