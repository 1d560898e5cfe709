import type { SessionSummary } from '@fieldline/contract';
import { alertLine, readingLine, rollupText, sessionLine } from '../../src/influx/points.js';
import { WindowAggregate } from '../../src/windows/aggregate.js';

/** Test data written as line protocol per docs/influxdb-schema.md (the processor's format). */
export const T0 = Date.parse('2026-01-01T00:00:00Z');
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const TOKEN = 'test-token-0123456789abcdef';

/**
 * 6 h from `t0` of `pump-1/temp` and `pump-1/vib` every 10 s, a little of `pump-2/temp`, two alerts,
 * two sessions. Built with the processor's own line builders, so a schema drift breaks these tests.
 */
export function seedLines(t0 = T0): string[] {
  const lines: string[] = [];
  for (let t = t0; t < t0 + 6 * HOUR; t += 10_000) {
    const k = (t - t0) / HOUR;
    const spike = t >= t0 + 2 * HOUR && t < t0 + 2 * HOUR + 20 * MIN ? 9 : 0;
    // Golden-angle steps give deterministic sample-to-sample jitter, so the min-max band shows.
    const temp = 21 + 2 * Math.sin(k * 1.7) + 0.3 * Math.sin(k * 37) + 0.25 * Math.sin(((t - t0) / 10_000) * 2.39996) + spike;
    lines.push(readingLine('pump-1', { sensor: 'temp', ts: t, value: Number(temp.toFixed(3)), unit: 'C' }, spike ? 0.97 : 0.05));
    lines.push(readingLine('pump-1', { sensor: 'vib', ts: t, value: Number((0.4 + 0.1 * Math.cos(k * 5)).toFixed(4)), unit: 'g' }, 0.01));
  }
  for (let t = t0; t < t0 + HOUR; t += 60_000) lines.push(readingLine('pump-2', { sensor: 'temp', ts: t, value: 18 + (t - t0) / HOUR }, 0));
  const alert = { v: 1, device: 'pump-1', sensor: 'temp', rule: 'zscore', severity: 'critical' } as const;
  const a1 = { start: t0 + 2 * HOUR, end: t0 + 2 * HOUR + 20 * MIN };
  const id1 = `pump-1:temp:zscore:${a1.start}`;
  lines.push(alertLine({ ...alert, id: id1, state: 'firing', start: a1.start, ts: a1.start, value: 30.1, score: 0.97, message: 'temp spike' }));
  lines.push(alertLine({ ...alert, id: id1, state: 'resolved', ...a1, ts: a1.end, value: 22.4, score: 0.2, message: 'temp back to normal' }));
  const a2 = t0 + 5 * HOUR;
  lines.push(alertLine({ ...alert, rule: 'drift', severity: 'warning', id: `pump-1:temp:drift:${a2}`, state: 'firing', start: a2, ts: a2, value: 23.9, score: 0.81, message: 'slow drift' }));
  const session = (start: number, end: number, closedBy: SessionSummary['closedBy']): string =>
    sessionLine({ v: 1, device: 'pump-1', sensor: 'temp', start, end, count: (end - start) / 10_000, min: 19.1, max: 30.2, mean: 21.4, stddev: 1.2, anomalies: 3, closedBy });
  lines.push(session(t0, t0 + 3 * HOUR, 'max_length'), session(t0 + 3 * HOUR + 10 * MIN, t0 + 6 * HOUR, 'gap'));
  return lines;
}

/** Writes line protocol (ns timestamps, as the processor writes) through the v1 `/write` endpoint, in chunks. */
export async function writeLines(influxUrl: string, db: string, lines: string[]): Promise<void> {
  for (let i = 0; i < lines.length; i += 5000) {
    const res = await fetch(`${influxUrl}/write?db=${encodeURIComponent(db)}&precision=ns`, {
      method: 'POST',
      body: lines.slice(i, i + 5000).join('\n'),
    });
    if (res.status !== 204) throw new Error(`write failed: ${res.status} ${await res.text()}`);
  }
}

/**
 * The rollup points the processor would write for the `readings` lines among `lines`, per tier
 * (1 m and 1 h, as `KEEP_FOREVER` names them), with its own aggregate and line builder.
 */
export function seedRollupLines(lines: readonly string[], tiers: readonly { measurement: string; everyMs: number }[] = DEFAULT_TIERS): string[][] {
  const byTier = tiers.map(() => new Map<string, { tags: string; start: number; agg: WindowAggregate }>());
  for (const line of lines) {
    const m = /^readings,(device=[^ ]+) value=([^, ]+)[^ ]* (\d+)$/.exec(line);
    if (!m) continue;
    const ts = Number(BigInt(m[3]!) / 1_000_000n);
    tiers.forEach((t, i) => {
      const start = Math.floor(ts / t.everyMs) * t.everyMs;
      const k = `${m[1]}|${start}`;
      let w = byTier[i]!.get(k);
      if (!w) byTier[i]!.set(k, (w = { tags: m[1]!, start, agg: new WindowAggregate() }));
      w.agg.add(ts, Number(m[2]));
    });
  }
  return tiers.map((t, i) => [...byTier[i]!.values()].map((w) => rollupText(t.measurement, w.tags, w.start, w.agg)));
}

const DEFAULT_TIERS = [
  { measurement: 'readings_1m', everyMs: MIN, policy: 'rollup_1m' },
  { measurement: 'readings_1h', everyMs: HOUR, policy: 'rollup_1h' },
];

/** Creates the rollup tiers' retention policies (kept forever) and writes the rollups of `lines`. */
export async function writeRollups(influxUrl: string, db: string, lines: readonly string[]): Promise<void> {
  const q = async (text: string): Promise<string> => {
    const res = await fetch(`${influxUrl}/query`, { method: 'POST', body: new URLSearchParams({ q: text }) });
    const body = await res.text();
    // InfluxDB 1.x answers 200 with {"results":[{"error":…}]} for a statement it refused.
    if (res.status !== 200 || /"error"/.test(body)) throw new Error(`\`${text}\` failed: ${res.status} ${body}`);
    return body;
  };
  const rollups = seedRollupLines(lines);
  for (const [i, t] of DEFAULT_TIERS.entries()) {
    await q(`CREATE RETENTION POLICY "${t.policy}" ON "${db}" DURATION INF REPLICATION 1`);
    // Seen once in CI on a loaded machine: the write right after the CREATE answered "retention
    // policy not found". Wait until the server lists the policy (bounded) before writing to it.
    for (let n = 0; !(await q(`SHOW RETENTION POLICIES ON "${db}"`)).includes(`"${t.policy}"`); n++) {
      if (n === 50) throw new Error(`retention policy ${t.policy} not listed 5 s after CREATE`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await fetch(`${influxUrl}/write?db=${encodeURIComponent(db)}&rp=${t.policy}&precision=ns`, { method: 'POST', body: rollups[i]!.join('\n') });
    if (res.status !== 204) throw new Error(`rollup write failed: ${res.status} ${await res.text()}`);
  }
}
