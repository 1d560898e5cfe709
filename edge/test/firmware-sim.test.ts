import { afterAll, describe, expect, it } from 'vitest';
import { parseScenario, startSimulation, type Simulation } from '@fieldline/firmware-sim';
import { cleanupAll, waitFor } from '@fieldline/harness';
import { startEdge, type Edge } from '../src/index.js';
import { quietLogger, TestBroker, testConfig } from './helpers.js';

afterAll(() => cleanupAll());

// One device with a board per protocol, with the serial faults firmware-sim can inject. (A truncated
// csv line that runs into the next one can look valid: csv has no checksum, so truncation goes on nmea.)
const scenario = parseScenario({
  name: 'edge-drivers',
  start: '2025-06-01T06:00:00Z',
  devices: [
    {
      id: 'dev-1',
      boards: [
        { id: 'kv', protocol: 'text-kv', baud: 9600, hz: 5, timestamps: true, channels: [{ name: 'temp', model: 'temperature' }, { name: 'hum', model: 'humidity' }], faults: [{ kind: 'garbage', probability: 0.05 }, { kind: 'overlong', probability: 0.05 }] },
        { id: 'rows', protocol: 'csv', baud: 9600, hz: 5, channels: [{ name: 'power', model: 'power' }], faults: [{ kind: 'garbage', probability: 0.05 }] },
        { id: 'json', protocol: 'jsonl', baud: 115200, hz: 5, timestamps: true, channels: [{ name: 'co2', model: 'co2' }] },
        { id: 'mast', protocol: 'nmea', baud: 4800, hz: 5, channels: [{ name: 'press', model: 'pressure' }, { name: 'temp2', model: 'temperature' }], faults: [{ kind: 'bad_checksum', probability: 0.1 }, { kind: 'truncated', probability: 0.05 }] },
        { id: 'meter', protocol: 'modbus', baud: 19200, hz: 5, unitId: 3, channels: [{ name: 'vib', model: 'vibration' }, { name: 'amps', model: 'power' }] },
      ],
    },
  ],
});

describe('edge against firmware-sim boards on real ttys', () => {
  it('reads every protocol, counts the injected faults, and keeps reading after an unplug', async () => {
    const broker = await TestBroker.start();
    const sim: Simulation = await startSimulation(scenario, { seed: 7, paused: true, speed: 1 });
    let edge: Edge | undefined;
    try {
      const ports = sim.boards.map((b) => ({
        id: b.board,
        path: b.path,
        baudRate: b.baud,
        driver: b.protocol,
        options:
          b.protocol === 'csv'
            ? { columns: b.channels, timeColumn: b.timestamps }
            : b.protocol === 'modbus'
              ? { unitId: b.unitId, pollMs: 200, registers: b.channels.map((channel, i) => ({ channel, address: 2 * i })) }
              : {},
        channels: Object.fromEntries(b.channels.map((c) => [c, { sensor: `${b.board}-${c}` }])),
      }));
      edge = await startEdge(testConfig(broker.url, { ports }), { logger: quietLogger() });
      await waitFor(() => Object.values(edge!.health().ports).every((p) => p.open), { what: 'all ports open', timeoutMs: 15_000 });
      sim.resume();
      const sensors = sim.boards.flatMap((b) => b.channels.map((c) => `${b.board}-${c}`));
      await waitFor(() => sensors.every((s) => broker.readings().filter((r) => r.sensor === s).length >= 5), { what: 'five readings of every sensor', timeoutMs: 30_000 });

      const faults = (board: string): number => Object.values(sim.stats().find((s) => s.board === board)!.faults).reduce((a, n) => a + n, 0);
      const bad = (board: string): number => Object.values(edge!.health().ports[board]!.bad_frames).reduce((a, n) => a + (n ?? 0), 0);
      // A faulty frame is only known bad once the next terminator arrives, so wait for the count.
      for (const board of ['kv', 'rows', 'mast']) {
        await waitFor(() => faults(board) > 0, { what: `a fault injected on ${board}`, timeoutMs: 20_000 });
        await waitFor(() => bad(board) > 0, { what: `a bad frame counted on ${board}` });
      }
      expect(bad('json')).toBe(0);
      // Board clocks are used when frames carry them: the scenario starts in 2025.
      const kvTs = broker.readings().find((r) => r.sensor === 'kv-temp')!.ts;
      expect(kvTs).toBeGreaterThanOrEqual(Date.UTC(2025, 5, 1, 6));
      expect(kvTs).toBeLessThan(Date.UTC(2025, 5, 1, 7));
      for (const s of sensors) {
        const ts = broker.readings().filter((r) => r.sensor === s).map((r) => r.ts);
        ts.slice(1).forEach((t, i) => expect(t).toBeGreaterThan(ts[i]!));
      }

      await sim.unplug('dev-1', 'json');
      await waitFor(() => !edge!.health().ports.json!.open, { what: 'json port closed after unplug' });
      await sim.replug('dev-1', 'json');
      const before = broker.readings().filter((r) => r.sensor === 'json-co2').length;
      await waitFor(() => broker.readings().filter((r) => r.sensor === 'json-co2').length > before + 2, { what: 'readings after replug', timeoutMs: 20_000 });
    } finally {
      await edge?.close();
      await sim.close();
      await broker.close();
    }
  });
});
