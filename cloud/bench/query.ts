/**
 * `npm run bench:query`: the query API over a seeded year of data (bench/query-seed.ts: a few
 * sensors at 1 Hz and their 1 m and 1 h rollups in a real influxd), downsampled to 1,000 points:
 * - 24 h (86,400 readings, a bucket of 86 s: the 1 m tier answers), and the same from the raw
 *   readings, beside the same InfluxQL sent straight to influxd (the API's own overhead) and the
 *   raw 86,400-point read a client would do without downsampling;
 * - 30 d and 1 y, read from the rollups (the API picks the tier), beside the raw-query time of the
 *   same ranges in the same run, and beside the same API sending each read as one query
 *   (`limits.seriesParallel: 1`; by default a long read goes out as two slices at once).
 * "From raw readings" is the same API with no rollup tiers configured, so it reads every reading.
 * Targets: API p95 < 250 ms for 24 h from raw; p95 <= 100 ms for 30 d and 1 y with rollups.
 * Smoke run: FL_BENCH_DAYS=7 BENCH_RUNS=10 (a week of data, its own cache).
 */
import { loadavg } from 'node:os';
import { pino } from 'pino';
import { cleanupAll, InfluxServer } from '@fieldline/harness';
import { loadApiConfig, startApi, type ApiHandle } from '../src/api/index.js';
import { bucketing, influxql } from '../src/api/query-text.js';
import { cacheDir, DAY, freshDir, INFLUX_DATA, markSeeded, seed, seeded, SEED, settle } from './query-seed.js';

const TARGET_POINTS = 1000;
const RUNS = Number(process.env.BENCH_RUNS ?? 60);
const RAW_RUNS = Math.max(5, Math.floor(RUNS / 6));
/** A raw year is tens of millions of readings per query: a few runs say enough. */
const SLOW_RAW_RUNS = Math.max(3, Math.floor(RUNS / 20));
const TOKEN = 'bench-token-0123456789abcdef';
const TO = SEED.from + SEED.days * DAY;
const KEEP_FOREVER = { raw: { retention: 'inf' }, rollups: [{ name: '1m', every: '1m', retention: 'inf' }, { name: '1h', every: '1h', retention: 'inf' }] };

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;
const log = (s: string) => process.stderr.write(`${s}\n`);

async function timed(fn: () => Promise<Response>): Promise<{ ms: number; bytes: number; body: Buffer }> {
  const t = performance.now();
  const res = await fn();
  const body = Buffer.from(await res.arrayBuffer());
  const ms = performance.now() - t;
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${body.toString().slice(0, 200)}`);
  return { ms, bytes: body.byteLength, body };
}

const dir = cacheDir();
const cached = seeded(dir);
const influx = await InfluxServer.start({ dataDir: cached ? dir : freshDir(dir), data: INFLUX_DATA });
let apis: ApiHandle[] = [];
try {
  let seedInfo = 'cached';
  if (!cached) {
    log(`seeding ${SEED.sensors.length} sensors x ${SEED.days} days at 1 Hz into ${dir} (kept for the next run)…`);
    const s = await seed(influx.url, log);
    await settle(influx.url, log);
    markSeeded(dir, s);
    seedInfo = `${(s.raw / 1e6).toFixed(1)} M readings + ${s.rollups} rollup points in ${s.seconds.toFixed(0)} s`;
  }
  // A raw year is a long query for InfluxDB 1.6: the timeout leaves it room.
  const start = (tiers: Record<string, unknown>, limits: Record<string, unknown> = {}) =>
    startApi(loadApiConfig({ port: 0, ops: null, influx: { url: influx.url, api: 'v1', database: SEED.db, timeoutMs: 300_000 }, tiers, limits, auth: { tokens: [TOKEN] } }), { logger: pino({ level: 'silent' }) });
  const [api, rawApi, oneQueryApi] = await Promise.all([start(KEEP_FOREVER), start({ raw: { retention: 'inf' }, rollups: [] }), start(KEEP_FOREVER, { seriesParallel: 1 })]);
  apis = [api, rawApi, oneQueryApi];
  let sensorTurn = 0;
  const series = (a: ApiHandle, spanMs: number, only?: string) => () => {
    // Round-robin over the sensors; the range ends where the data ends.
    const sensor = only ?? SEED.sensors[sensorTurn++ % SEED.sensors.length]!;
    return fetch(`${a.url}/api/v1/series?device=${SEED.device}&sensor=${sensor}&from=${TO - spanMs}&to=${TO}&points=${TARGET_POINTS}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  };
  const direct = (q: string) => () => fetch(`${influx.url}/query`, { method: 'POST', body: new URLSearchParams({ q, db: SEED.db, epoch: 'ms' }) });
  const from24 = TO - DAY;
  const downsampleQ = influxql.series({ device: SEED.device, sensor: 'temp', from: from24, to: TO, ...bucketing(from24, TO, TARGET_POINTS) });
  const rawQ = `SELECT "value" FROM "readings" WHERE "device" = '${SEED.device}' AND "sensor" = 'temp' AND time >= ${from24}ms AND time < ${TO}ms`;

  const spans = [
    ['24h', DAY],
    ['30d', Math.min(30, SEED.days) * DAY],
    ['1y', Math.min(365, SEED.days) * DAY],
  ] as const;
  const answer = async (a: ApiHandle, span: number) => JSON.parse((await timed(series(a, span, 'temp'))).body.toString()) as { tier: string; points: number; max: number[] };
  const tiers: Record<string, string> = {};
  for (const [name, span] of spans) {
    const got = await answer(api, span);
    const raw = await answer(rawApi, span);
    // Slices sent at once answer exactly as one query does.
    if (JSON.stringify(await answer(oneQueryApi, span)) !== JSON.stringify(got)) throw new Error(`${name}: the sliced read differs from one query`);
    tiers[name] = got.tier;
    if (got.points === 0 || got.points > TARGET_POINTS) throw new Error(`bad result for ${name}: ${got.points} points`);
    // The band stays true: max of maxes equals the raw max.
    if (Math.max(...got.max) !== Math.max(...raw.max)) throw new Error(`${name}: rollup max ${Math.max(...got.max)} != raw max ${Math.max(...raw.max)}`);
  }
  if (tiers['24h'] !== '1m' || tiers['30d'] !== '1m' || tiers['1y'] !== (SEED.days >= 365 ? '1h' : '1m')) throw new Error(`unexpected tiers ${JSON.stringify(tiers)}`);
  for (let i = 0; i < 3; i++) for (const [, span] of spans) await timed(series(api, span));

  const ms: Record<string, number[]> = { api24: [], api24raw: [], direct24: [], raw24: [], devices: [], api30: [], api1y: [], api30one: [], api1yone: [], raw30: [], raw1y: [] };
  let apiBytes = 0;
  let rawBytes = 0;
  const viaDevices = () => fetch(`${api.url}/api/v1/devices`, { headers: { authorization: `Bearer ${TOKEN}` } });
  // Interleaved, one request at a time, so all see the same (shared, noisy) machine.
  for (let i = 0; i < RUNS; i++) {
    ms.api24!.push((await timed(series(api, DAY))).ms);
    const a = await timed(series(rawApi, DAY));
    ms.api24raw!.push(a.ms);
    apiBytes = a.bytes;
    ms.direct24!.push((await timed(direct(downsampleQ))).ms);
    ms.api30!.push((await timed(series(api, spans[1][1]))).ms);
    ms.api1y!.push((await timed(series(api, spans[2][1]))).ms);
    ms.api30one!.push((await timed(series(oneQueryApi, spans[1][1]))).ms);
    ms.api1yone!.push((await timed(series(oneQueryApi, spans[2][1]))).ms);
    if (i % Math.floor(RUNS / RAW_RUNS) === 0) {
      ms.devices!.push((await timed(viaDevices)).ms);
      const r = await timed(direct(rawQ));
      ms.raw24!.push(r.ms);
      rawBytes = r.bytes;
      ms.raw30!.push((await timed(series(rawApi, spans[1][1]))).ms);
    }
    if (i % Math.floor(RUNS / SLOW_RAW_RUNS) === 0) ms.raw1y!.push((await timed(series(rawApi, spans[2][1]))).ms);
  }

  const rows: [string, number[], number][] = [
    [`query API /series 24 h (${tiers['24h']} rollups)`, ms.api24!, 0],
    ['query API /series 24 h from raw (1,000 pts)', ms.api24raw!, apiBytes],
    ['baseline: same InfluxQL straight to influxd', ms.direct24!, 0],
    ['baseline: raw 86,400 pts straight to influxd', ms.raw24!, rawBytes],
    [`query API /series 30 d (${tiers['30d']} rollups)`, ms.api30!, 0],
    ['  beside: 30 d, one query (seriesParallel 1)', ms.api30one!, 0],
    ['  beside: 30 d from raw readings (same API)', ms.raw30!, 0],
    [`query API /series 1 y (${tiers['1y']} rollups)`, ms.api1y!, 0],
    ['  beside: 1 y, one query (seriesParallel 1)', ms.api1yone!, 0],
    ['  beside: 1 y from raw readings (same API)', ms.raw1y!, 0],
    ['(info) query API /devices, last reading', ms.devices!, 0],
  ];
  const load = loadavg()[0]!;
  console.log(`\n${SEED.sensors.length} sensors x ${SEED.days} d @ 1 Hz (${seedInfo}); ${RUNS} runs (raw 24 h/30 d: ${ms.raw24!.length}, raw 1 y: ${ms.raw1y!.length}); load average ${load.toFixed(1)}\n`);
  console.log(`${'what'.padEnd(46)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'KiB'.padStart(8)}`);
  for (const [name, xs, bytes] of rows) {
    console.log(`${name.padEnd(46)} ${String(r1(pct(xs, 50))).padStart(8)} ${String(r1(pct(xs, 95))).padStart(8)} ${String(r1(Math.max(...xs))).padStart(8)} ${(bytes ? String(r1(bytes / 1024)) : '-').padStart(8)}`);
  }
  const p95 = pct(ms.api24raw!, 95);
  const p95_30 = pct(ms.api30!, 95);
  const p95_1y = pct(ms.api1y!, 95);
  const met = p95 < 250 && p95_30 <= 100 && p95_1y <= 100;
  console.log(`\ntargets: 24 h from raw p95 < 250 ms, 30 d and 1 y p95 <= 100 ms with rollups -> ${met ? 'met' : 'NOT met'}\n`);
  console.log(
    JSON.stringify({
      sensors: SEED.sensors.length,
      days: SEED.days,
      readings_per_sensor: SEED.days * 86_400,
      points: TARGET_POINTS,
      runs: RUNS,
      api_p50_ms: r1(pct(ms.api24raw!, 50)),
      api_p95_ms: r1(p95),
      api_24h_tier: tiers['24h'],
      api_24h_tier_p50_ms: r1(pct(ms.api24!, 50)),
      api_24h_tier_p95_ms: r1(pct(ms.api24!, 95)),
      direct_downsample_p50_ms: r1(pct(ms.direct24!, 50)),
      direct_downsample_p95_ms: r1(pct(ms.direct24!, 95)),
      raw_p50_ms: r1(pct(ms.raw24!, 50)),
      raw_p95_ms: r1(pct(ms.raw24!, 95)),
      api_30d_tier: tiers['30d'],
      api_30d_p50_ms: r1(pct(ms.api30!, 50)),
      api_30d_p95_ms: r1(p95_30),
      api_30d_one_query_p50_ms: r1(pct(ms.api30one!, 50)),
      api_30d_one_query_p95_ms: r1(pct(ms.api30one!, 95)),
      raw_30d_p50_ms: r1(pct(ms.raw30!, 50)),
      raw_30d_p95_ms: r1(pct(ms.raw30!, 95)),
      api_1y_tier: tiers['1y'],
      api_1y_p50_ms: r1(pct(ms.api1y!, 50)),
      api_1y_p95_ms: r1(p95_1y),
      api_1y_one_query_p50_ms: r1(pct(ms.api1yone!, 50)),
      api_1y_one_query_p95_ms: r1(pct(ms.api1yone!, 95)),
      raw_1y_p50_ms: r1(pct(ms.raw1y!, 50)),
      raw_1y_p95_ms: r1(pct(ms.raw1y!, 95)),
      api_response_kib: r1(apiBytes / 1024),
      raw_response_kib: r1(rawBytes / 1024),
      devices_p50_ms: r1(pct(ms.devices!, 50)),
      target_p95_ms: 250,
      target_rollup_p95_ms: 100,
      target_met: met,
      load_avg_1m: r1(load),
    }),
  );
} finally {
  await Promise.all(apis.map((a) => a.close()));
  await influx.stop();
  cleanupAll();
}
