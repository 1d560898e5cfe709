/**
 * Open-loop sweep: the fleet offers fixed loads, from 10 % to 120 % of the maximum measured end to
 * end, one step after another without pause (a backlog left by one step stays for the next), with
 * the latency probe beside each step. Per step: offered, acked and written-to-InfluxDB rates,
 * PUBACK / alert / queryable latency, the JetStream backlog, CPU and RSS; after the last step the
 * bench waits for the backlog to drain and counts every step's readings in InfluxDB.
 */
import { flushDelta, watchProcessor, type FlushRun } from './e2e.js';
import { FleetProcess, type FleetRunResult } from './fleet.js';
import { probeFigures, type Probe, type ProbeFigures, type ProbeSample } from './probe.js';
import { ProcMeter, type ProcFigures } from './proc-meter.js';
import { say, si } from './progress.js';
import { sensorsFor } from './raw.js';
import type { FlushFigures, Pipeline } from './services.js';
import { perS, round, type Percentiles } from './stats.js';

export interface SweepStep {
  load_pct: number;
  offered_readings_per_s: number;
  acked_readings_per_s: number;
  /** Readings the processor wrote to InfluxDB per second during the step. */
  e2e_readings_per_s: number;
  puback_ms: Percentiles;
  probe: ProbeFigures;
  backlog_messages_end: number;
  readings_acked: number;
  readings_in_influx: number;
  lost: number;
  procs: Record<string, ProcFigures>;
  /** The processor's flush during the step, as for the closed-loop runs (the loops' wait on the chain holds detection too). */
  flush?: FlushRun;
}

export interface Sweep {
  max_readings_per_s: number;
  readings_per_envelope: number;
  step_s: number;
  steps: SweepStep[];
  lost: number;
  /** After the last step: how long the backlog took to drain. */
  drain_after_load_s: number;
  probe_poll_ms: number;
}

/** The processor's counter over time, as `watchProcessor` samples it, to give its rate over any window. */
class CounterTrace {
  readonly points: [number, number][] = [];
  add(atMs: number, value: number): void {
    this.points.push([atMs, value]);
  }
  /** Value at wall time `t` (linear between samples). */
  at(t: number): number {
    const p = this.points;
    if (p.length === 0) return 0;
    if (t <= p[0]![0]) return p[0]![1];
    for (let i = 1; i < p.length; i++) {
      const [t1, v1] = p[i]!;
      if (t1 >= t) {
        const [t0, v0] = p[i - 1]!;
        return v0 + ((v1 - v0) * (t - t0)) / Math.max(1, t1 - t0);
      }
    }
    return p[p.length - 1]![1];
  }
}

/**
 * The processor's write rate over the later two thirds of a step: the first third is the
 * transition from the step before (its backlog, the pipeline's own latency).
 */
function steadyRate(trace: CounterTrace, r: FleetRunResult): number {
  const from = r.publishingAtMs + (r.doneAtMs - r.publishingAtMs) / 3;
  return perS(trace.at(r.doneAtMs) - trace.at(from), r.doneAtMs - from);
}

export async function sweep(p: Pipeline, probe: Probe, o: { maxReadingsPerS: number; loads: number[]; stepS: number; devices: number; readings: number; maxInflight: number; probeHz: number; bench: () => Record<string, number | undefined> }): Promise<Sweep> {
  const prefix = 'sweep';
  const runs = o.loads.map((pct) => ({
    url: p.mqttUrl,
    devices: o.devices,
    prefix,
    rate: Math.max(1, Math.round((o.maxReadingsPerS * pct) / 100)),
    readingsPerEnvelope: o.readings,
    sensorsPerDevice: sensorsFor(o.readings),
    durationMs: o.stepS * 1000,
    maxInflight: o.maxInflight,
  }));
  const base = await p.processedReadings();
  const trace = new CounterTrace();
  const backlogs: number[] = [];
  const meters: (ProcMeter | undefined)[] = [];
  const procs: Record<string, ProcFigures>[] = [];
  const flushAt: Promise<FlushFigures | undefined>[] = [];
  const flushes: Promise<FlushRun | undefined>[] = [];
  const probes: Promise<ProbeSample[]>[] = [];
  let fleetPid: number | undefined;
  const fleet = new FleetProcess(runs, {
    password: p.password,
    onEvent: (event, i) => {
      if (event === 'publishing') {
        say(`sweep ${o.loads[i]} % of ${si(o.maxReadingsPerS)} readings/s: offering ${si(runs[i]!.rate)}/s for ${o.stepS} s`);
        meters[i] = new ProcMeter(() => ({ ...p.pids(), fleet: fleetPid, ...o.bench() }));
        flushAt[i] = p.flushFigures().catch(() => undefined);
        // The probe's readings start with the load and stop a little before it.
        probes[i] = probe.run(`p${i}`, Math.max(500, o.stepS * 1000 - 500), o.probeHz);
      }
      if (event === 'done') {
        procs[i] = meters[i]?.stop() ?? {};
        const before = flushAt[i];
        flushes[i] = Promise.all([before, p.flushFigures()]).then(([b, a]) => (b ? flushDelta(b, a) : undefined), () => undefined);
        void p.backlogMessages().then((b) => (backlogs[i] = b), () => (backlogs[i] = NaN));
      }
    },
  });
  fleetPid = fleet.pid;
  // Progress through the load, then until the processor has written everything acked (the
  // fleet's readings and the probe's).
  let total: number | undefined;
  const watched = watchProcessor(p, base, () => total, { label: 'sweep', stallMs: 60_000, onSample: (at, n) => trace.add(at, n) });
  const results: FleetRunResult[] = await fleet.done;
  const samples = await Promise.all(probes);
  total = results.reduce((n, r) => n + r.readingsAcked, 0) + samples.reduce((n, s) => n + s.filter((x) => x.ackAt !== undefined).length, 0);
  const w = await watched;
  await probe.settle(samples.flat(), 15_000);
  trace.add(Date.now(), await p.processedReadings());
  const flush = await Promise.all(flushes);
  const steps: SweepStep[] = [];
  for (const [i, r] of results.entries()) {
    const to = results[i + 1]?.calledAtMs ?? Date.now() + 60_000;
    const counted = await p.countReadings(prefix, r.calledAtMs, to);
    steps.push({
      load_pct: o.loads[i]!,
      offered_readings_per_s: runs[i]!.rate,
      acked_readings_per_s: round(perS(r.readingsAcked, r.elapsedMs)),
      e2e_readings_per_s: round(steadyRate(trace, r)),
      puback_ms: { ...r.pubackLatencyMs, n: r.envelopesAcked },
      probe: probeFigures(samples[i] ?? []),
      backlog_messages_end: backlogs[i] ?? NaN,
      readings_acked: r.readingsAcked,
      readings_in_influx: counted,
      lost: Math.max(0, r.readingsAcked - counted),
      procs: procs[i] ?? {},
      ...(flush[i] ? { flush: flush[i] } : {}),
    });
  }
  const last = results.at(-1)!;
  return {
    max_readings_per_s: o.maxReadingsPerS,
    readings_per_envelope: o.readings,
    step_s: o.stepS,
    steps,
    lost: steps.reduce((n, s) => n + s.lost, 0),
    drain_after_load_s: round(Math.max(0, (w.reachedAtMs ?? Date.now()) - last.doneAtMs) / 1000, 1),
    probe_poll_ms: probe.pollMs,
  };
}
