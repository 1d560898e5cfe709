// npm run bench:processor -- readings/s through one processor (real JetStream consume, windows,
// detectors, InfluxDB batch writes to the real Debian influxd) beside the raw InfluxDB batch-write
// rate measured in the same run, and window/detector state memory per active sensor. Also what
// the rollups (1m and 1h tiers) and one window rule per sensor cost: the same stream through the
// same processor without them, in the same run (target: at most 25 % of the throughput).
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { batchId, bundleId, encodeBundle, encodeEnvelope, parseEnvelope, partitionOf, subjects, type Envelope } from '@fieldline/contract';
import { cleanupAll, InfluxServer, NatsServer, waitFor } from '@fieldline/harness';
import { connect } from 'nats';
import { pino } from 'pino';
import { detectorEntrySchema } from '../src/detectors/config.js';
import { createInfluxWriter } from '../src/influx/writer.js';
import { Effects, PartitionPipeline } from '../src/processor/pipeline.js';
import { valueTexts } from '../src/processor/value-texts.js';
import { drained, loadProcessorConfig, startProcessor, type ProcessorConfigInput } from '../src/processor/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// FL_BENCH_DEVICES shrinks the run for a smoke test.
const DEVICES = Number(process.env.FL_BENCH_DEVICES ?? 200);
const SENSORS = 5;
const ENVELOPES_PER_DEVICE = 15;
const READINGS_PER_ENVELOPE = 100;
const PARTITIONS = 8;
// The processor's defaults for consumer.fetchBatch and sink.batchLines (the bench sets neither).
const { fetchBatch: FETCH_BATCH } = loadProcessorConfig({}).consumer;
const { batchLines: BATCH_LINES } = loadProcessorConfig({}).sink;
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
/** The one window rule per sensor of the full run: the 5-minute mean every minute above a limit. */
const windowRule = { rule: 'warm-5m', type: 'window', params: { window: { kind: 'hopping', size: '5m', hop: '1m' }, aggregate: 'mean', condition: { above: 40, hysteresis: 1 } } };
/** The bench writes January 2026: every tier kept forever, so InfluxDB refuses nothing as too old. */
const KEEP_FOREVER = { raw: { retention: 'inf' }, rollups: [{ name: '1m', every: '1m', retention: 'inf' }, { name: '1h', every: '1h', retention: 'inf' }] };
/** Without rollups and window rule: the baseline their cost is measured against. */
const PLAIN = { raw: { retention: 'inf' }, rollups: [] };

/**
 * The end-to-end bench's shape (bench/src/e2e.ts): 100 sensors per device, one reading of each
 * per message, the devices' messages interleaved in stream order, so a sensor's state is touched
 * once per 50 messages (5,000 other sensors' state in between: out of the CPU's caches). With
 * `run` > 1 each device's messages come in runs of that many (still in its own order), as a
 * closed loop's backlog delivers them: the same readings with a warm cache.
 */
const FLEET = { devices: 50, sensors: 100, envelopes: 120 };
function fleetShape(run: number): Payload[] {
  const { devices, sensors, envelopes } = FLEET;
  const rand = rng(7);
  const order: [number, number][] = [];
  for (let e0 = 0; e0 < envelopes; e0 += run) for (let d = 0; d < devices; d++) for (let e = e0; e < Math.min(envelopes, e0 + run); e++) order.push([d, e]);
  return order.map(([d, e]) => {
    const ts = T0 + e * 1000;
    const readings = Array.from({ length: sensors }, (_, s) => ({ sensor: `s${s}`, ts, value: Math.round((20 + 5 * Math.sin(ts / 60_000 + s) + rand()) * 100) / 100, unit: 'C' }));
    const env: Envelope = { v: 1, device: `fleet-${d}`, epoch: 'benchepoch', seq: e + 1, clock: { synced: true, now: ts }, readings };
    const partition = partitionOf(env.device, PARTITIONS);
    return { subject: subjects.telemetry(partition, env.device), msgID: batchId(env), partition, data: encodeEnvelope(env) };
  });
}

/** Envelopes of one device per bundle in the bundled run (the gateway's envelopes of one event-loop turn). */
const BUNDLE_ENVELOPES = 5;

/**
 * The same messages as the gateway stores them (contract bundle.ts): each device's envelopes in
 * runs of {@link BUNDLE_ENVELOPES}, one message per run, the runs in the stream's order.
 */
function bundled(payloads: readonly Payload[]): Payload[] {
  const runs = new Map<string, Payload[]>();
  const out: Payload[] = [];
  const close = (run: Payload[]): void => {
    const [device, epoch, seq] = run[0]!.msgID.split(':') as [string, string, string];
    const [, lastEpoch, lastSeq] = run.at(-1)!.msgID.split(':') as [string, string, string];
    const data = encodeBundle(run.map((p) => Buffer.from(p.data))).toString('utf8');
    out.push({ subject: run[0]!.subject, partition: run[0]!.partition, msgID: bundleId({ device, epoch, seq: Number(seq) }, { epoch: lastEpoch, seq: Number(lastSeq) }), data });
  };
  for (const p of payloads) {
    const run = runs.get(p.subject) ?? [];
    run.push(p);
    runs.set(p.subject, run);
    if (run.length === BUNDLE_ENVELOPES) close(run), runs.delete(p.subject);
  }
  for (const run of runs.values()) close(run);
  return out;
}

/** Heap held by pipeline state per sensor with one open session each (pure, no servers), with the given tiers. */
function stateBytesPerSensor(tiers: typeof KEEP_FOREVER | typeof PLAIN): number {
  const sensors = 20_000;
  const cfg = loadProcessorConfig({ detectors, windows: { gapMs: 30_000 }, tiers });
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

/** The pid of the child whose command line contains `fragment` (Linux /proc), for its CPU time. */
function pidOf(fragment: string): number | undefined {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(fragment)) return Number(e);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** CPU seconds (user + system) used so far by a process; NaN when it cannot be read. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) in clock ticks, 100 per second on Linux.
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds of this process, influxd and nats-server between two calls. */
function cpuMeter(influxPid: number | undefined, natsPid: number | undefined): () => { node: number; influxd: number; nats: number } {
  const c0 = process.cpuUsage();
  const i0 = cpuSeconds(influxPid);
  const n0 = cpuSeconds(natsPid);
  return () => {
    const c = process.cpuUsage(c0);
    return { node: (c.user + c.system) / 1e6, influxd: cpuSeconds(influxPid) - i0, nats: cpuSeconds(natsPid) - n0 };
  };
}

interface Payload {
  subject: string;
  msgID: string;
  partition: number;
  data: string;
}

/**
 * The pure pipeline (no I/O) over the same messages, one pipeline per partition as in the
 * processor: its rate, and the exact lines the processor will write (for the raw baseline).
 */
function pureRun(payloads: readonly Payload[], config: ProcessorConfigInput): { seconds: number; batches: string[][]; lines: number; rollupLines: number } {
  const cfg = loadProcessorConfig(config);
  const pipelines = Array.from({ length: PARTITIONS }, () => new PartitionPipeline(cfg));
  const fxs = pipelines.map(() => new Effects());
  const batches: string[][] = [];
  let rollupLines = 0;
  const t = performance.now();
  for (const pl of payloads) {
    const fx = fxs[pl.partition]!;
    const env = parseEnvelope(pl.data);
    pipelines[pl.partition]!.process(env, fx, valueTexts(pl.data, env.readings.length));
    if (fx.points.lines.length >= BATCH_LINES) {
      batches.push(fx.points.lines);
      rollupLines += fx.points.rollupCount;
      fx.clear();
    }
  }
  for (const fx of fxs) {
    if (fx.points.lines.length > 0) batches.push(fx.points.lines);
    rollupLines += fx.points.rollupCount;
  }
  const seconds = (performance.now() - t) / 1000;
  return { seconds, batches, lines: batches.reduce((n, b) => n + b.length, 0), rollupLines };
}

const per100k = (seconds: number, readings: number): number | null => (Number.isFinite(seconds) ? Number(((seconds * 1e5) / readings).toFixed(2)) : null);

async function main(): Promise<void> {
  const logger = pino({ level: 'warn' });
  const [nats, influx] = await Promise.all([NatsServer.start(), InfluxServer.start()]);
  const influxPid = pidOf(influx.dataDir);
  const natsPid = pidOf(nats.configFile);
  try {
    const config: ProcessorConfigInput = {
      nats: { servers: [nats.url] },
      influx: { url: influx.url, database: 'fieldline' },
      partitions: { count: PARTITIONS },
      windows: { gapMs: 30_000 },
      http: { port: null },
      log: { level: 'warn' },
      tiers: KEEP_FOREVER,
      detectors: [...detectors, windowRule].map((d) => detectorEntrySchema.parse(d)),
    };
    const plainConfig: ProcessorConfigInput = { ...config, tiers: PLAIN, detectors: detectors.map((d) => detectorEntrySchema.parse(d)) };
    // Only the encoded messages are kept: the processor phase should not pay for the bench's heap.
    let readings = 0;
    const payloads: Payload[] = makeEnvelopes(DEVICES).map((e) => {
      readings += e.readings.length;
      const partition = partitionOf(e.device, PARTITIONS);
      return { subject: subjects.telemetry(partition, e.device), msgID: batchId(e), partition, data: encodeEnvelope(e) };
    });

    // Pure pipeline with and without rollups + window rule, alternating, best of three each.
    const purePlain: number[] = [];
    const pureFull: number[] = [];
    let pure = pureRun(payloads, config);
    for (let i = 0; i < 3; i++) {
      purePlain.push(pureRun(payloads, plainConfig).seconds);
      const r = pureRun(payloads, config);
      pureFull.push(r.seconds);
      if (i === 2) pure = r;
    }
    pure.seconds = Math.min(...pureFull);
    const purePlainSeconds = Math.min(...purePlain);
    // The same pipeline over the end-to-end bench's shape, cache-cold (stream order) and warm
    // (runs of 10 per device), alternating, best of three each.
    const cold = fleetShape(1);
    const warm = fleetShape(10);
    const fleetReadings = cold.length * FLEET.sensors;
    const fleetCold: number[] = [];
    const fleetWarm: number[] = [];
    for (let i = 0; i < 3; i++) {
      fleetCold.push(pureRun(cold, config).seconds);
      fleetWarm.push(pureRun(warm, config).seconds);
    }

    // Baseline: exactly the lines the processor writes (from the pure run), through the same sink
    // plugin, same batch size and as many concurrent writes as partitions, to another database.
    gc();
    const writer = await createInfluxWriter({ url: influx.url, database: 'baseline' });
    const cpu = cpuMeter(influxPid, natsPid);
    const t = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: PARTITIONS }, async () => {
      while (next < pure.batches.length) await writer.write(pure.batches[next++]!);
    }));
    const rawSeconds = (performance.now() - t) / 1000;
    const rawCpu = cpu();
    await writer.close();
    pure.batches.length = 0;

    // Processor: everything published first, so the rate is the consumer's, not the publisher's.
    const nc = await connect({ servers: nats.url });
    const js = nc.jetstream();
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'TELEMETRY', subjects: ['fl.telemetry.>'] });
    for (let i = 0; i < payloads.length; i += 500) {
      await Promise.all(payloads.slice(i, i + 500).map((p) => js.publish(p.subject, p.data, { msgID: p.msgID })));
    }

    /**
     * One processor over the whole stream with its own consumers and database. Timed from when the
     * consumers start (start-up, i.e. connecting and creating consumers, excluded) until every
     * reading was flushed (in-process counter, no I/O to poll) and every message is committed
     * according to the commit records.
     */
    const runProcessor = async (cfg: ProcessorConfigInput, prefix: string) => {
      gc();
      const processor = await startProcessor({ ...cfg, coordination: { group: prefix }, influx: { url: influx.url, database: prefix } }, { logger });
      const meter = cpuMeter(influxPid, natsPid);
      const t0 = performance.now();
      const flushed = async (): Promise<number> => (await processor.metrics.readings.get()).values.reduce((n, v) => n + v.value, 0);
      await waitFor(async () => (await flushed()) >= readings, { timeoutMs: 600_000, intervalMs: 5, what: 'the processor to flush every reading' });
      // Acked: every partition's commit record (the processor's ack) covers the stream.
      await waitFor(() => drained(nc, { partitions: PARTITIONS, group: prefix }), { timeoutMs: 60_000, intervalMs: 5, what: 'the processor to commit everything' });
      const seconds = (performance.now() - t0) / 1000;
      const cpu = meter();
      const out = {
        seconds,
        cpu,
        sensors: processor.stats().sensors,
        lines: (await processor.metrics.sinkLines.get()).values[0]?.value ?? 0,
        rollupLines: (await processor.metrics.rollupLines.get()).values[0]?.value ?? 0,
        rssMb: process.memoryUsage().rss / 2 ** 20,
      };
      await processor.close();
      return out;
    };
    // Twice each, alternating (JIT warm-up and a noisy machine hit both alike); the faster run counts.
    const plainRuns = [];
    const fullRuns = [];
    for (let round = 0; round < 2; round++) {
      plainRuns.push(await runProcessor(plainConfig, `plain${round}`));
      fullRuns.push(await runProcessor(config, `full${round}`));
    }
    // The same envelopes again, as the gateway bundles them: a stream of bundles only.
    await jsm.streams.purge('TELEMETRY');
    const bundles = bundled(payloads);
    for (let i = 0; i < bundles.length; i += 500) {
      await Promise.all(bundles.slice(i, i + 500).map((p) => js.publish(p.subject, p.data, { msgID: p.msgID })));
    }
    const bundledRuns = [];
    for (let round = 0; round < 2; round++) bundledRuns.push(await runProcessor(config, `bundled${round}`));
    await nc.close();
    const best = <T extends { seconds: number }>(xs: T[]): T => xs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const bundledBest = best(bundledRuns);
    if (bundledBest.lines !== pure.lines) throw new Error(`processor wrote ${bundledBest.lines} lines from bundles, the pure pipeline made ${pure.lines}`);
    const full = best(fullRuns);
    const plain = best(plainRuns);
    const procSeconds = full.seconds;
    const procCpu = full.cpu;
    const sensors = full.sensors;
    const linesWritten = full.lines;
    const rssMb = full.rssMb;
    // Same stream, same pure function: the processor must have written what the pure run made.
    if (linesWritten !== pure.lines) throw new Error(`processor wrote ${linesWritten} lines, the pure pipeline made ${pure.lines}`);
    if (full.rollupLines !== pure.rollupLines) throw new Error(`processor wrote ${full.rollupLines} rollup lines, the pure pipeline made ${pure.rollupLines}`);
    if (plain.rollupLines !== 0) throw new Error(`the plain run wrote ${plain.rollupLines} rollup lines`);

    const perSensor = stateBytesPerSensor(KEEP_FOREVER);
    // The 2 KB target (issue 6) was set for the five detectors and one open session; the rollup
    // tiers (issue 14) came later and add their open windows: both are printed.
    const perSensorPlain = stateBytesPerSensor(PLAIN);
    const result = {
      readings,
      sensors,
      processor_readings_per_s: Math.round(readings / procSeconds),
      processor_lines_written: linesWritten,
      influx_raw_lines_per_s: Math.round(pure.lines / rawSeconds),
      influx_raw_readings_per_s: Math.round(readings / rawSeconds),
      pipeline_only_readings_per_s: Math.round(readings / pure.seconds),
      processor_without_rollups_readings_per_s: Math.round(readings / plain.seconds),
      processor_bundled_readings_per_s: Math.round(readings / bundledBest.seconds),
      bundle_envelopes: BUNDLE_ENVELOPES,
      pipeline_only_without_rollups_readings_per_s: Math.round(readings / purePlainSeconds),
      pipeline_only_fleet_shape_readings_per_s: Math.round(fleetReadings / Math.min(...fleetCold)),
      pipeline_only_fleet_shape_runs_of_10_readings_per_s: Math.round(fleetReadings / Math.min(...fleetWarm)),
      rollup_lines_written: full.rollupLines,
      // What rollups (1m, 1h) and one window rule per sensor cost, as a share of the throughput without them.
      rollups_window_rule_cost_pct: Number((100 * (1 - plain.seconds / full.seconds)).toFixed(1)),
      rollups_window_rule_cost_pipeline_pct: Number((100 * (1 - purePlainSeconds / pure.seconds)).toFixed(1)),
      rollups_window_rule_cost_target_pct: 25,
      state_bytes_per_sensor: Math.round(perSensor),
      state_bytes_per_sensor_without_rollups: Math.round(perSensorPlain),
      state_bytes_per_sensor_target: 2048,
      rss_mb: Math.round(rssMb),
      // CPU per 100k readings: what the shared cores had to give each process, whatever the load.
      processor_cpu_s_per_100k: per100k(procCpu.node, readings),
      processor_influxd_cpu_s_per_100k: per100k(procCpu.influxd, readings),
      processor_nats_cpu_s_per_100k: per100k(procCpu.nats, readings),
      raw_influxd_cpu_s_per_100k: per100k(rawCpu.influxd, readings),
      raw_client_cpu_s_per_100k: per100k(rawCpu.node, readings),
      load_avg_1m: Number(loadavg()[0]!.toFixed(2)),
    };
    const rows: [string, string, string][] = [
      ['readings through the processor', `${result.processor_readings_per_s.toLocaleString('en')} readings/s`, 'target >= 100,000 (JetStream consume -> InfluxDB accepted -> ack); with rollups and a window rule'],
      ['…without rollups and window rule', `${result.processor_without_rollups_readings_per_s.toLocaleString('en')} readings/s`, `same stream, same run: rollups + 1 window rule/sensor cost ${result.rollups_window_rule_cost_pct} % (target <= 25 %)`],
      ['…the same envelopes as bundles', `${result.processor_bundled_readings_per_s.toLocaleString('en')} readings/s`, `${BUNDLE_ENVELOPES} envelopes of a device per message, as the gateway stores them (contract bundle.ts); with rollups and a window rule`],
      ['raw InfluxDB batch writes (baseline)', `${result.influx_raw_lines_per_s.toLocaleString('en')} lines/s`, `= ${result.influx_raw_readings_per_s.toLocaleString('en')} readings/s; the processor's own lines, ${BATCH_LINES}/batch, ${PARTITIONS} concurrent`],
      ['pure pipeline, no I/O (one core)', `${result.pipeline_only_readings_per_s.toLocaleString('en')} readings/s`, 'JSON parse + validate, windows, 5 detectors + window rule, rollups, lines (as the worker)'],
      ['…without rollups and window rule', `${result.pipeline_only_without_rollups_readings_per_s.toLocaleString('en')} readings/s`, `cost ${result.rollups_window_rule_cost_pipeline_pct} % of the pipeline's own time`],
      ['pure pipeline, e2e bench shape', `${result.pipeline_only_fleet_shape_readings_per_s.toLocaleString('en')} readings/s`, `same config; ${FLEET.devices} devices x ${FLEET.sensors} sensors, 1 reading/sensor/message, devices interleaved (${(1e6 / result.pipeline_only_fleet_shape_readings_per_s).toFixed(2)} us/reading, state cache-cold)`],
      ['…each device\'s messages in runs of 10', `${result.pipeline_only_fleet_shape_runs_of_10_readings_per_s.toLocaleString('en')} readings/s`, `the same readings, cache-warm (${(1e6 / result.pipeline_only_fleet_shape_runs_of_10_readings_per_s).toFixed(2)} us/reading), as a closed loop's backlog arrives`],
      ['CPU per 100k readings, processor run', `${result.processor_cpu_s_per_100k} + ${result.processor_influxd_cpu_s_per_100k} + ${result.processor_nats_cpu_s_per_100k} s`, 'processor (node) + influxd + nats-server'],
      ['CPU per 100k readings, raw writes', `${result.raw_client_cpu_s_per_100k} + ${result.raw_influxd_cpu_s_per_100k} s`, 'client (node) + influxd'],
      ['state per active sensor', `${result.state_bytes_per_sensor} B`, '5 detectors, 1 open session, 1m and 1h rollup windows (the rollups came after the target was set)'],
      ['…without rollups', `${result.state_bytes_per_sensor_without_rollups} B`, `5 detectors, 1 open session: target < 2048 B (${result.state_bytes_per_sensor_without_rollups < 2048 ? 'met' : 'MISSED'})`],
      ['readings / sensors', `${readings} / ${sensors}`, `${payloads.length} messages of ${READINGS_PER_ENVELOPE} readings, ${PARTITIONS} partitions`],
      ['lines written by the processor', `${linesWritten} + ${full.rollupLines}`, 'readings + sessions + alerts, + rollup points (both equal to the pure run\'s)'],
      ['config', `${detectors.length + 1} detectors/sensor`, `${[...detectors, windowRule].map((d) => d.type).join(', ')} on every sensor; rollups 1m + 1h; gapMs 30000; defaults otherwise (fetchBatch ${FETCH_BATCH}, batchLines ${BATCH_LINES})`],
      ['process RSS', `${result.rss_mb} MB`, 'bench + processor in one process'],
      ['load average (1 min)', `${result.load_avg_1m}`, `${cpus().length} cores shared with other work`],
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
