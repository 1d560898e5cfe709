// npm run bench:processor -- readings/s through one processor (real JetStream consume, windows,
// detectors, InfluxDB batch writes to the real Debian influxd) beside the raw InfluxDB batch-write
// rate measured in the same run, and window/detector state memory per active sensor.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { batchId, encodeEnvelope, parseEnvelope, partitionOf, subjects, type Envelope } from '@fieldline/contract';
import { cleanupAll, InfluxServer, NatsServer, waitFor } from '@fieldline/harness';
import { connect } from 'nats';
import { pino } from 'pino';
import { detectorEntrySchema } from '../src/detectors/config.js';
import { createInfluxWriter } from '../src/influx/writer.js';
import { Effects, PartitionPipeline } from '../src/processor/pipeline.js';
import { loadProcessorConfig, startProcessor, type ProcessorConfigInput } from '../src/processor/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// FL_BENCH_DEVICES shrinks the run for a smoke test.
const DEVICES = Number(process.env.FL_BENCH_DEVICES ?? 200);
const SENSORS = 5;
const ENVELOPES_PER_DEVICE = 15;
const READINGS_PER_ENVELOPE = 100;
const PARTITIONS = 8;
const T0 = Date.UTC(2026, 0, 5);

// Deterministic noise (mulberry32): the bench data are the same every run.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeEnvelopes(devices: number): Envelope[] {
  const rand = rng(42);
  const out: Envelope[] = [];
  const perSensor = READINGS_PER_ENVELOPE / SENSORS;
  for (let e = 0; e < ENVELOPES_PER_DEVICE; e++) {
    for (let d = 0; d < devices; d++) {
      const readings = [];
      for (let k = 0; k < perSensor; k++) {
        const ts = T0 + (e * perSensor + k) * 1000;
        for (let s = 0; s < SENSORS; s++) readings.push({ sensor: `s${s}`, ts, value: 20 + 5 * Math.sin(ts / 60_000 + s) + rand() * (rand() < 0.001 ? 50 : 0.5), unit: 'C' });
      }
      out.push({ v: 1, device: `dev-${d}`, epoch: 'benchepoch', seq: e + 1, clock: { synced: true, now: readings.at(-1)!.ts }, readings });
    }
  }
  return out;
}

const detectors = [
  { rule: 'hot', type: 'threshold', severity: 'critical', params: { above: 60, hysteresis: 2 } },
  { rule: 'anomaly', type: 'baseline', params: { z: 6 } },
  { rule: 'jump', type: 'rate-of-change', params: { maxPerSecond: 20 } },
  { rule: 'stuck', type: 'flatline', severity: 'info', params: { forMs: 60_000 } },
  { rule: 'dropout', type: 'dropout' },
];

/** Heap held by pipeline state per sensor with one open session each (pure, no servers). */
function stateBytesPerSensor(): number {
  const sensors = 20_000;
  const cfg = loadProcessorConfig({ detectors, windows: { gapMs: 30_000 } });
  gc();
  const before = process.memoryUsage().heapUsed;
  const p = new PartitionPipeline(cfg);
  const fx = new Effects();
  for (let d = 0; d < sensors / SENSORS; d++) {
    const readings = [];
    for (let s = 0; s < SENSORS; s++) for (let k = 0; k < 3; k++) readings.push({ sensor: `s${s}`, ts: T0 + k * 1000, value: 20 + k });
    p.process({ v: 1, device: `mem-${d}`, epoch: 'benchepoch', seq: 1, clock: { synced: true, now: T0 }, readings }, fx);
    fx.clear();
  }
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / p.sensorCount;
  if (p.openSessions !== sensors) throw new Error(`expected ${sensors} open sessions, got ${p.openSessions}`);
  return bytes;
}

async function main(): Promise<void> {
  const logger = pino({ level: 'warn' });
  const [nats, influx] = await Promise.all([NatsServer.start(), InfluxServer.start()]);
  try {
    const envs = makeEnvelopes(DEVICES);
    const readings = envs.reduce((n, e) => n + e.readings.length, 0);

    // Baseline: the same reading lines written straight to InfluxDB, same batch size and concurrency.
    const writer = await createInfluxWriter({ url: influx.url, database: 'baseline' });
    const lines = envs.flatMap((e) => e.readings.map((r) => `readings,device=${e.device},sensor=${r.sensor} value=${r.value},score=0,quality="good",unit="C" ${Math.round(r.ts * 1000)}000`));
    const batches: string[][] = [];
    for (let i = 0; i < lines.length; i += 5000) batches.push(lines.slice(i, i + 5000));
    let t = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: PARTITIONS }, async () => {
      while (next < batches.length) await writer.write(batches[next++]!);
    }));
    const rawSeconds = (performance.now() - t) / 1000;

    // Processor: everything published first, so the rate is the consumer's, not the publisher's.
    const nc = await connect({ servers: nats.url });
    const js = nc.jetstream();
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'TELEMETRY', subjects: ['fl.telemetry.>'] });
    for (let i = 0; i < envs.length; i += 500) {
      await Promise.all(envs.slice(i, i + 500).map((e) => js.publish(subjects.telemetry(partitionOf(e.device, PARTITIONS), e.device), encodeEnvelope(e), { msgID: batchId(e) })));
    }
    const config: ProcessorConfigInput = {
      nats: { servers: [nats.url] },
      influx: { url: influx.url, database: 'fieldline' },
      partitions: { count: PARTITIONS },
      consumer: { fetchBatch: 512 },
      windows: { gapMs: 30_000 },
      sink: { batchLines: 5000 },
      http: { port: null },
      log: { level: 'warn' },
      detectors: detectors.map((d) => detectorEntrySchema.parse(d)),
    };
    // Timed from when the consumers start (start-up, i.e. connecting and creating consumers, excluded).
    const processor = await startProcessor(config, { logger });
    t = performance.now();
    await waitFor(async () => {
      const infos = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => jsm.consumers.info('TELEMETRY', `processor-${p}`)));
      return infos.every((c) => c.num_pending === 0 && c.num_ack_pending === 0);
    }, { timeoutMs: 600_000, intervalMs: 50, what: 'the processor to ack everything' });
    const procSeconds = (performance.now() - t) / 1000;
    const sensors = processor.stats().sensors;
    const linesWritten = (await processor.metrics.sinkLines.get()).values[0]?.value ?? 0;
    const rssMb = process.memoryUsage().rss / 2 ** 20;
    await processor.close();
    await nc.close();

    const perSensor = stateBytesPerSensor();
    // CPU alone: the same envelopes through the pure pipeline (parse, windows, detectors, lines).
    const payloads = envs.map((e) => encodeEnvelope(e));
    const pure = new PartitionPipeline(loadProcessorConfig(config));
    const fx = new Effects();
    t = performance.now();
    for (const pl of payloads) {
      pure.process(parseEnvelope(pl), fx);
      if (fx.lines.length > 5000) fx.clear();
    }
    const pureSeconds = (performance.now() - t) / 1000;
    const result = {
      readings,
      sensors,
      processor_readings_per_s: Math.round(readings / procSeconds),
      processor_lines_written: linesWritten,
      influx_raw_lines_per_s: Math.round(lines.length / rawSeconds),
      pipeline_only_readings_per_s: Math.round(readings / pureSeconds),
      state_bytes_per_sensor: Math.round(perSensor),
      rss_mb: Math.round(rssMb),
    };
    const rows: [string, string, string][] = [
      ['readings through the processor', `${result.processor_readings_per_s.toLocaleString('en')} readings/s`, 'target >= 100,000'],
      ['raw InfluxDB batch writes (baseline)', `${result.influx_raw_lines_per_s.toLocaleString('en')} lines/s`, `same lines, 5000/batch, ${PARTITIONS} concurrent`],
      ['pure pipeline, no I/O (one core)', `${result.pipeline_only_readings_per_s.toLocaleString('en')} readings/s`, 'JSON parse + validate, windows, 5 detectors, lines'],
      ['state per active sensor', `${result.state_bytes_per_sensor} B`, 'target < 2048 B (5 detectors, 1 open session)'],
      ['readings / sensors', `${readings} / ${sensors}`, `${envs.length} envelopes, ${PARTITIONS} partitions`],
      ['lines written by the processor', `${linesWritten}`, 'readings + sessions + alerts'],
      ['process RSS', `${result.rss_mb} MB`, ''],
    ];
    const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i]!)).join('  '));
    console.log(JSON.stringify(result));
  } finally {
    await Promise.all([nats.stop(), influx.stop()]);
    cleanupAll();
  }
}

await main();
