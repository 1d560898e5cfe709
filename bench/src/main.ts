/**
 * `npm run bench`: the whole pipeline end to end on real components, every service its own
 * process, beside the raw limits of its parts and the Node-RED pipeline people build by hand,
 * measured in the same run. Progress on stderr; tables, then one JSON line, on stdout; JSON,
 * Markdown and an SVG chart under bench/results/. See bench/README.md.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupAll, InfluxServer } from '@fieldline/harness';
import { exitCodeOf } from '@fieldline/runtime';
import { measureEdgeFootprint } from '../../edge/bench/footprint.js';
import { burst, burstIds } from './burst.js';
import { sweepChart } from './chart.js';
import { closedLoop, watchProcessor } from './e2e.js';
import { runFleetProcess } from './fleet.js';
import { cpuTicks, machineSpeed, stealPct } from './machine-speed.js';
import { nodeRedBaseline } from './node-red.js';
import { parseOptions, USAGE, type BenchOptions, type Phase } from './options.js';
import { Probe, probeDevices } from './probe.js';
import { summarizeProfiles } from './profile.js';
import { say, si } from './progress.js';
import { aedesAlone, influxAlone, jetstreamAlone, type RawRate } from './raw.js';
import { renderMarkdown, renderText, summary } from './report.js';
import type { BenchResults } from './results.js';
import { Pipeline } from './services.js';
import { sweep } from './sweep.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = join(ROOT, 'bench/results');
const bench = (): Record<string, number> => ({ bench: process.pid });

function machine(): BenchResults['machine'] {
  const os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? `Linux ${release()}`;
  const load = Math.round(loadavg()[0]! * 100) / 100;
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, mem_gb: Math.round(totalmem() / 2 ** 30), os, node: process.versions.node, load_avg_start: load, load_avg_end: load };
}

async function run(o: BenchOptions, startedAt: Date, stamp: string): Promise<BenchResults> {
  const r: BenchResults = { version: 1, started_at: startedAt.toISOString(), duration_s: 0, mode: o.mode, options: { ...o, skip: [...o.skip] }, machine: machine() };
  const ticks = cpuTicks();
  const speed = await machineSpeed();
  r.machine.speed_start = speed;
  say(`machine speed: ${si(speed.one_core_envelopes_per_s)} envelopes of 100 readings/s parsed and encoded on one core, ${si(speed.all_cores_envelopes_per_s)} on all (compare runs by it: bench/src/machine-speed.ts)`);
  const errors: Record<string, string> = {};
  const wants = (p: Phase): boolean => !o.skip.has(p);
  /** Runs one phase; a failure is reported and the others still run. */
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      errors[name] = (err as Error).message.split('\n')[0]!;
      say(`${name} FAILED: ${(err as Error).stack ?? String(err)}`);
      return undefined;
    }
  };
  const largest = Math.max(...o.sizes);
  const ids = (prefix: string): string[] => Array.from({ length: o.devices }, (_, i) => `${prefix}-${i + 1}`);
  const profileDir = o.profile ? join(o.out, 'profiles', stamp) : undefined;

  // Every sweep step's probe readings, at most (probe.run sends one each 1000/hz ms).
  const probeIds = probeDevices(Math.ceil(o.loads.length * o.stepSeconds * o.probeHz));
  let pipeline: Pipeline | undefined;
  if (wants('raw') || wants('e2e') || wants('sweep') || wants('burst')) {
    say('starting nats-server, influxd, fieldline-gateway, fieldline-cloud processor and api (each its own process) …');
    const fleetIds = [...o.sizes.flatMap((k) => ids(`e2e${k}`)), ...ids('sweep')];
    pipeline = await phase('start', () => Pipeline.start([...probeIds, ...fleetIds, ...burstIds(o.burstDevices)], { ...(profileDir ? { profileDir } : {}), processors: o.processors }));
    if (pipeline) {
      const p = pipeline;
      await phase('warm-up', async () => {
        say(`warm-up: ${fleetIds.length} fleet devices connect once (the gateway checks each password once per process) and the services JIT-compile`);
        const base = await p.processedReadings();
        const w = await runFleetProcess({ url: p.mqttUrl, devices: fleetIds, rate: 5000, readingsPerEnvelope: 10, sensorsPerDevice: 10, durationMs: o.mode === 'quick' ? 2000 : 4000 }, { password: p.password });
        await watchProcessor(p, base, () => w.readingsAcked, { label: 'warm-up' });
      });
    }
  }
  const p = pipeline;

  if (p && wants('raw')) {
    const aedes: RawRate[] = [];
    const jetstream: RawRate[] = [];
    for (const k of o.sizes) {
      say(`raw limit: aedes alone, ${k} readings/envelope, ${o.rawSeconds} s`);
      const a = await phase(`raw aedes ${k}`, () => aedesAlone(k, { devices: o.devices, seconds: o.rawSeconds, maxInflight: o.maxInflight, bench }));
      if (a) aedes.push(a);
      say(`raw limit: JetStream async publish alone, ${k} readings/envelope, ${o.rawSeconds} s`);
      const j = await phase(`raw jetstream ${k}`, () => jetstreamAlone(p.nats.url, k, { seconds: o.rawSeconds, pids: () => ({ 'nats-server': p.nats.pid, ...bench() }) }));
      if (j) jetstream.push(j);
    }
    say(`raw limit: InfluxDB batch write alone, ${o.rawSeconds} s`);
    const influx = await phase('raw influx', () => influxAlone(p.influx, { seconds: o.rawSeconds, pids: () => ({ influxd: p.influx.pid, ...bench() }) }));
    if (influx) r.raw = { aedes, jetstream, influx };
  }

  if (p && (wants('e2e') || wants('sweep'))) {
    r.e2e = [];
    for (const k of wants('e2e') ? o.sizes : [largest]) {
      say(`end to end, closed loop: ${o.devices} devices, ${k} readings/envelope, ${o.seconds} s`);
      const e = await phase(`e2e ${k}`, () => closedLoop(p, k, { devices: o.devices, seconds: o.seconds, maxInflight: o.maxInflight, bench }));
      if (e) {
        r.e2e.push(e);
        say(`  ${si(e.e2e_readings_per_s)} readings/s end to end (acked ${si(e.acked_readings_per_s)}/s), ${e.lost} lost, PUBACK p99 ${e.puback_ms.p99} ms`);
      }
    }
  }

  const max = r.e2e?.find((e) => e.readings_per_envelope === largest)?.e2e_readings_per_s;
  if (p && wants('sweep') && max) {
    const probe = await phase('probe', () => Probe.start(p, probeIds));
    if (probe) {
      r.sweep = await phase('sweep', () => sweep(p, probe, { maxReadingsPerS: max, loads: o.loads, stepS: o.stepSeconds, devices: o.devices, readings: largest, maxInflight: o.maxInflight, probeHz: o.probeHz, bench }));
      await probe.close();
    }
  }

  if (p && wants('burst')) {
    say(`burst: ${o.burstDevices} devices reconnect at once with ${o.backlogMinutes} min of backlog each`);
    r.burst = await phase('burst', () => burst(p, { devices: o.burstDevices, backlogMin: o.backlogMinutes, maxInflight: o.maxInflight, bench }));
  }

  if (p) {
    say('stopping the gateway, API, processor and NATS (InfluxDB stays for the baseline)');
    await phase('stop', () => p.stopServices());
    if (profileDir) r.profiles = await phase('profiles', async () => summarizeProfiles(profileDir, ROOT));
  }

  if (wants('node-red')) {
    const influx = p?.influx ?? (await phase('start influxd', () => InfluxServer.start()));
    if (influx) {
      say('baseline: Mosquitto -> Node-RED -> node-red-contrib-influxdb, same load');
      r.node_red = await phase('node-red', () => nodeRedBaseline(influx, { devices: o.devices, readings: largest, seconds: o.nodeRedSeconds, ladder: o.nodeRedLadder, maxInflight: o.maxInflight, waitS: o.nodeRedWaitSeconds, bench }));
      await influx.stop();
    }
  } else await p?.influx.stop();

  if (wants('edge')) {
    say(`edge footprint: the shipped agent, 10 sensors at 10 Hz, ${o.edgeSeconds} s after ${o.edgeWarmupSeconds} s of warm-up`);
    r.edge = await phase('edge', () => measureEdgeFootprint({ windowS: o.edgeSeconds, warmupS: o.edgeWarmupSeconds }));
  }
  if (Object.keys(errors).length) r.errors = errors;
  r.machine.load_avg_end = Math.round(loadavg()[0]! * 100) / 100;
  r.machine.speed_end = await machineSpeed();
  r.machine.steal_pct = stealPct(ticks, cpuTicks());
  return r;
}

async function main(argv: string[]): Promise<number> {
  const o = parseOptions(argv, RESULTS);
  if (o === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const r = await run(o, startedAt, stamp);
  r.duration_s = Math.round((Date.now() - startedAt.getTime()) / 1000);
  mkdirSync(o.out, { recursive: true });
  const base = join(o.out, `bench-${stamp}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(r, null, 2)}\n`);
  const chart = r.sweep ? `bench-${stamp}.svg` : undefined;
  if (r.sweep) writeFileSync(`${base}.svg`, sweepChart(r.sweep, `fieldline end to end, ${r.sweep.readings_per_envelope} readings/envelope (${r.mode} run, ${r.started_at.slice(0, 10)})`));
  writeFileSync(`${base}.md`, renderMarkdown(r, chart));
  // latest.*: what the README shows (the Markdown refers to latest.svg).
  copyFileSync(`${base}.json`, join(o.out, 'latest.json'));
  if (r.sweep) copyFileSync(`${base}.svg`, join(o.out, 'latest.svg'));
  writeFileSync(join(o.out, 'latest.md'), renderMarkdown(r, r.sweep ? 'latest.svg' : undefined));
  process.stdout.write(`${renderText(r)}\n\nresults: ${relative(process.cwd(), base)}.{json,md${r.sweep ? ',svg' : ''}} (and latest.*)\n`);
  process.stdout.write(`${JSON.stringify(summary(r))}\n`);
  return r.errors ? 1 : 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = exitCodeOf(err);
} finally {
  cleanupAll();
}
