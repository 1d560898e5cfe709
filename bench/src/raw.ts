/**
 * The raw limits of the parts fieldline is built on, measured in the same run with the same
 * payloads: aedes alone (QoS 1 receive rate, the same fleet), JetStream async publish alone (the
 * same envelopes, msgIDs, file storage, the same nats-server), and InfluxDB batch writes alone
 * (5,000-line batches of the lines the processor writes for such envelopes, the same influxd).
 */
import { fileURLToPath } from 'node:url';
import { encodeEnvelope, type Envelope } from '@fieldline/contract';
import { Effects, loadProcessorConfig, PartitionPipeline } from '@fieldline/cloud';
import { freePort, ManagedProcess, type InfluxServer } from '@fieldline/harness';
import { connect, StorageType, nanos } from 'nats';
import { runFleetProcess } from './fleet.js';
import { ProcMeter, type ProcFigures } from './proc-meter.js';
import { perS, round } from './stats.js';

export interface RawRate {
  readings_per_envelope: number;
  readings_per_s: number;
  envelopes_per_s: number;
  procs: Record<string, ProcFigures>;
}

export interface RawInflux {
  lines_per_s: number;
  batch_lines: number;
  concurrency: number;
  batches: number;
  procs: Record<string, ProcFigures>;
}

/** Sensors per device for `readings` per envelope: one reading per sensor, so event time follows the wall clock. */
export const sensorsFor = (readings: number): number => Math.max(4, readings);

/** Envelopes like the fleet's (values around 20 with noise), `count` per device. */
export function fleetLikeEnvelopes(devices: number, readings: number, count: number, t0 = Date.UTC(2026, 0, 5)): Envelope[] {
  const sensors = sensorsFor(readings);
  let seed = 42;
  const rand = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const out: Envelope[] = [];
  for (let e = 0; e < count; e++) {
    for (let d = 1; d <= devices; d++) {
      const ts = t0 + e * 10;
      // At most one reading per sensor per envelope (sensors >= readings): (sensor, ts) is unique.
      const list = Array.from({ length: readings }, (_, i) => ({ sensor: `s${(e * readings + i) % sensors}`, ts, value: Math.round((20 + 5 * Math.sin(ts / 60_000) + rand() - 0.5) * 100) / 100 }));
      out.push({ v: 1, device: `raw-${d}`, epoch: 'rawbench01', seq: e + 1, clock: { synced: true, now: ts }, readings: list });
    }
  }
  return out;
}

/** aedes alone, in its own process, under the same fleet (devices, in-flight window) as the pipeline. */
export async function aedesAlone(readings: number, o: { devices: number; seconds: number; maxInflight: number; bench: () => Record<string, number | undefined> }): Promise<RawRate> {
  const port = await freePort();
  const aedes = new ManagedProcess({
    name: 'aedes-alone',
    command: process.execPath,
    args: ['--conditions=fieldline-src', '--import', 'tsx', fileURLToPath(new URL('./aedes-alone.ts', import.meta.url)), String(port)],
    ready: (out) => out.includes('aedes listening'),
    readyTimeoutMs: 30_000,
  });
  await aedes.start();
  let fleetPid: number | undefined;
  const meter = new ProcMeter(() => ({ aedes: aedes.pid, fleet: fleetPid, ...o.bench() }));
  try {
    const r = await runFleetProcess(
      { url: `mqtt://127.0.0.1:${port}`, devices: o.devices, prefix: `rawmq${readings}`, rate: 0, readingsPerEnvelope: readings, sensorsPerDevice: sensorsFor(readings), durationMs: o.seconds * 1000, maxInflight: o.maxInflight },
      { onPid: (pid) => (fleetPid = pid) },
    );
    return { readings_per_envelope: readings, readings_per_s: round(perS(r.readingsAcked, r.elapsedMs)), envelopes_per_s: round(perS(r.envelopesAcked, r.elapsedMs)), procs: meter.stop() };
  } finally {
    meter.stop();
    await aedes.stop();
  }
}

/** JetStream async publish alone: nats.js `js.publish` with `window` acks outstanding, msgID per message, into a file stream. */
export async function jetstreamAlone(natsUrl: string, readings: number, o: { seconds: number; window?: number; pids: () => Record<string, number | undefined> }): Promise<RawRate> {
  const nc = await connect({ servers: natsUrl, noAsyncTraces: true });
  const jsm = await nc.jetstreamManager();
  const stream = `RAWBENCH${readings}`;
  await jsm.streams.add({ name: stream, subjects: [`rawbench${readings}.>`], storage: StorageType.File, duplicate_window: nanos(120_000) });
  const js = nc.jetstream();
  const payloads = fleetLikeEnvelopes(64, readings, 1).map((e) => Buffer.from(encodeEnvelope(e)));
  const meter = new ProcMeter(o.pids);
  let seq = 0;
  let acked = 0;
  const started = performance.now();
  const deadline = started + o.seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const s = ++seq;
      await js.publish(`rawbench${readings}.${s % 8}.raw-${s % 64}`, payloads[s % payloads.length]!, { msgID: `raw-${s % 64}:rawbench01:${s}` });
      acked++;
    }
  };
  await Promise.all(Array.from({ length: o.window ?? 256 }, worker));
  const elapsed = performance.now() - started;
  const procs = meter.stop();
  await jsm.streams.delete(stream);
  await nc.close();
  return { readings_per_envelope: readings, readings_per_s: round(perS(acked * readings, elapsed)), envelopes_per_s: round(perS(acked, elapsed)), procs };
}

/**
 * InfluxDB batch writes alone: the lines the processor's own pipeline makes of fleet-like
 * envelopes, in batches of `batchLines`, `concurrency` writes at a time (the processor writes
 * one batch per partition at a time), POSTed to /write. Each round shifts the timestamps so every
 * point is new, as in the live pipeline.
 */
export async function influxAlone(influx: InfluxServer, o: { seconds: number; batchLines?: number; concurrency?: number; pids: () => Record<string, number | undefined> }): Promise<RawInflux> {
  const batchLines = o.batchLines ?? loadProcessorConfig({}).sink.batchLines;
  const concurrency = o.concurrency ?? loadProcessorConfig({}).partitions.count;
  const db = 'rawbench';
  await influx.createDatabase(db);
  // 20 batches of templates: [line without its timestamp, timestamp ms, the ns digits after the ms].
  const pipeline = new PartitionPipeline(loadProcessorConfig({}));
  const fx = new Effects();
  for (const env of fleetLikeEnvelopes(50, 100, 20)) pipeline.process(env, fx);
  const templates = fx.points.lines.map((l) => {
    const sp = l.lastIndexOf(' ');
    const ns = l.slice(sp + 1);
    return { head: l.slice(0, sp + 1), ms: Number(ns.slice(0, -6)), sub: ns.slice(-6) };
  });
  const span = Math.max(...templates.map((t) => t.ms)) - Math.min(...templates.map((t) => t.ms)) + 1000;
  const perRound = Math.floor(templates.length / batchLines);
  let next = 0;
  let lines = 0;
  const meter = new ProcMeter(o.pids);
  const started = performance.now();
  const deadline = started + o.seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const k = next++;
      const shift = Math.floor(k / perRound) * span;
      const from = (k % perRound) * batchLines;
      let body = '';
      for (let i = from; i < from + batchLines; i++) {
        const t = templates[i]!;
        body += `${t.head}${t.ms + shift}${t.sub}\n`;
      }
      const res = await fetch(`${influx.url}/write?db=${db}&precision=ns`, { method: 'POST', body });
      if (res.status !== 204) throw new Error(`raw InfluxDB write answered ${res.status}: ${await res.text()}`);
      lines += batchLines;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - started;
  const procs = meter.stop();
  await influx.query(`DROP DATABASE "${db}"`);
  return { lines_per_s: round(perS(lines, elapsed)), batch_lines: batchLines, concurrency, batches: next, procs };
}
