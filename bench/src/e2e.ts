/**
 * End to end, closed loop: the fleet (its own process, QoS 1) sends as fast as the gateway acks
 * for a while; then the bench waits until the processor has written every acked reading to
 * InfluxDB, and counts them there, by reading. Readings/s end to end = readings counted in
 * InfluxDB / (first publish → the processor's counter reaching the acked total).
 */
import { FleetProcess, type FleetRunResult } from './fleet.js';
import { ProcMeter, type ProcFigures } from './proc-meter.js';
import { si, status } from './progress.js';
import { bucketQuantile } from './prom.js';
import { sensorsFor } from './raw.js';
import type { FlushFigures, Pipeline } from './services.js';
import { perS, round, type Percentiles } from './stats.js';

export interface E2eRun {
  readings_per_envelope: number;
  devices: number;
  load_s: number;
  readings_acked: number;
  readings_in_influx: number;
  /** Acked but not in InfluxDB (must be 0). */
  lost: number;
  /** Fleet publish errors (no PUBACK: not acked, so not owed). */
  publish_errors: number;
  e2e_readings_per_s: number;
  acked_readings_per_s: number;
  puback_ms: Percentiles;
  /** From the last PUBACK to the last reading written: how far the processor was behind. */
  drain_after_load_s: number;
  max_backlog_messages: number;
  procs: Record<string, ProcFigures>;
  /** The processor's flush during this run: mean ms and total s of each step, flushes, and the loops' waits on the chain, s. */
  flush: FlushRun;
}

export interface FlushRun {
  flushes: number;
  stages: Record<string, { mean_ms: number; total_s: number }>;
  loop_wait_s: number;
  /**
   * From a message stored in JetStream to the end of its processing (its alerts published), every
   * live message of the run: estimates from the processor's histogram buckets (prom.ts
   * `bucketQuantile`). Absent in results written before it was measured.
   */
  delay_ms?: { messages: number; p50: number; p99: number };
}

/** What the processor's flush figures moved by between two scrapes. */
export function flushDelta(before: FlushFigures, after: FlushFigures): FlushRun {
  const stages: FlushRun['stages'] = {};
  for (const [k, a] of Object.entries(after.stages)) {
    const b = before.stages[k] ?? { sum: 0, count: 0 };
    const count = a.count - b.count;
    if (count > 0) stages[k] = { mean_ms: round(((a.sum - b.sum) / count) * 1000, 1), total_s: round(a.sum - b.sum, 2) };
  }
  const delay = after.delay.map((a) => ({ le: a.le, count: a.count - (before.delay.find((b) => b.le === a.le)?.count ?? 0) }));
  const messages = delay.at(-1)?.count ?? 0;
  return {
    flushes: (after.stages.total?.count ?? 0) - (before.stages.total?.count ?? 0),
    stages,
    loop_wait_s: round(after.loop_wait_s - before.loop_wait_s, 2),
    ...(messages > 0 ? { delay_ms: { messages, p50: round(bucketQuantile(0.5, delay) * 1000, 1), p99: round(bucketQuantile(0.99, delay) * 1000, 1) } } : {}),
  };
}

export interface Watch {
  /** Wall time (epoch ms) the processor's counter reached the target, or null at the timeout. */
  reachedAtMs: number | null;
  maxBacklog: number;
}

/**
 * How often the bench polls the services' counters while it waits: one scrape of the processor and
 * one of the gateway each time. It was 100 ms with three scrapes (and the sweep's own 250 ms trace
 * beside it): 24 processor scrapes a second took 9–12 % of the processor's CPU in a 10 % sweep
 * step's profile, CPU that the run then reported as the processor's. 250 ms puts an end time at
 * most 250 ms late, which can only lower a rate (≤ 1 % of a 25 s closed-loop run).
 */
export const POLL_MS = 250;

/**
 * Polls the processor's counter until it has written `target` more readings than `base` (or gets
 * no further for `stallMs`), showing progress. `target` may grow while the load runs. `onSample`
 * sees each (wall time, counter) pair, so a caller that traces the counter needs no scrapes of its own.
 */
export async function watchProcessor(p: Pipeline, base: number, target: () => number | undefined, o: { label: string; stallMs?: number; intervalMs?: number; onSample?: (atMs: number, processed: number) => void }): Promise<Watch> {
  let maxBacklog = 0;
  let last = -1;
  let lastMoveAt = performance.now();
  for (;;) {
    const [{ processed: done, backlog }, stored] = await Promise.all([p.processorProgress(), p.storedReadings()]);
    o.onSample?.(Date.now(), done);
    maxBacklog = Math.max(maxBacklog, backlog);
    const t = target();
    status(`${o.label}: stored in JetStream ${si(stored)} · written to InfluxDB ${si(done - base)}${t !== undefined ? ` of ${si(t)}` : ''} · backlog ${si(backlog)} msgs`);
    if (t !== undefined && done - base >= t) return { reachedAtMs: Date.now(), maxBacklog };
    if (done !== last) {
      last = done;
      lastMoveAt = performance.now();
    } else if (t !== undefined && performance.now() - lastMoveAt > (o.stallMs ?? 30_000)) return { reachedAtMs: null, maxBacklog };
    await new Promise((r) => setTimeout(r, o.intervalMs ?? POLL_MS));
  }
}

export async function closedLoop(p: Pipeline, readings: number, o: { devices: number; seconds: number; maxInflight: number; bench: () => Record<string, number | undefined> }): Promise<E2eRun> {
  const prefix = `e2e${readings}`;
  const base = await p.processedReadings();
  const flushBefore = await p.flushFigures();
  let fleetPid: number | undefined;
  const meter = new ProcMeter(() => ({ ...p.pids(), fleet: fleetPid, ...o.bench() }));
  const fleet = new FleetProcess(
    [{ url: p.mqttUrl, devices: o.devices, prefix, rate: 0, readingsPerEnvelope: readings, sensorsPerDevice: sensorsFor(readings), durationMs: o.seconds * 1000, maxInflight: o.maxInflight }],
    { password: p.password },
  );
  fleetPid = fleet.pid;
  let result: FleetRunResult | undefined;
  void fleet.done.then((r) => (result = r[0]), () => undefined);
  const watched = watchProcessor(p, base, () => result?.readingsAcked, { label: `e2e ${readings}/envelope` });
  const [r] = await fleet.done;
  const w = await watched;
  const procs = meter.stop();
  const flush = flushDelta(flushBefore, await p.flushFigures());
  const counted = await p.countReadings(prefix, r!.calledAtMs);
  const endMs = w.reachedAtMs ?? Date.now();
  return {
    readings_per_envelope: readings,
    devices: o.devices,
    load_s: round(r!.elapsedMs / 1000, 1),
    readings_acked: r!.readingsAcked,
    readings_in_influx: counted,
    lost: Math.max(0, r!.readingsAcked - counted),
    publish_errors: r!.errors,
    e2e_readings_per_s: round(perS(counted, endMs - r!.publishingAtMs)),
    acked_readings_per_s: round(perS(r!.readingsAcked, r!.elapsedMs)),
    puback_ms: { ...r!.pubackLatencyMs, n: r!.envelopesAcked },
    drain_after_load_s: round(Math.max(0, endMs - (r!.publishingAtMs + r!.elapsedMs)) / 1000, 1),
    max_backlog_messages: w.maxBacklog,
    procs,
    flush,
  };
}
