/**
 * The delivery guarantee of docs/architecture.md, with InfluxDB writes that are slow, refused
 * (unavailable) or whose answer is lost after the server stored them, on real nats-server and
 * influxd: every commit a processor makes comes after every write of every message it covers
 * succeeded (checked as each commit lands, against the writes seen to succeed), and in the end
 * every reading is in InfluxDB once and every rollup equals the raw points of its window, across
 * a clean restart whose last flush fails.
 */
import type { Envelope, Reading } from '@fieldline/contract';
import { cleanupAll, waitFor } from '@fieldline/harness';
import type { KvEntry } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxWriteError } from '../../src/influx/errors.js';
import type { LineWriter } from '../../src/influx/writer.js';
import { startProcessor, type Processor } from '../../src/processor/index.js';
import { baseConfig, drained, envelope, PARTITIONS, queryRows, silentLogger, startServices, stopServices, type Services } from './helpers.js';
import { batchId, encodeEnvelope, partitionOf, subjects } from '@fieldline/contract';

const T0 = Date.UTC(2026, 1, 2, 8, 0, 0);
const DEVICES = ['fg-a', 'fg-b', 'fg-c', 'fg-d', 'fg-e', 'fg-f'];
const GROUP = 'fg';

/** A small seeded PRNG (mulberry32): the faults are the same on every run. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `device/sensor/ts` of each raw `readings` line (the rollup and side-output lines are other measurements). */
function readingKeys(lines: readonly string[]): string[] {
  const keys: string[] = [];
  for (const chunk of lines) {
    for (const line of chunk.split('\n')) {
      if (!line.startsWith('readings,')) continue;
      const device = /device=([^, ]+)/.exec(line)?.[1];
      const sensor = /sensor=([^, ]+)/.exec(line)?.[1];
      const ns = line.slice(line.lastIndexOf(' ') + 1);
      keys.push(`${device}/${sensor}/${Number(BigInt(ns) / 1_000_000n)}`);
    }
  }
  return keys;
}

/**
 * Writes through `w`, after a random delay; now and then refuses a write before sending it, or
 * loses the answer of one the server stored (both `unavailable`, so the processor retries).
 */
function faulty(w: LineWriter, seen: Set<string>, stats: { refused: number; lost: number; ok: number }): LineWriter {
  const rnd = prng(16);
  return {
    api: w.api,
    close: () => w.close(),
    async write(lines, target) {
      await new Promise((r) => setTimeout(r, rnd() * 30));
      const roll = rnd();
      if (roll < 0.15) {
        stats.refused++;
        throw new InfluxWriteError('unavailable', 'test: refused before sending');
      }
      await w.write(lines, target);
      if (roll < 0.3) {
        stats.lost++;
        throw new InfluxWriteError('unavailable', 'test: stored, answer lost');
      }
      stats.ok++;
      if (!target) for (const k of readingKeys(lines)) seen.add(k);
    },
  };
}

/** 1 Hz, 10 s per message, two sensors per device; now and then a reading late beyond the lateness (a repair). */
function workload(): Envelope[] {
  const envs: Envelope[] = [];
  for (let k = 0; k < 90; k++) {
    for (const [d, device] of DEVICES.entries()) {
      const readings: Reading[] = [];
      for (let i = 0; i < 10; i++) {
        const ts = T0 + (k * 10 + i) * 1000;
        readings.push({ sensor: 't', ts, value: 20 + d + ((k * 10 + i) % 13) * 0.25 }, { sensor: 'h', ts, value: 50 - d + ((k * 7 + i) % 11) * 0.5 });
      }
      if (k % 17 === 9) readings.push({ sensor: 't', ts: T0 + k * 10_000 - 3 * 60_000 + 500, value: 30 + d });
      envs.push(envelope(device, readings));
    }
  }
  for (const device of DEVICES) envs.push(envelope(device, [], T0 + 3 * 3_600_000));
  return envs;
}

describe('flush guarantee: a commit only after every write of the messages it covers succeeded', () => {
  let s: Services | undefined;
  let p: Processor | undefined;
  const envs = workload();
  const seen = new Set<string>();
  const stats = { refused: 0, lost: 0, ok: 0 };
  /** Stream sequence -> the reading keys of that message, by partition. */
  const bySeq = new Map<number, { partition: number; keys: string[] }>();
  const violations: string[] = [];
  let commitsSeen = 0;
  const cfg = () => baseConfig(s!, { coordination: { group: GROUP, checkpointMs: 100 }, sink: { flushIntervalMs: 100, batchLines: 300, retryBaseMs: 5, retryMaxMs: 40 }, windows: { gapMs: 30_000, allowedLatenessMs: 15_000 } });
  const start = () => startProcessor(cfg(), { logger: silentLogger, wrapWriter: (w) => faulty(w, seen, stats) });

  async function publishAll(list: Envelope[]): Promise<void> {
    for (const e of list) {
      const partition = partitionOf(e.device, PARTITIONS);
      const ack = await s!.js.publish(subjects.telemetry(partition, e.device), encodeEnvelope(e), { msgID: batchId(e) });
      bySeq.set(ack.seq, { partition, keys: e.readings.map((r) => `${e.device}/${r.sensor}/${r.ts}`) });
    }
  }

  beforeAll(async () => {
    s = await startServices();
    p = await start();
    // Every commit, as it lands: each reading of each message it covers was seen stored.
    const kv = await s.js.views.kv('fl_processor');
    const watch = await kv.watch({ key: `${GROUP}.commit.>` });
    void (async () => {
      for await (const e of watch as AsyncIterable<KvEntry>) {
        if (e.operation !== 'PUT') continue;
        const c = e.json<{ partition: number; seq: number; from: number }>();
        commitsSeen++;
        for (let q = c.from; q <= c.seq; q++) {
          const m = bySeq.get(q);
          if (!m || m.partition !== c.partition) continue;
          const missing = m.keys.filter((k) => !seen.has(k));
          if (missing.length) violations.push(`partition ${c.partition} committed seq ${c.seq} before message ${q}'s ${missing.length} readings were stored (e.g. ${missing[0]})`);
        }
      }
    })();
    const half = Math.floor(envs.length / 2);
    await publishAll(envs.slice(0, half));
    await waitFor(() => drained(s!, GROUP), { timeoutMs: 90_000, intervalMs: 100, what: 'first half' });
    await publishAll(envs.slice(half, half + 60));
    // Closed while writes still fail now and then: its last flush gets one attempt; what it did
    // not make durable is not committed, and the next processor redoes it.
    await p.close();
    p = await start();
    await publishAll(envs.slice(half + 60));
    await waitFor(() => drained(s!, GROUP), { timeoutMs: 90_000, intervalMs: 100, what: 'second half' });
    watch.stop();
  }, 240_000);
  afterAll(async () => {
    await p?.close();
    await stopServices(s);
    cleanupAll();
  });

  it('no commit came before the writes it covers; the faults happened', () => {
    expect(violations).toEqual([]);
    expect(commitsSeen).toBeGreaterThan(20);
    expect(stats.refused).toBeGreaterThan(5);
    expect(stats.lost).toBeGreaterThan(5);
  });

  it('every reading is in InfluxDB, and every 1 m rollup equals the raw points of its window', async () => {
    const want = envs.reduce((n, e) => n + e.readings.length, 0);
    const [{ count }] = (await queryRows(s!.influx, `SELECT count(value) AS count FROM readings WHERE time >= ${T0 - 3_600_000}ms`)) as [{ count: number }];
    expect(count).toBe(want);
    const rollup = await queryRows(s!.influx, `SELECT "count" FROM "fieldline"."rollup_1m"."readings_1m" GROUP BY *`);
    const raw = await queryRows(s!.influx, `SELECT count(value) AS count FROM readings WHERE time >= ${T0 - 3_600_000}ms AND time < ${T0 + 2 * 3_600_000}ms GROUP BY time(1m), "device", "sensor" fill(none)`);
    const key = (r: Record<string, unknown>) => `${r.device}/${r.sensor}/${r.time}`;
    expect(new Map(rollup.map((r) => [key(r), r.count]))).toEqual(new Map(raw.map((r) => [key(r), r.count])));
  });

  it('checkpoints stored beside the batches were named by a commit or deleted: closed, each partition keeps exactly the one its commit names', async () => {
    await p!.close();
    p = undefined;
    const kv = await s!.js.views.kv('fl_processor');
    const os = await s!.js.views.os('fl_checkpoints');
    const live = (await os.list()).filter((o) => !o.deleted).map((o) => o.name);
    for (let part = 0; part < PARTITIONS; part++) {
      const c = (await kv.get(`${GROUP}.commit.${part}`))!.json<{ checkpoint: { name: string } | null; closed: boolean }>();
      expect(c.closed).toBe(true);
      expect(live.filter((n) => n.startsWith(`${GROUP}.${part}.`))).toEqual([c.checkpoint!.name]);
    }
  });
});
