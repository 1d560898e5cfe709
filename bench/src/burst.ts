/**
 * Burst: `devices` devices reconnect at once (the gateway has not seen them in this process, so
 * every one pays the password check, and its connection rate limit refuses part of the storm),
 * each with a backlog of `backlogMin` minutes of event time (4 sensors at 1 Hz, sent in envelopes
 * of 500 readings: the edge agent's batch), retried with the edge agent's reconnect backoff.
 * Measured: time until all are connected, until all is acked, until all is written to InfluxDB
 * (drain time), peak RSS of every process, and loss, counted in InfluxDB by reading.
 */
import { FleetProcess, type FleetRunResult } from './fleet.js';
import { watchProcessor } from './e2e.js';
import { ProcMeter, type ProcFigures } from './proc-meter.js';
import type { Pipeline } from './services.js';
import { round } from './stats.js';

export const BURST_SENSORS = 4;
export const BURST_ENVELOPE = 500;
export const burstIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `burst-${i + 1}`);

export interface Burst {
  devices: number;
  backlog_min: number;
  readings_expected: number;
  readings_acked: number;
  readings_in_influx: number;
  lost: number;
  publish_errors: number;
  connect_retries: number;
  /** What the gateway refused during the storm, by why (its `fieldline_gateway_refused_total`). */
  refused_by_gateway: Record<string, number>;
  /** From the reconnect to the last device connected. */
  connected_s: number;
  /** From the reconnect to the last PUBACK. */
  acked_s: number;
  /** From the reconnect to the last reading written to InfluxDB. */
  drain_s: number;
  peak_rss_mb: Record<string, number>;
  procs: Record<string, ProcFigures>;
}

export async function burst(p: Pipeline, o: { devices: number; backlogMin: number; maxInflight: number; bench: () => Record<string, number | undefined> }): Promise<Burst> {
  const intervalMs = 1000;
  const backlogMs = o.backlogMin * 60_000;
  const expected = o.devices * BURST_SENSORS * Math.floor(backlogMs / intervalMs);
  const base = await p.processedReadings();
  const refusedBefore = await p.refusedByGateway();
  let fleetPid: number | undefined;
  const meter = new ProcMeter(() => ({ ...p.pids(), fleet: fleetPid, ...o.bench() }), 200);
  const fleet = new FleetProcess(
    [
      {
        url: p.mqttUrl,
        devices: burstIds(o.devices),
        rate: 0,
        readingsPerEnvelope: BURST_ENVELOPE,
        sensorsPerDevice: BURST_SENSORS,
        backlogMs,
        sampleIntervalMs: intervalMs,
        maxInflight: o.maxInflight,
        // All at once, and the edge agent's reconnect backoff (edge/src/config.ts) when refused.
        connectConcurrency: o.devices,
        connectRetry: { totalMs: 300_000, minMs: 500, maxMs: 30_000 },
        drainTimeoutMs: 300_000,
      },
    ],
    { password: p.password },
  );
  fleetPid = fleet.pid;
  let r: FleetRunResult | undefined;
  void fleet.done.then((rs) => (r = rs[0]), () => undefined);
  const w = await watchProcessor(p, base, () => r?.readingsAcked, { label: `burst ${o.devices} devices`, stallMs: 60_000 });
  await fleet.done;
  const procs = meter.stop();
  const refused = Object.fromEntries(Object.entries(await p.refusedByGateway()).map(([k, v]) => [k, v - (refusedBefore[k] ?? 0)]).filter(([, v]) => v !== 0));
  // Backlog event time starts backlogMin before the reconnect.
  const counted = await p.countReadings('burst', r!.calledAtMs - backlogMs - 60_000);
  const t0 = r!.calledAtMs;
  return {
    devices: o.devices,
    backlog_min: o.backlogMin,
    readings_expected: expected,
    readings_acked: r!.readingsAcked,
    readings_in_influx: counted,
    // Loss against what the devices held, not only against what was acked.
    lost: Math.max(0, expected - counted),
    publish_errors: r!.errors,
    connect_retries: r!.connectRetries,
    refused_by_gateway: refused,
    connected_s: round(r!.connectMs / 1000, 1),
    acked_s: round((r!.publishingAtMs - t0 + r!.elapsedMs) / 1000, 1),
    drain_s: round(((w.reachedAtMs ?? Date.now()) - t0) / 1000, 1),
    peak_rss_mb: Object.fromEntries(Object.entries(procs).map(([k, v]) => [k, v.peak_rss_mb])),
    procs,
  };
}
