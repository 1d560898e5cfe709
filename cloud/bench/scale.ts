// npm run bench:scale -- scale-out of the processor (issue 12), every processor its own process
// (`fieldline-cloud processor`) on a real nats-server and influxd:
// - readings/s with 1, 2 and 3 processors sharing P = 8, and their CPU seconds per 100k readings
//   (on a two-core machine the rate cannot grow much; the CPU per reading must stay flat);
// - the partition takeover time after a kill -9 under load (lease expiry + restore + catch-up);
// - the checkpoint size per sensor (default detectors);
// - the time to restart a partition from its checkpoint against re-deriving it by replay.
// FL_BENCH_DEVICES / FL_BENCH_ENVELOPES shrink the run for a smoke test.
import { cpus, loadavg } from 'node:os';
import { batchId, encodeEnvelope, partitionOf, subjects, type Envelope } from '@fieldline/contract';
import { createRng } from '@fieldline/firmware-sim';
import { cleanupAll, InfluxServer, NatsServer, procStats, waitFor } from '@fieldline/harness';
import { connect, type NatsConnection } from 'nats';
import { loadProcessorConfig, drained, type ProcessorConfigInput } from '../src/processor/index.js';
import { snapshotPipeline } from '../src/processor/pipeline-state.js';
import { Effects, PartitionPipeline } from '../src/processor/pipeline.js';
import { ProcessorProcess } from '../test/processor/child.js';
import { KEEP_FOREVER } from '../test/processor/helpers.js';

const DEVICES = Number(process.env.FL_BENCH_DEVICES ?? 64);
// 400 envelopes a device (1.28 M readings, ~15 s a run): at 100 (5 s a run) each extra process's
// start-up and JIT CPU showed as a 43 % rise per reading at 3 processors; at 400 it is flat
// (max/min 1.10; quiet 2-core machine, 2026-12-01).
const ENVELOPES = Number(process.env.FL_BENCH_ENVELOPES ?? 400);
const SENSORS = 5;
const PER_SENSOR = 10;
const P = 8;
const T0 = Date.UTC(2026, 0, 5);

/** Each device: SENSORS sensors at 1 Hz, PER_SENSOR readings of each per envelope; a daily cycle, noise, rare spikes. */
function makeEnvelopes(): Envelope[] {
  const rand = createRng(7).next;
  const out: Envelope[] = [];
  for (let e = 0; e < ENVELOPES; e++) {
    for (let d = 0; d < DEVICES; d++) {
      const readings = [];
      for (let k = 0; k < PER_SENSOR; k++) {
        const ts = T0 + (e * PER_SENSOR + k) * 1000 + d * 7;
        for (let s = 0; s < SENSORS; s++) readings.push({ sensor: `s${s}`, ts, value: Math.round((20 + 5 * Math.sin(ts / 3_600_000 + s) + (rand() - 0.5) + (rand() < 0.001 ? 30 : 0)) * 100) / 100, unit: 'C' });
      }
      out.push({ v: 1, device: `sc-${d}`, epoch: 'scaleepoch', seq: e + 1, clock: { synced: true, now: readings.at(-1)!.ts }, readings });
    }
  }
  return out;
}

const envs = makeEnvelopes();
const READINGS = envs.reduce((n, e) => n + e.readings.length, 0);

async function publishAll(nc: NatsConnection, list: readonly Envelope[]): Promise<void> {
  const js = nc.jetstream();
  const bodies = list.map((e) => ({ subject: subjects.telemetry(partitionOf(e.device, P), e.device), data: encodeEnvelope(e), msgID: batchId(e) }));
  for (let i = 0; i < bodies.length; i += 256) await Promise.all(bodies.slice(i, i + 256).map((b) => js.publish(b.subject, b.data, { msgID: b.msgID })));
}

const config = (nats: NatsServer, influx: InfluxServer, db: string): ProcessorConfigInput => ({
  nats: { servers: [nats.url] },
  influx: { url: influx.url, database: db },
  // The bench's readings are dated 2026-01: kept forever, so none falls outside a retention.
  tiers: KEEP_FOREVER,
  partitions: { count: P },
});

async function startBalanced(n: number, cfg: ProcessorConfigInput, tag: string): Promise<ProcessorProcess[]> {
  const ps: ProcessorProcess[] = [];
  for (let i = 0; i < n; i++) ps.push(await ProcessorProcess.start(`${tag}-${i}`, cfg));
  const cap = Math.ceil(P / n);
  await waitFor(
    async () => {
      const owned = await Promise.all(ps.map((p) => p.owned()));
      return owned.every((o) => o.length > 0 && o.length <= cap) && owned.reduce((a, o) => a + o.length, 0) === P;
    },
    { timeoutMs: 60_000, intervalMs: 100, what: `${n} processors sharing the partitions` },
  );
  return ps;
}

const cpuOf = (ps: ProcessorProcess[]): number => ps.reduce((a, p) => a + (procStats(p.pid)?.cpuSeconds ?? 0), 0);
const liveLines = (ps: ProcessorProcess[]) => ps.flatMap((p) => p.lines(/^partition taken over; live$/)) as { partition: number; time: number; seconds: number; state: string }[];

interface Row {
  processors: number;
  readingsPerS: number;
  seconds: number;
  cpuPer100k: number;
}

/** Readings/s of `n` processors, from the first publish until every partition is committed. */
async function throughput(n: number, influx: InfluxServer): Promise<{ row: Row; nats: NatsServer; nc: NatsConnection; ps: ProcessorProcess[]; db: string }> {
  const nats = await NatsServer.start();
  const nc = await connect({ servers: nats.url });
  const db = `scale_${n}`;
  const ps = await startBalanced(n, config(nats, influx, db), `t${n}`);
  const cpu0 = cpuOf(ps);
  const t0 = performance.now();
  await publishAll(nc, envs);
  await waitFor(() => drained(nc, { partitions: P }), { timeoutMs: 600_000, intervalMs: 50, what: `${n} processors to commit everything` });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuOf(ps) - cpu0;
  return { row: { processors: n, readingsPerS: Math.round(READINGS / seconds), seconds: Math.round(seconds * 100) / 100, cpuPer100k: Math.round((cpu / READINGS) * 100_000 * 1000) / 1000 }, nats, nc, ps, db };
}

/** Per-partition restart times (lease acquired → live) of a fresh processor on a stream that is all committed. */
async function restartTimes(nats: NatsServer, influx: InfluxServer, db: string, tag: string): Promise<{ state: string; meanMs: number; maxMs: number }> {
  const p = await ProcessorProcess.start(tag, config(nats, influx, db));
  const lines = await waitFor(() => {
    const l = liveLines([p]);
    return l.length === P ? l : null;
  }, { timeoutMs: 120_000, intervalMs: 50, what: 'every partition live after the restart' });
  await p.stop();
  const ms = lines.map((l) => l.seconds * 1000);
  const states = [...new Set(lines.map((l) => l.state))].join('+');
  return { state: states, meanMs: Math.round(ms.reduce((a, b) => a + b, 0) / ms.length), maxMs: Math.round(Math.max(...ms)) };
}

/** Drops the checkpoint from every commit record: the next owner must replay. */
async function forgetCheckpoints(nc: NatsConnection): Promise<void> {
  const kv = await nc.jetstream().views.kv('fl_processor', { bindOnly: true });
  for (let p = 0; p < P; p++) {
    const e = (await kv.get(`processor.commit.${p}`))!;
    await kv.update(`processor.commit.${p}`, JSON.stringify({ ...e.json<object>(), checkpoint: null }), e.revision);
  }
}

/** kill -9 of one of two processors while they drain the workload: ms until its partitions are live elsewhere. */
async function takeover(influx: InfluxServer): Promise<{ ms: number; partitions: number }> {
  const nats = await NatsServer.start();
  const nc = await connect({ servers: nats.url });
  try {
    const ps = await startBalanced(2, config(nats, influx, 'scale_takeover'), 'k');
    await publishAll(nc, envs);
    const victim = ps[0]!;
    const held = await victim.owned();
    const at = Date.now();
    await victim.kill();
    const ms = await waitFor(
      () => {
        const live = liveLines([ps[1]!]).filter((l) => l.time >= at && held.includes(l.partition));
        return held.every((p) => live.some((l) => l.partition === p)) ? Math.max(...live.map((l) => l.time)) - at : null;
      },
      { timeoutMs: 120_000, intervalMs: 20, what: 'the killed processor’s partitions to be taken over' },
    );
    await waitFor(() => drained(nc, { partitions: P }), { timeoutMs: 600_000, intervalMs: 100, what: 'the survivor to commit everything' });
    await ps[1]!.stop();
    return { ms, partitions: held.length };
  } finally {
    await nc.close();
    await nats.stop();
  }
}

/** Checkpoint bytes per sensor: one pipeline over the workload's partition 0, default detectors. */
function checkpointBytesPerSensor(): { bytes: number; sensors: number } {
  const cfg = loadProcessorConfig({ partitions: { count: P } });
  const pipeline = new PartitionPipeline(cfg);
  const fx = new Effects();
  for (const e of envs) {
    if (partitionOf(e.device, P) !== 0) continue;
    pipeline.process(e, fx);
    fx.clear();
  }
  const bytes = snapshotPipeline(pipeline, { partition: 0, partitions: P, seq: 1 }).length;
  return { bytes, sensors: pipeline.sensorCount };
}

async function main(): Promise<void> {
  const influx = await InfluxServer.start();
  const rows: Row[] = [];
  let restart: { withCheckpoint: Awaited<ReturnType<typeof restartTimes>>; withoutCheckpoint: Awaited<ReturnType<typeof restartTimes>> } | undefined;
  try {
    for (const n of [1, 2, 3]) {
      process.stderr.write(`bench:scale: ${n} processor(s), ${READINGS} readings …\n`);
      const r = await throughput(n, influx);
      rows.push(r.row);
      for (const p of r.ps) await p.stop();
      if (n === 1) {
        process.stderr.write('bench:scale: restart with and without checkpoints …\n');
        const withCheckpoint = await restartTimes(r.nats, influx, r.db, 'rc');
        await forgetCheckpoints(r.nc);
        const withoutCheckpoint = await restartTimes(r.nats, influx, r.db, 'rr');
        restart = { withCheckpoint, withoutCheckpoint };
      }
      await r.nc.close();
      await r.nats.stop();
    }
    process.stderr.write('bench:scale: takeover after kill -9 under load …\n');
    const t = await takeover(influx);
    const cp = checkpointBytesPerSensor();
    const flat = Math.max(...rows.map((r) => r.cpuPer100k)) / Math.min(...rows.map((r) => r.cpuPer100k));

    console.log(`\nbench:scale on ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((x) => x.toFixed(2)).join(' ')}; P = ${P}, ${DEVICES} devices × ${SENSORS} sensors, ${READINGS} readings in ${envs.length} envelopes, default detectors`);
    console.log('\n| processors | readings/s | seconds | CPU s per 100k readings (all processors) |');
    console.log('| --- | --- | --- | --- |');
    for (const r of rows) console.log(`| ${r.processors} | ${r.readingsPerS} | ${r.seconds} | ${r.cpuPer100k} |`);
    console.log(`\nCPU per reading, highest / lowest: ${flat.toFixed(2)}×`);
    console.log(`takeover after kill -9 under load (default lease 5 s): ${t.ms} ms for ${t.partitions} partitions`);
    console.log(`checkpoint: ${cp.bytes} bytes for ${cp.sensors} sensors = ${Math.round(cp.bytes / cp.sensors)} bytes per sensor`);
    console.log(`restart of a partition (lease to live), mean / max: from its checkpoint ${restart!.withCheckpoint.meanMs} / ${restart!.withCheckpoint.maxMs} ms (${restart!.withCheckpoint.state}); by replay ${restart!.withoutCheckpoint.meanMs} / ${restart!.withoutCheckpoint.maxMs} ms (${restart!.withoutCheckpoint.state})`);
    console.log(
      JSON.stringify({
        bench: 'scale',
        readings: READINGS,
        partitions: P,
        ...Object.fromEntries(rows.flatMap((r) => [[`readings_per_s_${r.processors}p`, r.readingsPerS], [`cpu_s_per_100k_readings_${r.processors}p`, r.cpuPer100k]])),
        cpu_per_reading_max_over_min: Math.round(flat * 100) / 100,
        takeover_ms: t.ms,
        checkpoint_bytes_per_sensor: Math.round(cp.bytes / cp.sensors),
        restart_with_checkpoint_ms_mean: restart!.withCheckpoint.meanMs,
        restart_with_checkpoint_ms_max: restart!.withCheckpoint.maxMs,
        restart_by_replay_ms_mean: restart!.withoutCheckpoint.meanMs,
        restart_by_replay_ms_max: restart!.withoutCheckpoint.maxMs,
      }),
    );
  } finally {
    await influx.stop();
    cleanupAll();
  }
}

await main();
