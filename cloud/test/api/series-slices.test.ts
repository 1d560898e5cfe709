/**
 * A long `/series` read goes to InfluxDB 1.x as slices of its range sent at once (1.x runs one
 * query on one core): the slices cut at bucket boundaries, and the answer is exactly the one of a
 * single query, for raw reads and for rollup reads with their raw tail (real influxd 1.6.7,
 * through a recording proxy that counts what was sent).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, InfluxServer } from '@fieldline/harness';
import { bucketing, type SeriesQuery } from '../../src/api/query-text.js';
import { MIN_SLICE_BUCKETS, openStore, sliceSeries, type RollupRead, type Store } from '../../src/api/store.js';
import { RecordingProxy } from '../influx/recorded/exchanges.js';
import { HOUR, MIN, seedLines, T0, writeLines, writeRollups } from './seed.js';

const onGrid = (t: number, q: SeriesQuery) => (((t - q.offsetMs) % q.bucketMs) + q.bucketMs) % q.bucketMs === 0;
const gridFloor = (t: number, q: SeriesQuery) => t - ((((t - q.offsetMs) % q.bucketMs) + q.bucketMs) % q.bucketMs);

describe('sliceSeries', () => {
  it('cuts [from, to) at bucket boundaries into at most n contiguous slices of at least MIN_SLICE_BUCKETS buckets (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2e12 }),
        fc.integer({ min: 1, max: 3_600_000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 0, max: 3_600_000 }),
        fc.integer({ min: 0, max: 3_600_000 }),
        fc.integer({ min: 1, max: 8 }),
        (from, bucketMs, buckets, rawOffset, extra, n) => {
          const offsetMs = rawOffset % bucketMs;
          const q: SeriesQuery = { device: 'd', sensor: 's', from, to: from + buckets * bucketMs + (extra % bucketMs) + 1, bucketMs, offsetMs };
          const slices = sliceSeries(q, n);
          const touched = Math.ceil((q.to - gridFloor(q.from, q)) / bucketMs);
          expect(slices.length).toBeLessThanOrEqual(Math.max(1, Math.min(n, Math.floor(touched / MIN_SLICE_BUCKETS))));
          expect(slices[0]!.from).toBe(q.from);
          expect(slices.at(-1)!.to).toBe(q.to);
          slices.forEach((s, i) => {
            expect(s).toMatchObject({ device: 'd', sensor: 's', bucketMs, offsetMs });
            expect(s.from).toBeLessThan(s.to);
            if (i > 0) {
              expect(s.from).toBe(slices[i - 1]!.to);
              expect(onGrid(s.from, q), `cut ${s.from} on the grid`).toBe(true);
            }
            if (slices.length > 1) expect(Math.ceil((s.to - gridFloor(s.from, q)) / bucketMs)).toBeGreaterThanOrEqual(MIN_SLICE_BUCKETS);
          });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('leaves short reads whole, and everything whole with n = 1', () => {
    const q = { device: 'd', sensor: 's', from: T0, to: T0 + HOUR, ...bucketing(T0, T0 + HOUR, 2 * MIN_SLICE_BUCKETS - 1) };
    expect(sliceSeries(q, 4)).toEqual([q]);
    const long = { ...q, ...bucketing(T0, T0 + HOUR, 1000) };
    expect(sliceSeries(long, 1)).toEqual([long]);
    expect(sliceSeries(long, 2).map((s) => [s.from, s.to])).toEqual([
      [T0, T0 + HOUR / 2],
      [T0 + HOUR / 2, T0 + HOUR],
    ]);
  });
});

describe('sliced reads against real InfluxDB 1.x', () => {
  let influx: InfluxServer;
  let proxy: RecordingProxy;
  const stores = new Map<number, Store>();
  const END = T0 + 6 * HOUR;

  beforeAll(async () => {
    influx = await InfluxServer.start();
    await influx.createDatabase('fieldline');
    await writeLines(influx.url, 'fieldline', seedLines());
    await writeRollups(influx.url, 'fieldline', seedLines());
    proxy = await RecordingProxy.start(influx.url);
    for (const n of [1, 2, 3]) stores.set(n, await openStore({ url: proxy.url, database: 'fieldline' } as never, { seriesParallel: n }));
  });

  afterAll(async () => {
    await proxy?.close();
    await influx?.stop();
    cleanupAll();
  });

  /** The statements each /query request carried while `fn` ran. */
  async function sent<T>(fn: () => Promise<T>): Promise<{ result: T; requests: string[] }> {
    const before = proxy.exchanges.length;
    const result = await fn();
    return { result, requests: proxy.exchanges.slice(before).filter((e) => e.request.path === '/query').map((e) => e.request.params.q!) };
  }

  const tier1m: RollupRead = { database: 'fieldline', retentionPolicy: 'rollup_1m', bucket: 'fieldline_1m', measurement: 'readings_1m', rawFrom: Infinity };

  it('a raw read: two or three queries at once, one statement each, the same buckets as one query', async () => {
    // From mid-bucket and to mid-bucket: 999 buckets of 21.6 s.
    const from = T0 + 7_000;
    const q: SeriesQuery = { device: 'pump-1', sensor: 'temp', from, to: END - 3_000, ...bucketing(from, END - 3_000, 999) };
    const one = await sent(() => stores.get(1)!.series(q));
    expect(one.requests).toHaveLength(1);
    expect(one.result.time.length).toBeGreaterThan(900);
    for (const n of [2, 3]) {
      const got = await sent(() => stores.get(n)!.series(q));
      expect(got.requests).toHaveLength(n);
      expect(got.requests.every((s) => !s.includes(';'))).toBe(true);
      expect(got.result).toEqual(one.result);
    }
  });

  it('a rollup read with its raw tail: the tier`s slices and the tail at once, the same totals as one query each', async () => {
    // 1 m windows, 1-minute buckets over 6 h (360 buckets); the newest 50 minutes from the raw readings.
    const rawFrom = END - 50 * MIN;
    const q: SeriesQuery = { device: 'pump-1', sensor: 'temp', from: T0, to: END, bucketMs: MIN, offsetMs: 0 };
    const one = await sent(() => stores.get(1)!.series(q, { ...tier1m, rawFrom }));
    // Two requests (in the order they were answered): the tier, and the tail from the raw readings.
    expect(one.requests.map((s) => s.includes('"readings_1m"')).sort()).toEqual([false, true]);
    expect(one.result.time).toHaveLength(360);
    for (const n of [2, 3]) {
      const got = await sent(() => stores.get(n)!.series(q, { ...tier1m, rawFrom }));
      // The tail (50 buckets) is too short to slice.
      expect(got.requests.filter((s) => s.includes('"readings_1m"'))).toHaveLength(n);
      expect(got.requests).toHaveLength(n + 1);
      expect(got.result).toEqual(one.result);
    }
    // And all of it from the tier (no tail) is the same again: the rollups are the raw aggregates.
    const whole = await stores.get(2)!.series(q, tier1m);
    expect(whole.time).toEqual(one.result.time);
    expect(whole.max).toEqual(one.result.max);
    expect(whole.min).toEqual(one.result.min);
    whole.mean.forEach((m, i) => expect(m).toBeCloseTo(one.result.mean[i]!, 9));
  });

  it('a cut inside a bucket never happens: 7 s buckets from an odd offset, and a tail from a window start, read the same sliced or not', async () => {
    const from = T0 + 3 * MIN;
    const q: SeriesQuery = { device: 'pump-1', sensor: 'vib', from, to: END, bucketMs: 7_000, offsetMs: from % 7_000 };
    const one = await stores.get(1)!.series(q);
    expect(await stores.get(3)!.series(q)).toEqual(one);
    const r = { ...tier1m, rawFrom: END - 8 * MIN };
    const q2: SeriesQuery = { device: 'pump-1', sensor: 'vib', from, to: END, bucketMs: MIN, offsetMs: 0 };
    expect(await stores.get(3)!.series(q2, r)).toEqual(await stores.get(1)!.series(q2, r));
  });
});
