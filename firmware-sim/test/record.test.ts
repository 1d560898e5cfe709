// The record of what was sent (`record`, `--record`): the ledger's input in the fault suite.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupAll, tempDir } from '@fieldline/harness';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSamples, loadScenario, startSimulation, type SentReading } from '../src/index.js';
import { openReader, settle } from './helpers.js';

const yaml = `name: record
start: 2025-01-01T00:00:00Z
duration: 5s
devices:
  - id: dev-r
    boards:
      - id: kv
        protocol: text-kv
        hz: 10
        timestamps: true
        clock: { jumpBack: { at: 2s, by: 1h, correctedAfter: 1s } }
        channels:
          - { name: temp, model: temperature }
          - { name: hum, model: humidity }
      - id: js
        protocol: jsonl
        hz: 5
        channels:
          - { name: co2, model: co2 }
`;

describe('firmware-sim record', () => {
  afterAll(() => cleanupAll());

  it('lists every reading written, with the time the frame carries and the value as printed', async () => {
    const scenario = loadScenario(yaml);
    const record = join(tempDir('rec'), 'sent.jsonl');
    const sim = await startSimulation(scenario, { seed: 3, realtime: false, paused: true, record });
    const readers = await Promise.all(sim.boards.map((b) => openReader(b.path)));
    sim.resume();
    await sim.done;
    await settle(readers);
    await Promise.all(readers.map((r) => r.close()));
    await sim.close();
    const sent = readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SentReading);
    const key = (r: { device: string; sensor: string; ts: number }): string => `${r.device}/${r.sensor}`;
    const samples = [...generateSamples(scenario, { seed: 3, until: scenario.start + 5000 })];
    expect(sent).toHaveLength(samples.length);
    // Values as the generator gives them (the printed decimals), per sensor in order.
    for (const s of ['temp', 'hum', 'co2']) {
      expect(sent.filter((r) => r.sensor === s).map((r) => r.value)).toEqual(samples.filter((x) => x.sensor === s).map((x) => x.value));
    }
    // The kv board's clock jumps back an hour at 2 s for 1 s: the record says what the frame said.
    const temp = sent.filter((r) => key(r) === 'dev-r/temp').map((r) => r.ts - scenario.start);
    expect(temp.slice(19, 31)).toEqual([1900, 2000 - 3_600_000, 2100 - 3_600_000, 2200 - 3_600_000, 2300 - 3_600_000, 2400 - 3_600_000, 2500 - 3_600_000, 2600 - 3_600_000, 2700 - 3_600_000, 2800 - 3_600_000, 2900 - 3_600_000, 3000]);
    // The jsonl board has no timestamps: the tick's event time.
    expect(sent.filter((r) => r.sensor === 'co2').map((r) => r.ts - scenario.start).slice(0, 3)).toEqual([0, 200, 400]);
  });

  it('halt: nothing more is written or recorded, the ports stay open and what was written reaches the reader', async () => {
    const scenario = loadScenario(yaml.replace('duration: 5s', 'duration: 10m'));
    const record = join(tempDir('rec'), 'sent.jsonl');
    const sim = await startSimulation(scenario, { seed: 3, realtime: true, speed: 1, paused: true, record });
    const readers = await Promise.all(sim.boards.map((b) => openReader(b.path)));
    sim.resume();
    await new Promise((r) => setTimeout(r, 800));
    sim.halt();
    await sim.done;
    const recorded = readFileSync(record, 'utf8').trim().split('\n').length;
    await new Promise((r) => setTimeout(r, 600));
    expect(readFileSync(record, 'utf8').trim().split('\n').length).toBe(recorded);
    expect(recorded).toBeGreaterThan(5);
    await settle(readers);
    const lines = readers.map((r) => r.bytes().toString('latin1').split(/\r?\n/).filter((l) => l.trim()).length);
    await Promise.all(readers.map((r) => r.close()));
    await sim.close();
    // kv frames carry 2 readings, jsonl frames 1: every recorded reading was read.
    expect(lines[0]! * 2 + lines[1]!).toBe(recorded);
  });
});
