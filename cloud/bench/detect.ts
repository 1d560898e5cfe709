// npm run bench:detect -- µs per reading through the full pipeline (sessions, detectors, alerts,
// lines: `PartitionPipeline.process` with the readings' value texts, what the processor runs per
// message after parsing it) with the default
// detectors, beside the same pipeline with no detectors (the baseline, measured in the same run),
// for a fast sensor fleet (1 Hz, 100 readings per message) and a slow one (one reading per message
// every 5 minutes, the NAB shape), plus the default detectors' state per sensor in bytes.
import { cpus, loadavg } from 'node:os';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Envelope } from '@fieldline/contract';
import { DEFAULT_DETECTORS } from '../src/detectors/index.js';
import { MODEL_DEFAULTS, initState, stateBytes } from '../src/detectors/anomaly/model.js';
import { loadProcessorConfig } from '../src/processor/config.js';
import { Effects, PartitionPipeline } from '../src/processor/pipeline.js';
import { valueTexts } from '../src/processor/value-texts.js';
import { createRng } from '@fieldline/firmware-sim';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const T0 = Date.UTC(2026, 0, 5);
const DAY = 86_400_000;
const ROUNDS = Number(process.env.FL_BENCH_ROUNDS ?? 5);
/** `sink.batchLines`' default: the effects of a batch are cleared (flushed) together. */
const BATCH_LINES = 5000;

const rng = (seed: number): (() => number) => createRng(seed).next;

/** A daily cycle, noise, rare spikes, rounded to 0.01: what a temperature-like sensor sends. */
function value(rand: () => number, ts: number, s: number): number {
  const v = 20 + 5 * Math.sin((2 * Math.PI * ts) / DAY + s) + (rand() - 0.5) + (rand() < 0.0005 ? 30 : 0);
  return Math.round(v * 100) / 100;
}

/** `devices` × `sensors` at one reading per `stepMs`, `perMessage` readings per envelope and sensor: messages [from, to). */
function fleet(devices: number, sensors: number, stepMs: number, perMessage: number, to: number, from = 0): Envelope[] {
  const rand = rng(7 + from);
  const out: Envelope[] = [];
  for (let m = from; m < to; m++) {
    for (let d = 0; d < devices; d++) {
      const readings = [];
      for (let k = 0; k < perMessage; k++) {
        const ts = T0 + (m * perMessage + k) * stepMs;
        for (let s = 0; s < sensors; s++) readings.push({ sensor: `s${s}`, ts, value: value(rand, ts, s + d) });
      }
      out.push({ v: 1, device: `dev-${d}`, epoch: 'benchepoch', seq: m + 1, clock: { synced: true, now: readings.at(-1)!.ts }, readings });
    }
  }
  return out;
}

/** A fleet's messages, made a chunk at a time (so the bench's own data does not weigh on the pipeline's GC, as a live processor holds one batch). */
interface Fleet {
  readonly messages: number;
  /** Envelopes per message round (one per device). */
  readonly devices: number;
  chunk(from: number, to: number): Envelope[];
}
const fleetOf = (devices: number, sensors: number, stepMs: number, perMessage: number, messages: number): Fleet => ({
  messages,
  devices,
  chunk: (from, to) => fleet(devices, sensors, stepMs, perMessage, to, from),
});

// GC pauses, to say how much of a figure is the collector's (the young generation's size is the
// processor's, cloud/src/processor/node-flags.ts). Entries arrive asynchronously: they are matched
// to the timed intervals once the measurements are done.
const gcPauses: { start: number; end: number }[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push({ start: e.startTime, end: e.startTime + e.duration });
}).observe({ entryTypes: ['gc'] });

interface Measured {
  /** Best round's µs per reading. */
  us: number;
  readings: number;
  /** The best round's timed intervals (performance.now() ms). */
  spans: [number, number][];
}

/** µs per reading of GC pauses inside the measured round's timed intervals. */
async function gcUsPerReading(m: Measured): Promise<number> {
  await new Promise((r) => setTimeout(r, 100));
  let ms = 0;
  for (const g of gcPauses) for (const [a, b] of m.spans) ms += Math.max(0, Math.min(b, g.end) - Math.max(a, g.start));
  return (ms * 1e3) / m.readings;
}

/** µs per reading of `process` over the fleet's messages (best of ROUNDS runs, each on a fresh pipeline). */
function usPerReading(f: Fleet, detectors: unknown[]): Measured {
  const cfg = loadProcessorConfig({ detectors: detectors as never });
  const CHUNK = Math.max(1, Math.floor(1000 / f.devices)); // message rounds per chunk: about 1000 envelopes
  let best: Measured = { us: Infinity, readings: 0, spans: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const p = new PartitionPipeline(cfg);
    const fx = new Effects();
    let ms = 0;
    let readings = 0;
    const spans: [number, number][] = [];
    for (let m = 0; m < f.messages; m += CHUNK) {
      const envelopes = f.chunk(m, Math.min(f.messages, m + CHUNK));
      // The processor hands the pipeline each reading's value as its JSON text (partition-worker.ts),
      // found in the message's text: that scan is timed, the JSON parse (the contract's cost) is not.
      const texts = envelopes.map((e) => JSON.stringify(e));
      if (m === 0) gc();
      const t0 = performance.now();
      for (let i = 0; i < envelopes.length; i++) {
        const e = envelopes[i]!;
        p.process(e, fx, valueTexts(texts[i]!, e.readings.length));
        // The worker hands its effects to the flush once a batch holds `sink.batchLines` lines.
        if (fx.points.count >= BATCH_LINES) fx.clear();
      }
      const t1 = performance.now();
      ms += t1 - t0;
      spans.push([t0, t1]);
      for (const e of envelopes) readings += e.readings.length;
    }
    const us = (ms * 1e3) / readings;
    if (us < best.us) best = { us, readings, spans };
  }
  return best;
}

/** Heap per sensor held by the pipeline with the given detectors, after each sensor learned a day. */
function heapPerSensor(detectors: unknown[]): number {
  const sensors = 10_000;
  const cfg = loadProcessorConfig({ detectors: detectors as never });
  // The envelopes are made (and kept) before the first measurement, so only the pipeline's state
  // is between the two.
  const envelopes = fleet(sensors / 5, 5, 300_000, 1, 100);
  // Typed arrays keep their contents outside the V8 heap: both are counted.
  const used = (): number => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  gc();
  gc();
  const before = used();
  const p = new PartitionPipeline(cfg);
  const fx = new Effects();
  for (const e of envelopes) {
    p.process(e, fx);
    fx.clear();
  }
  gc();
  const bytes = (used() - before) / p.sensorCount;
  if (envelopes.length === 0) throw new Error('unreachable: keeps the envelopes alive until here');
  if (p.sensorCount !== sensors) throw new Error(`expected ${sensors} sensors, got ${p.sensorCount}`);
  return bytes;
}

const defaults = DEFAULT_DETECTORS.map((d) => ({ ...d }));
const fast = fleetOf(20, 5, 1000, 20, 200); // 20 devices × 5 sensors at 1 Hz, 100 readings per message: 400k readings
const slow = fleetOf(40, 1, 300_000, 1, 5000); // 40 sensors every 5 minutes, one reading per message: 200k readings

console.error(`bench:detect on ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const fastRun = usPerReading(fast, defaults);
const fastBase = usPerReading(fast, []).us;
const slowRun = usPerReading(slow, defaults);
const slowBase = usPerReading(slow, []).us;
const fastFull = fastRun.us;
const slowFull = slowRun.us;
const fastGc = await gcUsPerReading(fastRun);
const slowGc = await gcUsPerReading(slowRun);
const modelBytes = stateBytes(initState(MODEL_DEFAULTS));
const heapFull = heapPerSensor(defaults);
const heapBase = heapPerSensor([]);

const rows: [string, string, string][] = [
  ['fast: 1 Hz, 100 readings/message, full pipeline, default detectors', fastFull.toFixed(2), 'µs/reading (target ≤ 5)'],
  ['fast: of which GC pauses', fastGc.toFixed(2), 'µs/reading'],
  ['fast: same pipeline, no detectors (baseline)', fastBase.toFixed(2), 'µs/reading'],
  ['slow: 5 min, 1 reading/message, full pipeline, default detectors', slowFull.toFixed(2), 'µs/reading (target ≤ 5)'],
  ['slow: of which GC pauses', slowGc.toFixed(2), 'µs/reading'],
  ['slow: same pipeline, no detectors (baseline)', slowBase.toFixed(2), 'µs/reading'],
  ['anomaly detector state per sensor (typed arrays + fields)', String(modelBytes), 'bytes (target ≤ 8192)'],
  ['memory per sensor, default detectors (heap + array buffers)', heapFull.toFixed(0), 'bytes'],
  ['memory per sensor, no detectors (baseline)', heapBase.toFixed(0), 'bytes'],
];
const w = Math.max(...rows.map((r) => r[0].length));
console.log(`${'measure'.padEnd(w)}  ${'value'.padStart(8)}  unit`);
for (const [k, v, u] of rows) console.log(`${k.padEnd(w)}  ${v.padStart(8)}  ${u}`);
console.log(
  JSON.stringify({
    fast_us_per_reading: +fastFull.toFixed(3),
    fast_baseline_us_per_reading: +fastBase.toFixed(3),
    fast_gc_us_per_reading: +fastGc.toFixed(3),
    slow_us_per_reading: +slowFull.toFixed(3),
    slow_gc_us_per_reading: +slowGc.toFixed(3),
    slow_baseline_us_per_reading: +slowBase.toFixed(3),
    anomaly_state_bytes_per_sensor: modelBytes,
    heap_bytes_per_sensor: Math.round(heapFull),
    heap_baseline_bytes_per_sensor: Math.round(heapBase),
  }),
);
