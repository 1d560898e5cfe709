import { describe, expect, it } from 'vitest';
import { listBuiltinScenarios, loadScenario, parseDuration, resolveScenario, ScenarioError } from '../src/index.js';

const scenariosDir = new URL('../scenarios/', import.meta.url).pathname;

function issuesOf(yaml: string): string[] {
  try {
    loadScenario(yaml);
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return (err as ScenarioError).issues;
  }
  throw new Error('scenario was accepted');
}

const board = (extra: string): string => `name: t
devices:
  - id: d1
    boards:
      - id: b1
        protocol: text-kv
        channels:
          - { name: temp, model: temperature }
${extra}`;

describe('scenario validation', () => {
  it('loads every shipped scenario', () => {
    for (const name of ['greenhouse', 'factory-modbus', 'fleet-load', 'window-rules']) {
      const s = loadScenario(`${scenariosDir}${name}.yaml`);
      expect(s.name).toBe(name);
      expect(s.devices.length).toBeGreaterThan(0);
    }
  });

  it('loads the sample config and lists the built-ins', () => {
    expect(loadScenario(new URL('../config/example.yaml', import.meta.url).pathname).devices[0]!.boards[0]!.protocol).toBe('text-kv');
    expect(listBuiltinScenarios().map((s) => s.name)).toEqual(['anomalies', 'factory-modbus', 'fleet-load', 'greenhouse', 'window-rules']);
    expect(resolveScenario('greenhouse').name).toBe('greenhouse');
  });

  it('applies defaults', () => {
    const s = loadScenario(board(''));
    const b = s.devices[0]!.boards[0]!;
    expect(b.baud).toBe(115_200);
    expect(b.hz).toBe(1);
    expect(s.start).toBe(Date.parse('2025-01-01T00:00:00Z'));
  });

  it('names the key of a wrong type, an unknown key and a bad id', () => {
    expect(issuesOf(board('        hz: fast\n'))).toEqual([expect.stringMatching(/^devices\[0\]\.boards\[0\]\.hz: expected number/)]);
    expect(issuesOf(board('        colour: red\n'))[0]).toBe('devices[0].boards[0].colour: unknown key');
    expect(issuesOf(board('').replace('name: temp', 'name: Temp'))[0]).toMatch(/^devices\[0\]\.boards\[0\]\.channels\[0\]\.name: must match/);
    expect(issuesOf(board('        hz: 500\n'))[0]).toMatch(/^devices\[0\]\.boards\[0\]\.hz: number must be less than or equal to 100/);
  });

  it('names the key of cross-field mistakes', () => {
    const spikeNoMag = board('        anomalies:\n          - { kind: spike, channel: temp, at: 10s, duration: 2s }\n');
    expect(issuesOf(spikeNoMag)).toEqual(['devices[0].boards[0].anomalies[0].magnitude: required for spike']);
    const unknownChannel = board('        anomalies:\n          - { kind: stuck, channel: hum, at: 10s, duration: 2s }\n');
    expect(issuesOf(unknownChannel)).toEqual(['devices[0].boards[0].anomalies[0].channel: no channel "hum" on board "b1"']);
    const tooShort = board('        anomalies:\n          - { kind: stuck, at: 10s, duration: 200ms }\n');
    expect(issuesOf(tooShort)[0]).toMatch(/anomalies\[0\]\.duration: 200 ms is shorter than the sample period/);
    expect(issuesOf(board('        faults:\n          - { kind: bad_checksum }\n'))).toEqual(['devices[0].boards[0].faults[0].kind: protocol text-kv has no checksum']);
    expect(issuesOf(board('        anomalies:\n          - { kind: stuck, at: soon, duration: 2s }\n'))[0]).toMatch(/anomalies\[0\]\.at: expected a duration/);
    expect(issuesOf(board('        baud: 300\n        hz: 100\n'))[0]).toMatch(/^devices\[0\]\.boards\[0\]\.hz: 100 Hz needs about/);
  });

  it('reports a missing file and broken YAML', () => {
    expect(() => loadScenario('/nonexistent/x.yaml')).toThrow('cannot read scenario /nonexistent/x.yaml: no such file');
    expect(() => loadScenario('name: [\n')).toThrow(/^scenario is not valid YAML: /);
  });

  it('expands numbered device copies', () => {
    const s = loadScenario(board('').replace('  - id: d1\n', '  - id: node\n    count: 3\n'));
    expect(s.devices.map((d) => d.id)).toEqual(['node-001', 'node-002', 'node-003']);
  });

  it('parses durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration(2)).toBe(2000);
    expect(parseDuration('soon')).toBeNull();
  });
});
