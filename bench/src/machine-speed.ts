/**
 * How fast this machine runs right now, so that two runs can be compared: this development
 * machine is a virtual one, and in some hours the same work took it 2.5 times as long as in
 * others (raw InfluxDB 381k lines/s in one default run, 151k in another 1.5 h later, with nothing
 * else running). One core then ran at its usual speed, but a load on both vCPUs had a third of
 * its time stolen by the hypervisor: so the speed is measured on one core and on all of them at
 * once, before the services start and after they stop, and the stolen share over the whole run.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { encodeEnvelope, type Envelope } from '@fieldline/contract';

const ENVELOPE: Envelope = {
  v: 1,
  device: 'speed-1',
  epoch: 'speedepoch',
  seq: 1,
  clock: { synced: true, now: Date.UTC(2026, 0, 5) },
  readings: Array.from({ length: 100 }, (_, i) => ({ sensor: `s${i % 10}`, ts: Date.UTC(2026, 0, 5) + i * 100, value: Math.round(2000 + 500 * Math.sin(i)) / 100 })),
};

// Plain JavaScript in a worker (a worker does not get the parent's TypeScript loader): JSON
// parse and encode of one 100-reading envelope, what the gateway and the processor spend most of
// their per-envelope time on, after a short warm-up.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { text, ms } = workerData;
let sink = 0;
for (let i = 0; i < 2000; i++) sink += JSON.stringify(JSON.parse(text)).length;
let n = 0;
const t0 = performance.now();
let t = t0;
while (t - t0 < ms) {
  for (let i = 0; i < 100; i++) sink += JSON.stringify(JSON.parse(text)).length;
  n += 100;
  t = performance.now();
}
parentPort.postMessage(sink > 0 ? Math.round((n * 1000) / (t - t0)) : 0);
`;

function worker(ms: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: { text: encodeEnvelope(ENVELOPE), ms } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

export interface MachineSpeed {
  /** 100-reading envelopes parsed and encoded per second on one core. */
  one_core_envelopes_per_s: number;
  /** The same on every core at once, summed. */
  all_cores_envelopes_per_s: number;
}

/** One core alone, then every core at once, `ms` each. */
export async function machineSpeed(ms = 500, cores = availableParallelism()): Promise<MachineSpeed> {
  const one = await worker(ms);
  const all = (await Promise.all(Array.from({ length: cores }, () => worker(ms)))).reduce((a, b) => a + b, 0);
  return { one_core_envelopes_per_s: one, all_cores_envelopes_per_s: all };
}

/** The whole machine's CPU ticks from /proc/stat: all, and stolen by the hypervisor. */
export function cpuTicks(): { total: number; steal: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
}

/** % of the machine's CPU time the hypervisor took between two `cpuTicks()`. */
export function stealPct(a: { total: number; steal: number }, b: { total: number; steal: number }): number {
  const total = b.total - a.total;
  return total > 0 ? Math.round(((b.steal - a.steal) / total) * 1000) / 10 : 0;
}
