/**
 * The year of data `bench:query` reads: a few sensors at 1 Hz for 365 days (31.5 million readings
 * each) and their 1 m and 1 h rollups, computed as the processor does (same aggregate, same line
 * builder) while the raw lines are generated, and written in large batches with second precision
 * (shorter lines for InfluxDB 1.6 to parse). Seeding takes minutes, so the data directory is kept
 * in `node_modules/.cache/` (FL_BENCH_CACHE overrides) and reused while the seed's parameters match.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rollupText } from '../src/influx/points.js';
import { WindowAggregate } from '../src/windows/aggregate.js';

export const DAY = 86_400_000;
export const SEED = {
  version: 1,
  device: 'bench-1',
  sensors: ['temp', 'hum', 'press'],
  from: Date.parse('2025-01-01T00:00:00Z'),
  /** FL_BENCH_DAYS shortens the year for a smoke run (its own cache). */
  days: Number(process.env.FL_BENCH_DAYS ?? 365),
  db: 'fieldline',
};
export const TIERS = [
  { name: '1m', everyMs: 60_000, policy: 'rollup_1m', measurement: 'readings_1m' },
  { name: '1h', everyMs: 3_600_000, policy: 'rollup_1h', measurement: 'readings_1h' },
] as const;

/** Deterministic and smooth enough to compress as real sensor data does (a daily cycle, slow weather, a little noise). */
export function valueAt(sensor: number, i: number): number {
  const base = [21, 55, 1013][sensor]!;
  const daily = Math.sin((2 * Math.PI * (i % 86_400)) / 86_400 + sensor);
  const slow = Math.sin(i / 400_000 + sensor * 2) + 0.5 * Math.sin(i / 93_000);
  const noise = (((i * 7919 + sensor * 104_729) % 1000) - 500) / 5000;
  return Math.round((base + 3 * daily + 2 * slow + noise) * 100) / 100;
}

export function cacheDir(): string {
  const root = process.env.FL_BENCH_CACHE ?? fileURLToPath(new URL('../../node_modules/.cache/fieldline-bench-query/', import.meta.url));
  return join(root, `v${SEED.version}-${SEED.sensors.length}x${SEED.days}d`);
}

const marker = (dir: string) => join(dir, 'seeded.json');

/** True when `dir` holds a complete seed with these parameters. */
export function seeded(dir: string): boolean {
  try {
    return JSON.parse(readFileSync(marker(dir), 'utf8')).key === JSON.stringify(SEED);
  } catch {
    return false;
  }
}

/** A fresh directory for a new seed (anything half-written before is removed). */
export function freshDir(dir: string): string {
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function markSeeded(dir: string, stats: Record<string, unknown>): void {
  writeFileSync(marker(dir), JSON.stringify({ key: JSON.stringify(SEED), ...stats }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function post(url: string, body: string): Promise<void> {
  // influxd refuses writes for a moment when its cache outruns the compactions: wait and retry.
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, { method: 'POST', body });
    if (res.status === 204) return;
    const text = (await res.text()).slice(0, 200);
    if (res.status < 500 || attempt >= 30) throw new Error(`seed write failed: ${res.status} ${text}`);
    await sleep(1000);
  }
}

/** `[data]` settings for the bench's influxd: shards are fully compacted a minute after their last write, not 4 hours. */
export const INFLUX_DATA = { 'compact-full-write-cold-duration': '"1m"' };

/** Waits until influxd has compacted what was written (no compaction active, a minute after the last write), so figures are of settled data. */
export async function settle(influxUrl: string, progress: (text: string) => void): Promise<void> {
  const active = async (): Promise<number> => {
    const vars = (await (await fetch(`${influxUrl}/debug/vars`)).json()) as Record<string, { values?: Record<string, number> }>;
    let n = 0;
    for (const [k, v] of Object.entries(vars)) if (k.startsWith('tsm1_engine')) for (const [f, x] of Object.entries(v.values ?? {})) if (f.endsWith('CompactionsActive')) n += x;
    return n;
  };
  const until = Date.now() + 20 * 60_000;
  await sleep(65_000);
  for (let quiet = 0; quiet < 3 && Date.now() < until; ) {
    quiet = (await active()) === 0 ? quiet + 1 : 0;
    await sleep(2000);
  }
  progress('compactions done');
}

/** Writes the raw year and its rollups; returns how many lines of each. */
export async function seed(influxUrl: string, progress: (text: string) => void): Promise<{ raw: number; rollups: number; seconds: number }> {
  const q = (text: string) => fetch(`${influxUrl}/query`, { method: 'POST', body: new URLSearchParams({ q: text }) });
  await q(`CREATE DATABASE "${SEED.db}"`);
  for (const t of TIERS) await q(`CREATE RETENTION POLICY "${t.policy}" ON "${SEED.db}" DURATION INF REPLICATION 1`);
  const rawUrl = `${influxUrl}/write?db=${SEED.db}&precision=s`;
  const tierUrl = (t: (typeof TIERS)[number]) => `${influxUrl}/write?db=${SEED.db}&rp=${t.policy}&precision=ns`;
  const started = performance.now();
  let raw = 0;
  let rollups = 0;
  // Two writes in flight: influxd parses one batch while the next is generated.
  const inflight: Promise<void>[] = [];
  const send = async (url: string, lines: string[]): Promise<void> => {
    if (inflight.length >= 2) await inflight.shift();
    inflight.push(post(url, lines.join('\n')));
  };
  const t0s = SEED.from / 1000;
  for (let day = 0; day < SEED.days; day++) {
    for (const [si, sensor] of SEED.sensors.entries()) {
      const prefix = `readings,device=${SEED.device},sensor=${sensor} value=`;
      const tags = `device=${SEED.device},sensor=${sensor}`;
      const aggs = TIERS.map(() => new WindowAggregate());
      const out = TIERS.map(() => [] as string[]);
      let lines: string[] = [];
      for (let k = 0; k < 86_400; k++) {
        const i = day * 86_400 + k;
        const v = valueAt(si, i);
        lines.push(`${prefix}${v} ${t0s + i}`);
        const ts = SEED.from + i * 1000;
        TIERS.forEach((t, ti) => {
          aggs[ti]!.add(ts, v);
          if ((i + 1) % (t.everyMs / 1000) === 0) {
            out[ti]!.push(rollupText(t.measurement, tags, ts + 1000 - t.everyMs, aggs[ti]!));
            aggs[ti] = new WindowAggregate();
          }
        });
        if (lines.length === 43_200) {
          await send(rawUrl, lines);
          raw += lines.length;
          lines = [];
        }
      }
      if (lines.length) await send(rawUrl, lines);
      raw += lines.length;
      for (const [ti, t] of TIERS.entries()) {
        await send(tierUrl(t), out[ti]!);
        rollups += out[ti]!.length;
      }
    }
    if (day % 7 === 6 || day === SEED.days - 1) progress(`seeded ${day + 1} of ${SEED.days} days (${(raw / 1e6).toFixed(1)} M readings, ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  await Promise.all(inflight);
  return { raw, rollups, seconds: (performance.now() - started) / 1000 };
}
