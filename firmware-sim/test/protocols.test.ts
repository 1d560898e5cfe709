import { readFileSync } from 'node:fs';
import { cleanupAll } from '@fieldline/harness';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSamples, loadScenario, nmeaChecksum, startSimulation, type GroundTruthRecord, type Sample } from '../src/index.js';
import { openReader, settle, type TtyReader } from './helpers.js';

const yaml = `name: protocols
start: 2025-01-01T12:00:00Z
duration: 5s
devices:
  - id: dev-a
    boards:
      - id: kv
        protocol: text-kv
        hz: 10
        timestamps: true
        channels:
          - { name: temp, model: temperature }
          - { name: hum, model: humidity }
        anomalies:
          - { kind: spike, channel: temp, at: 2s, duration: 500ms, magnitude: 30 }
      - id: csv
        protocol: csv
        hz: 10
        timestamps: true
        channels:
          - { name: power, model: power }
          - { name: vib, model: vibration }
      - id: json
        protocol: jsonl
        hz: 10
        channels:
          - { name: co2, model: co2 }
          - { name: press, model: pressure }
        anomalies:
          - { kind: dropout, channel: press, at: 1s, duration: 1s }
      - id: nmea
        protocol: nmea
        hz: 10
        channels:
          - { name: t2, model: temperature }
          - { name: h2, model: humidity }
          - { name: p2, model: pressure, nmeaType: P, nmeaUnit: B }
`;

describe('line protocols read back through serialport on the real tty', () => {
  const scenario = loadScenario(yaml);
  const expected = [...generateSamples(scenario, { seed: 5 })];
  const samplesOf = (sensor: string): Sample[] => expected.filter((s) => s.sensor === sensor);
  const readers: Record<string, TtyReader> = {};
  let groundTruth: GroundTruthRecord[] = [];

  afterAll(async () => {
    await Promise.all(Object.values(readers).map((r) => r.close()));
    cleanupAll();
  });

  it('runs the boards and every frame arrives', async () => {
    const sim = await startSimulation(scenario, { seed: 5, realtime: false, paused: true });
    for (const b of sim.boards) readers[b.board] = await openReader(b.path);
    sim.resume();
    await sim.done;
    await settle(Object.values(readers));
    groundTruth = readFileSync(sim.groundTruthPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as GroundTruthRecord);
    expect(sim.boards.map((b) => b.protocol)).toEqual(['text-kv', 'csv', 'jsonl', 'nmea']);
    expect(sim.stats().map((s) => s.frames)).toEqual([50, 50, 50, 50]);
    await sim.close();
  });

  it('text-kv: ts=…,name=value lines with CRLF, values as generated', () => {
    const lines = readers.kv!.lines();
    expect(readers.kv!.bytes().toString('latin1').endsWith('\r\n')).toBe(true);
    expect(lines).toHaveLength(50);
    const temps = samplesOf('temp');
    const hums = samplesOf('hum');
    lines.forEach((line, i) => {
      expect(line).toMatch(/^ts=\d+,temp=-?\d+\.\d{2},hum=\d+\.\d$/);
      const kv = Object.fromEntries(line.split(',').map((p) => p.split('=')));
      expect(Number(kv.ts)).toBe(temps[i]!.ts);
      expect(Number(kv.temp)).toBe(temps[i]!.value);
      expect(Number(kv.hum)).toBe(hums[i]!.value);
    });
  });

  it('the spike readings on the wire lie inside the labelled interval', () => {
    const spike = groundTruth.find((g) => g.kind === 'spike')!;
    expect(spike).toMatchObject({ device: 'dev-a', sensor: 'temp', start: scenario.start + 2000, end: scenario.start + 2500 });
    const high = readers.kv!.lines().map((l) => Object.fromEntries(l.split(',').map((p) => p.split('=')))).filter((kv) => Number(kv.temp) > 40);
    expect(high).toHaveLength(5);
    for (const kv of high) expect(Number(kv.ts) >= spike.start && Number(kv.ts) < spike.end).toBe(true);
  });

  it('csv: time column then values in channel order', () => {
    const lines = readers.csv!.lines();
    expect(lines).toHaveLength(50);
    const power = samplesOf('power');
    const vib = samplesOf('vib');
    lines.forEach((line, i) => expect(line).toBe(`${power[i]!.ts},${power[i]!.value.toFixed(0)},${vib[i]!.value.toFixed(2)}`));
  });

  it('jsonl: one JSON object per LF line, a channel in dropout left out', () => {
    const raw = readers.json!.bytes().toString('latin1');
    expect(raw.includes('\r')).toBe(false);
    const objs = raw.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number>);
    expect(objs).toHaveLength(50);
    expect(objs.filter((o) => !('press' in o))).toHaveLength(10);
    expect(objs.map((o) => o.co2)).toEqual(samplesOf('co2').map((s) => s.value));
    expect(objs.filter((o) => 'press' in o).map((o) => o.press)).toEqual(samplesOf('press').map((s) => s.value));
  });

  it('nmea: XDR sentences with a correct XOR checksum', () => {
    const lines = readers.nmea!.lines();
    expect(lines).toHaveLength(50);
    const t2 = samplesOf('t2');
    lines.forEach((line, i) => {
      const m = /^\$(WIXDR,[^*]*)\*([0-9A-F]{2})$/.exec(line);
      expect(m).not.toBeNull();
      expect(m![2]).toBe(nmeaChecksum(m![1]!));
      const f = m![1]!.split(',');
      expect(f.slice(1, 5)).toEqual(['C', t2[i]!.value.toFixed(2), 'C', 't2']);
      expect([f[5], f[7], f[8]]).toEqual(['H', 'P', 'h2']);
      expect([f[9], f[11], f[12]]).toEqual(['P', 'B', 'p2']);
    });
  });
});
