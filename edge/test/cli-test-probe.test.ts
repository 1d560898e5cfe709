import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseScenario, startSimulation, type Simulation } from '@fieldline/firmware-sim';
import { cleanupAll, tempDir } from '@fieldline/harness';
import { loadEdgeConfig } from '../src/index.js';

const root = join(new URL('.', import.meta.url).pathname, '../..');
const cli = join(root, 'edge/src/cli.ts');
const pexec = promisify(execFile);

/** Runs the CLI as a user would; resolves with stdout, stderr and the exit code. */
async function edgeCli(args: string[], timeoutMs = 60_000): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await pexec(process.execPath, ['--conditions=fieldline-src', '--import', 'tsx', cli, ...args], { cwd: root, timeout: timeoutMs });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

// A board of every protocol firmware-sim speaks, with faults on the line protocols.
const scenario = parseScenario({
  name: 'edge-cli',
  start: '2025-06-01T06:00:00Z',
  devices: [
    {
      id: 'dev-1',
      boards: [
        { id: 'kv', protocol: 'text-kv', baud: 9600, hz: 5, timestamps: true, channels: [{ name: 'temp', model: 'temperature' }, { name: 'hum', model: 'humidity' }], faults: [{ kind: 'garbage', probability: 0.2 }] },
        { id: 'rows', protocol: 'csv', baud: 19200, hz: 5, timestamps: true, channels: [{ name: 'power', model: 'power' }, { name: 'volts', model: 'power' }] },
        { id: 'json', protocol: 'jsonl', baud: 115200, hz: 5, channels: [{ name: 'co2', model: 'co2' }] },
        { id: 'mast', protocol: 'nmea', baud: 4800, hz: 5, channels: [{ name: 'press', model: 'pressure' }, { name: 'temp2', model: 'temperature' }], faults: [{ kind: 'bad_checksum', probability: 0.2 }] },
        { id: 'meter', protocol: 'modbus', baud: 19200, hz: 5, unitId: 3, channels: [{ name: 'vib', model: 'vibration' }, { name: 'amps', model: 'power' }] },
      ],
    },
  ],
});

let sim: Simulation;
beforeAll(async () => {
  sim = await startSimulation(scenario, { seed: 11, speed: 1 });
});
afterAll(async () => {
  await sim?.close();
  cleanupAll();
});

const board = (id: string): Simulation['boards'][number] => sim.boards.find((b) => b.board === id)!;

interface ProbeEntry {
  id: string;
  path: string;
  baudRate: number;
  driver: string;
  options?: Record<string, unknown>;
  channels: Record<string, { sensor: string }>;
}

describe('fieldline-edge probe and test against firmware-sim boards', () => {
  const entries = new Map<string, ProbeEntry>();

  it('probe names the driver and channels of every protocol and prints a ports: entry that loads', { timeout: 120_000 }, async () => {
    const results = await Promise.all(sim.boards.map(async (b) => [b, await edgeCli(['probe', b.path, '--baud', String(b.baud), '--seconds', '2'])] as const));
    for (const [b, res] of results) {
      expect(res.code, `${b.board}: ${res.stdout}${res.stderr}`).toBe(0);
      expect(res.stdout).toContain(`driver: ${b.protocol} at ${b.baud} baud`);
      const doc = parse(res.stdout.slice(res.stdout.indexOf('\nports:'))) as { ports: ProbeEntry[] };
      const entry = doc.ports[0]!;
      expect(entry).toMatchObject({ path: b.path, baudRate: b.baud, driver: b.protocol });
      // Self-describing protocols name their channels; csv columns and Modbus registers are numbered.
      if (b.protocol === 'csv') expect(entry.options).toMatchObject({ columns: ['col1', 'col2'], timeColumn: true });
      else if (b.protocol === 'modbus') expect(entry.options).toMatchObject({ unitId: 3, registers: [{ channel: 'reg0', address: 0 }, { channel: 'reg2', address: 2 }] });
      else expect(Object.keys(entry.channels).sort()).toEqual([...b.channels].sort());
      // The entry pastes into a config as it is.
      expect(() => loadEdgeConfig({ device: 'pi-01', mqtt: { url: 'mqtt://127.0.0.1:1' }, ports: [entry] })).not.toThrow();
      entries.set(b.board, entry);
    }
    expect(board('kv').timestamps).toBe(true);
    expect(results.find(([b]) => b.board === 'kv')![1].stdout).toContain('the board sends its own time');
  });

  it('test prints each reading as the gateway receives it, unmapped channels and bad frames with the reason, without MQTT', { timeout: 120_000 }, async () => {
    expect(entries.size).toBe(sim.boards.length);
    const ports = [...entries.values()].map((e) => structuredClone(e));
    const kv = ports.find((p) => p.driver === 'text-kv')!;
    // hum stays unmapped, temp gets a unit and a scale.
    kv.channels = { temp: { sensor: 'kv-temp', unit: 'C', scale: 1 } as { sensor: string } };
    const dir = tempDir('edge-cli-test');
    const file = join(dir, 'edge.yaml');
    // The MQTT URL points nowhere: `test` must not need a broker.
    writeFileSync(file, stringify({ device: 'pi-01', stateDir: join(dir, 'state'), mqtt: { url: 'mqtt://127.0.0.1:1', passwordFile: join(dir, 'missing') }, ports }));
    const res = await edgeCli(['test', '--config', file, '--seconds', '4', '--json']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const records = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
    const readings = records.filter((r) => r.reading);
    for (const p of ports) {
      for (const ch of Object.values(p.channels)) {
        expect(readings.some((r) => r.port === p.id && r.reading.sensor === ch.sensor), `a reading of ${ch.sensor}`).toBe(true);
      }
    }
    const temp = readings.find((r) => r.reading.sensor === 'kv-temp')!.reading;
    expect(temp).toMatchObject({ unit: 'C', quality: expect.stringMatching(/^(good|uncertain)$/) });
    // The board's own clock (the scenario starts in 2025) is the reading's time, as in the agent.
    expect(temp.ts).toBeGreaterThanOrEqual(Date.UTC(2025, 5, 1, 6));
    expect(temp.ts).toBeLessThan(Date.UTC(2025, 5, 1, 7));
    expect(records.some((r) => r.port === kv.id && r.unmapped === 'hum')).toBe(true);
    expect(records.some((r) => r.port === kv.id && r.bad === 'garbage')).toBe(true);
    expect(records.some((r) => r.port === entries.get('mast')!.id && r.bad === 'bad_checksum')).toBe(true);
    const summaries = records.filter((r) => r.summary);
    expect(summaries).toHaveLength(ports.length);
    for (const s of summaries) expect(s.summary.frames).toBeGreaterThan(0);

    // The readable form says the same, one line per reading.
    const text = await edgeCli(['test', '--config', file, '--seconds', '2']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/kv-temp = -?\d+(\.\d+)? C {2}ts=2025-06-01T06:\d\d:\d\d\.\d{3}Z \(\d+\) {2}quality=(good|uncertain)/);
    expect(text.stdout).toMatch(/unmapped channel "hum" = [\d.-]+: not under ports\[\d\]\.channels/);
  });

  it('test exits 1 and says so when a port sends nothing parseable; usage errors exit 64', { timeout: 60_000 }, async () => {
    const dir = tempDir('edge-cli-silent');
    const file = join(dir, 'edge.yaml');
    // A text-kv port on the NMEA board: every line is a bad frame, no reading.
    writeFileSync(file, stringify({ device: 'pi-01', mqtt: { url: 'mqtt://127.0.0.1:1' }, ports: [{ id: 'wrong', path: board('mast').path, baudRate: 4800, driver: 'text-kv', channels: {} }] }));
    const res = await edgeCli(['test', '--config', file, '--seconds', '2']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/wrong {2}bad frame \(bad_syntax\)/);
    expect(res.stdout).toContain(`nothing parsed from ${board('mast').path} at 4800 baud (try: fieldline-edge probe`);
    expect((await edgeCli(['test', '--seconds', 'soon', '--config', file])).code).toBe(64);
    expect((await edgeCli(['probe'])).code).toBe(64);
  });
});
