/**
 * `npm run bench:query`: a 24-hour 1 Hz series (86,400 points) in a real influxd, read through
 * the query API downsampled to 1,000 points. Baselines from the same run: the same downsampling
 * InfluxQL sent straight to influxd (the API's own overhead), and the raw 86,400-point read a
 * client would do without server-side downsampling. Target: API p95 < 250 ms. Also shown: the
 * device list (last reading per sensor).
 */
import { loadavg } from 'node:os';
import { pino } from 'pino';
import { cleanupAll, InfluxServer } from '@fieldline/harness';
import { loadApiConfig, startApi } from '../src/api/index.js';
import { bucketing, influxql } from '../src/api/query-text.js';

const POINTS = 86_400;
const TARGET_POINTS = 1000;
const RUNS = Number(process.env.BENCH_RUNS ?? 60);
const RAW_RUNS = Math.max(5, Math.floor(RUNS / 6));
const TOKEN = 'bench-token-0123456789abcdef';
const FROM = Date.parse('2026-01-01T00:00:00Z');
const TO = FROM + POINTS * 1000;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;

async function timed(fn: () => Promise<Response>): Promise<{ ms: number; bytes: number }> {
  const t = performance.now();
  const res = await fn();
  const body = await res.arrayBuffer();
  const ms = performance.now() - t;
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${Buffer.from(body).toString().slice(0, 200)}`);
  return { ms, bytes: body.byteLength };
}

const influx = await InfluxServer.start();
try {
  await influx.createDatabase('fieldline');
  const lines: string[] = [];
  for (let i = 0; i < POINTS; i++) {
    const v = 20 + 3 * Math.sin(i / 3600) + 0.5 * Math.sin(i / 7) + ((i * 7919) % 100) / 500;
    lines.push(`readings,device=bench-1,sensor=temp value=${v.toFixed(4)},score=0.01,quality="good",unit="C" ${FROM + i * 1000}`);
  }
  for (let i = 0; i < lines.length; i += 10_000) {
    const res = await fetch(`${influx.url}/write?db=fieldline&precision=ms`, { method: 'POST', body: lines.slice(i, i + 10_000).join('\n') });
    if (res.status !== 204) throw new Error(`seed write failed: ${res.status}`);
  }

  const api = await startApi(loadApiConfig({ port: 0, ops: { port: 0 }, influx: { url: influx.url, api: 'v1' }, auth: { tokens: [TOKEN] } }), {
    logger: pino({ level: 'silent' }),
  });
  try {
    const apiUrl = `${api.url}/api/v1/series?device=bench-1&sensor=temp&from=${FROM}&to=${TO}&points=${TARGET_POINTS}`;
    const viaApi = () => fetch(apiUrl, { headers: { authorization: `Bearer ${TOKEN}` } });
    const direct = (q: string) => () => fetch(`${influx.url}/query`, { method: 'POST', body: new URLSearchParams({ q, db: 'fieldline', epoch: 'ms' }) });
    const downsampleQ = influxql.series({ device: 'bench-1', sensor: 'temp', from: FROM, to: TO, ...bucketing(FROM, TO, TARGET_POINTS) });
    const rawQ = `SELECT "value" FROM "readings" WHERE "device" = 'bench-1' AND "sensor" = 'temp' AND time >= ${FROM}ms AND time < ${TO}ms`;

    const check = (await (await viaApi()).json()) as { points: number };
    if (check.points !== TARGET_POINTS) throw new Error(`bad result: ${check.points} points, expected ${TARGET_POINTS}`);
    for (let i = 0; i < 3; i++) await Promise.all([timed(viaApi), timed(direct(downsampleQ))]);

    const viaDevices = () => fetch(`${api.url}/api/v1/devices`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const apiMs: number[] = [];
    const devicesMs: number[] = [];
    const directMs: number[] = [];
    const rawMs: number[] = [];
    let apiBytes = 0;
    let rawBytes = 0;
    // Interleaved, one request at a time, so both see the same (shared, noisy) machine.
    for (let i = 0; i < RUNS; i++) {
      const a = await timed(viaApi);
      apiMs.push(a.ms);
      apiBytes = a.bytes;
      directMs.push((await timed(direct(downsampleQ))).ms);
      if (i % Math.floor(RUNS / RAW_RUNS) === 0) {
        devicesMs.push((await timed(viaDevices)).ms);
        const r = await timed(direct(rawQ));
        rawMs.push(r.ms);
        rawBytes = r.bytes;
      }
    }

    const rows: [string, number[], number][] = [
      ['query API /series (1,000 pts)', apiMs, apiBytes],
      ['baseline: same InfluxQL straight to influxd', directMs, 0],
      ['baseline: raw 86,400 pts straight to influxd', rawMs, rawBytes],
      ['(info) query API /devices, last reading', devicesMs, 0],
    ];
    const load = loadavg()[0]!;
    console.log(`\n24 h @ 1 Hz = ${POINTS} readings -> ${check.points} buckets; ${RUNS} runs (raw: ${rawMs.length}); load average ${load.toFixed(1)}\n`);
    console.log(`${'what'.padEnd(46)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'KiB'.padStart(8)}`);
    for (const [name, xs, bytes] of rows) {
      console.log(`${name.padEnd(46)} ${String(r1(pct(xs, 50))).padStart(8)} ${String(r1(pct(xs, 95))).padStart(8)} ${String(r1(Math.max(...xs))).padStart(8)} ${(bytes ? String(r1(bytes / 1024)) : '-').padStart(8)}`);
    }
    const p95 = pct(apiMs, 95);
    console.log(`\ntarget: API p95 < 250 ms -> ${p95 < 250 ? 'met' : 'NOT met'}\n`);
    console.log(
      JSON.stringify({
        readings: POINTS,
        points: check.points,
        runs: RUNS,
        api_p50_ms: r1(pct(apiMs, 50)),
        api_p95_ms: r1(p95),
        direct_downsample_p50_ms: r1(pct(directMs, 50)),
        direct_downsample_p95_ms: r1(pct(directMs, 95)),
        raw_p50_ms: r1(pct(rawMs, 50)),
        raw_p95_ms: r1(pct(rawMs, 95)),
        api_response_kib: r1(apiBytes / 1024),
        raw_response_kib: r1(rawBytes / 1024),
        devices_p50_ms: r1(pct(devicesMs, 50)),
        target_p95_ms: 250,
        target_met: p95 < 250,
        load_avg_1m: r1(load),
      }),
    );
  } finally {
    await api.close();
  }
} finally {
  await influx.stop();
  cleanupAll();
}
