import { cleanupAll } from '@fieldline/harness';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScenario, nmeaChecksum, startSimulation, type BoardStats } from '../src/index.js';
import { openReader, settle } from './helpers.js';

const yaml = `name: faults
start: 2025-01-01T00:00:00Z
duration: 20s
devices:
  - id: dev-f
    boards:
      - id: kv
        protocol: text-kv
        hz: 10
        timestamps: true
        channels:
          - { name: temp, model: temperature }
        anomalies:
          - { kind: noise_burst, channel: temp, at: 5s, duration: 5s, magnitude: 2 }
        faults:
          - { kind: garbage, probability: 0.1 }
          - { kind: truncated, probability: 0.05 }
          - { kind: overlong, probability: 0.05 }
      - id: nmea
        protocol: nmea
        hz: 10
        channels:
          - { name: hum, model: humidity }
        faults:
          - { kind: bad_checksum, probability: 0.2 }
          - { kind: overlong, probability: 0.05 }
`;

async function capture(seed: number): Promise<{ bytes: Buffer[]; stats: BoardStats[] }> {
  const sim = await startSimulation(loadScenario(yaml), { seed, realtime: false, paused: true });
  const readers = await Promise.all(sim.boards.map((b) => openReader(b.path)));
  sim.resume();
  await sim.done;
  await settle(readers);
  const stats = sim.stats();
  await Promise.all(readers.map((r) => r.close()));
  await sim.close();
  return { bytes: readers.map((r) => r.bytes()), stats };
}

describe('determinism and faults on the wire', () => {
  afterAll(() => cleanupAll());

  it('same scenario and seed give byte-identical output; another seed differs', async () => {
    const a = await capture(1);
    const b = await capture(1);
    const c = await capture(2);
    expect(a.bytes[0]!.length).toBeGreaterThan(5000);
    expect(b.bytes[0]!.equals(a.bytes[0]!)).toBe(true);
    expect(b.bytes[1]!.equals(a.bytes[1]!)).toBe(true);
    expect(c.bytes[0]!.equals(a.bytes[0]!)).toBe(false);
    expect(c.bytes[1]!.equals(a.bytes[1]!)).toBe(false);

    // The faults that were counted are on the wire.
    const [kv, nmea] = a.stats;
    expect(kv!.faults.garbage).toBeGreaterThan(5);
    expect(kv!.faults.truncated).toBeGreaterThan(2);
    const kvText = a.bytes[0]!.toString('latin1');
    const kvLines = kvText.split('\r\n').filter(Boolean);
    expect(kvLines.filter((l) => l.length > 512)).toHaveLength(kv!.faults.overlong);
    expect(kvLines.filter((l) => /[^\x20-\x7e]/.test(l)).length).toBeGreaterThan(0);
    const clean = kvLines.filter((l) => /^ts=\d+,temp=-?\d+\.\d\d$/.test(l));
    expect(clean.length).toBeGreaterThanOrEqual(200 - kv!.faults.garbage - 2 * kv!.faults.truncated);
    expect(clean.length).toBeLessThan(200);

    const sentences = a.bytes[1]!.toString('latin1').split('\r\n').filter((l) => l.startsWith('$') && l.length < 100);
    const badSums = sentences.filter((l) => {
      const m = /^\$([^*]*)\*([0-9A-F]{2})$/.exec(l)!;
      return nmeaChecksum(m[1]!) !== m[2];
    });
    expect(sentences).toHaveLength(200);
    expect(badSums).toHaveLength(nmea!.faults.bad_checksum);
    expect(badSums.length).toBeGreaterThan(20);
  });
});
