/**
 * How fast this machine runs the product's own code right now, so that two runs can be compared:
 * this development machine is a virtual one, and in some minutes the same work took its vCPUs
 * 1.5-2.5 times as long as in others (raw InfluxDB 381k lines/s in one run, 151k in another an
 * hour and a half later, with no other work running and no steal counted). Measured on a quiet
 * machine, before the services start and after they stop.
 */
import { readFileSync } from 'node:fs';
import { encodeEnvelope, parseEnvelope, type Envelope } from '@fieldline/contract';

const ENVELOPE: Envelope = {
  v: 1,
  device: 'speed-1',
  epoch: 'speedepoch',
  seq: 1,
  clock: { synced: true, now: Date.UTC(2026, 0, 5) },
  readings: Array.from({ length: 100 }, (_, i) => ({ sensor: `s${i % 10}`, ts: Date.UTC(2026, 0, 5) + i * 100, value: Math.round(2000 + 500 * Math.sin(i)) / 100 })),
};

/**
 * Envelopes of 100 readings per second that one core parses, validates and encodes again (the
 * contract's `parseEnvelope` and `encodeEnvelope`: what the gateway and the processor do with
 * every envelope), over `ms` of wall time after a short warm-up.
 */
export function machineSpeed(ms = 500): number {
  const text = encodeEnvelope(ENVELOPE);
  let sink = 0;
  const once = (): void => {
    sink += encodeEnvelope(parseEnvelope(text, 'speed-1')).length;
  };
  for (let i = 0; i < 2000; i++) once();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 100; i++) once();
    n += 100;
    t = performance.now();
  }
  if (sink === 0) throw new Error('unreachable: the encoded envelope is never empty');
  return Math.round((n * 1000) / (t - t0));
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
