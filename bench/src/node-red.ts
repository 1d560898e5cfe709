/**
 * Baseline: the pipeline people build by hand today, under the same load as fieldline. Mosquitto
 * (Debian's, defaults, anonymous on loopback) -> Node-RED `mqtt in` (QoS 1) -> a function node ->
 * `influxdb out` (node-red-contrib-influxdb) into the same influxd, flow in bench/node-red/. The
 * same fleet sends as fast as Mosquitto acks; the bench then waits until nothing more arrives in
 * InfluxDB and counts what did, by reading. Then, to find its zero-loss throughput, open-loop runs
 * at lower offered loads until one loses nothing.
 */
import { writeFileSync } from 'node:fs';
import { connect as tcp } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBinary, freePort, ManagedProcess, tempDir, type InfluxServer } from '@fieldline/harness';
import mqtt from 'mqtt';
import { startNodeRed } from '../../cloud/node-red/launch.mjs';
import { runFleetProcess, type FleetRunResult } from './fleet.js';
import { ProcMeter, type ProcFigures } from './proc-meter.js';
import { say, si, status } from './progress.js';
import { sensorsFor } from './raw.js';
import { countIn } from './services.js';
import { perS, round } from './stats.js';

const FLOW = fileURLToPath(new URL('../node-red/flows.json', import.meta.url));
const DB = 'nodered';

export interface NodeRedRun {
  /** Offered readings/s; 0 = as fast as Mosquitto acks. */
  offered_readings_per_s: number;
  readings_acked: number;
  readings_in_influx: number;
  lost: number;
  /** Readings stored per second, from the first publish to the last point that arrived. */
  stored_readings_per_s: number;
  /**
   * Still rising when the wait ended: what Node-RED still held was only in its memory (a restart
   * loses it), so it counts as lost here, and `dropped_by_mosquitto` says how much of the loss
   * the broker itself dropped.
   */
  still_writing: boolean;
  /** Readings in PUBLISHes Mosquitto dropped (its `$SYS/broker/publish/messages/dropped`, queue limits). */
  dropped_by_mosquitto: number;
}

export interface NodeRedBaseline {
  readings_per_envelope: number;
  devices: number;
  load_s: number;
  /** Longest wait for its writes after each run. */
  wait_s: number;
  /** Closed loop: as fast as Mosquitto acks. */
  max: NodeRedRun;
  /** Open-loop runs, highest offered load first. */
  ladder: NodeRedRun[];
  /** Stored readings/s of the highest run that lost nothing (null: every run lost readings). */
  zero_loss_readings_per_s: number | null;
  procs: Record<string, ProcFigures>;
}

async function startMosquitto(): Promise<{ proc: ManagedProcess; port: number }> {
  const port = await freePort();
  const dir = tempDir('mosquitto');
  const conf = join(dir, 'mosquitto.conf');
  // Debian's defaults otherwise; $SYS every second for its dropped-messages counter.
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nsys_interval 1\nlog_dest stderr\n`);
  const proc = new ManagedProcess({
    name: 'mosquitto',
    command: findBinary('mosquitto', 'mosquitto'),
    args: ['-c', conf],
    ready: () => new Promise<boolean>((r) => {
      const s = tcp(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    }),
  });
  await proc.start();
  return { proc, port };
}

/** Polls the count until it has not moved for `quietMs` (or `capMs` passed since the load ended). */
async function settle(influx: InfluxServer, prefix: string, r: FleetRunResult, o: { quietMs: number; capMs: number; dropped: () => number; readings: number }): Promise<NodeRedRun> {
  const where = `"device" =~ /^${prefix}-/`;
  let count = -1;
  let lastAtMs = Date.now();
  const cap = Date.now() + o.capMs;
  for (;;) {
    const c = await countIn(influx, DB, where).catch(() => count);
    if (c !== count) {
      count = c;
      lastAtMs = Date.now();
    }
    status(`Node-RED ${prefix}: ${si(count)} of ${si(r.readingsAcked)} acked readings in InfluxDB, ${si(o.dropped() * o.readings)} dropped by Mosquitto`);
    if (Date.now() - lastAtMs >= o.quietMs || Date.now() >= cap || count >= r.readingsAcked) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  return {
    offered_readings_per_s: 0,
    readings_acked: r.readingsAcked,
    readings_in_influx: count,
    lost: Math.max(0, r.readingsAcked - count),
    stored_readings_per_s: round(perS(count, lastAtMs - r.publishingAtMs)),
    still_writing: count < r.readingsAcked && Date.now() - lastAtMs < o.quietMs,
    dropped_by_mosquitto: o.dropped() * o.readings,
  };
}

export async function nodeRedBaseline(influx: InfluxServer, o: { devices: number; readings: number; seconds: number; ladder: number[]; maxInflight: number; waitS: number; bench: () => Record<string, number | undefined> }): Promise<NodeRedBaseline> {
  await influx.createDatabase(DB);
  const mosquitto = await startMosquitto();
  const nodeRed = await startNodeRed({
    adminPassword: 'bench-admin-password',
    credentialSecret: 'bench-credential-secret',
    flowFile: FLOW,
    credentials: { 'bench-influx': { username: '', password: '' } },
    env: { FL_BENCH_MQTT_PORT: String(mosquitto.port), FL_BENCH_INFLUX_PORT: String(influx.port), FL_BENCH_INFLUX_DB: DB, FL_NODE_RED_LOG_LEVEL: 'warn' },
  });
  let fleetPid: number | undefined;
  const meter = new ProcMeter(() => ({ mosquitto: mosquitto.proc.pid, 'node-red': nodeRed.pid, influxd: influx.pid, fleet: fleetPid, ...o.bench() }));
  const url = `mqtt://127.0.0.1:${mosquitto.port}`;
  const sys = await mqtt.connectAsync(url, { clientId: 'bench-sys' });
  let dropped = 0;
  sys.on('message', (_t, payload) => (dropped = Number(payload.toString()) || dropped));
  await sys.subscribeAsync('$SYS/broker/publish/messages/dropped');
  try {
    const run = async (prefix: string, rate: number, seconds: number): Promise<NodeRedRun> => {
      const before = dropped;
      const r = await runFleetProcess(
        { url, devices: o.devices, prefix, rate, readingsPerEnvelope: o.readings, sensorsPerDevice: sensorsFor(o.readings), durationMs: seconds * 1000, maxInflight: o.maxInflight },
        { onPid: (pid) => (fleetPid = pid) },
      );
      const s = await settle(influx, prefix, r, { quietMs: 5000, capMs: o.waitS * 1000, dropped: () => dropped - before, readings: o.readings });
      return { ...s, offered_readings_per_s: rate };
    };
    // Until the flow's subscription is up, Mosquitto would drop the load for want of a subscriber.
    const warm = await run('nrwarm', 100, 1);
    if (warm.readings_in_influx === 0) throw new Error(`the Node-RED baseline wrote nothing to InfluxDB:\n${nodeRed.log}`);
    say(`Node-RED baseline: closed loop, ${o.devices} devices, ${o.readings} readings/envelope, ${o.seconds} s`);
    const max = await run('nrmax', 0, o.seconds);
    // Open loop below what it managed to store, highest first, until a run loses nothing.
    const ladder: NodeRedRun[] = [];
    for (const [k, f] of (max.lost === 0 ? [] : o.ladder).entries()) {
      const rate = Math.round(max.stored_readings_per_s * f);
      if (rate < 1) break;
      say(`Node-RED baseline: open loop at ${si(rate)} readings/s (${f * 100} % of what it stored closed loop)`);
      const step = await run(`nr${k}`, rate, o.seconds);
      ladder.push(step);
      if (step.lost === 0) break;
    }
    const zero = [max, ...ladder].find((x) => x.lost === 0 && !x.still_writing);
    return {
      readings_per_envelope: o.readings,
      devices: o.devices,
      load_s: o.seconds,
      wait_s: o.waitS,
      max,
      ladder,
      zero_loss_readings_per_s: zero ? zero.stored_readings_per_s : null,
      procs: meter.stop(),
    };
  } finally {
    meter.stop();
    await sys.endAsync();
    await nodeRed.close();
    await mosquitto.proc.stop();
  }
}
