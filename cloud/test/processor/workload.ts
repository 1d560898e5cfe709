import type { Envelope, Reading } from '@fieldline/contract';
import { createRng } from '@fieldline/firmware-sim';

/**
 * A deterministic workload for the checkpoint and scale-out tests: devices with sensors at
 * different rates, spikes and level shifts (the anomaly detector), stuck runs (flatline), a
 * sensor that falls silent and comes back (dropout), a device that goes silent altogether, late
 * readings, redelivered batches and heartbeats. Seeded: the same options give the same envelopes.
 */
export interface WorkloadOptions {
  devices?: number;
  /** Envelopes per device. */
  envelopes?: number;
  /** Event time of the first reading. @default 2026-01-05T08:00Z */
  start?: number;
  seed?: number;
  /** Device id prefix. @default 'wl' */
  prefix?: string;
  /** Epoch of every device's batches. @default 'wlepoch01' */
  epoch?: string;
}

/** The simulator's seeded generator (mulberry32): the same seed, the same numbers. */
export const rng = (seed: number): (() => number) => createRng(seed).next;

/** The envelopes of every device, interleaved in the order a gateway would store them. */
export function workload(o: WorkloadOptions = {}): Envelope[] {
  const devices = o.devices ?? 3;
  const n = o.envelopes ?? 600;
  const start = o.start ?? Date.UTC(2026, 0, 5, 8);
  const rand = rng(o.seed ?? 42);
  const prefix = o.prefix ?? 'wl';
  const epoch = o.epoch ?? 'wlepoch01';
  const out: Envelope[] = [];
  const seqs = new Array<number>(devices).fill(0);
  const last = new Array<Envelope | undefined>(devices);
  for (let k = 0; k < n; k++) {
    for (let d = 0; d < devices; d++) {
      const device = `${prefix}-${d}`;
      const t = start + k * 5000 + d * 37;
      // Device 1 is silent altogether for a stretch (its sessions close as dropout).
      if (d === 1 && k % 300 >= 200 && k % 300 < 240) continue;
      const readings: Reading[] = [];
      for (let i = 0; i < 5; i++) {
        const ts = t + i * 1000;
        // temp: slow wave + noise, a spike now and then, a level shift in the second half.
        let temp = 20 + 3 * Math.sin(ts / 3_600_000) + (rand() - 0.5) * 0.4 + (k > n / 2 ? 2.5 : 0);
        if (k % 97 === 50 && i === 2) temp += 15;
        readings.push({ sensor: 'temp', ts, value: Math.round(temp * 100) / 100, unit: 'C' });
        // hum: integer steps, stuck for a while (flatline).
        const stuck = k % 211 >= 150 && k % 211 < 190;
        readings.push({ sensor: 'hum', ts, value: stuck ? 55 : Math.round(50 + 10 * rand()) });
      }
      // press: every 10 s; silent for a while now and then (dropout while the device reports).
      if (!(k % 173 >= 100 && k % 173 < 130)) readings.push({ sensor: 'press', ts: t + 2500, value: 1000 + Math.round(rand() * 50) / 10, unit: 'hPa' });
      // A late reading (older than the allowed lateness) now and then.
      if (k % 53 === 7 && k > 10) readings.push({ sensor: 'temp', ts: t - 60_000, value: 19, unit: 'C' });
      const env: Envelope = { v: 1, device, epoch, seq: ++seqs[d]!, clock: { synced: true, now: t + 4000 }, readings };
      out.push(env);
      // Redelivery of the previous batch (edge retry), and heartbeats.
      if (k % 41 === 3 && last[d]) out.push(last[d]!);
      if (k % 29 === 0) out.push({ v: 1, device, epoch, seq: ++seqs[d]!, clock: { synced: true, now: t + 4500 }, readings: [] });
      last[d] = env;
    }
  }
  return out;
}
