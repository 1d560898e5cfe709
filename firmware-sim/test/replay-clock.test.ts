import { fileURLToPath } from 'node:url';
import { cleanupAll, waitFor } from '@fieldline/harness';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSamples, loadScenario, readReplayCsv, startSimulation } from '../src/index.js';
import { openReader, settle } from './helpers.js';

// A NAB series copied into the repo with its licence (test/fixtures/nab), so a clone alone runs this.
const nab = fileURLToPath(new URL('../../test/fixtures/nab/artificialWithAnomaly/art_daily_jumpsup.csv', import.meta.url));

const kv = (line: string): Record<string, string> => Object.fromEntries(line.split(',').map((p) => p.split('=') as [string, string]));

describe('replay sensors', () => {
  afterAll(() => cleanupAll());

  it('replays a NAB CSV in real time at a speed-up, keeping the file timestamps as event time', async () => {
    const rows = readReplayCsv(nab);
    expect(rows[0]).toEqual({ ts: Date.parse('2014-04-01T00:00:00Z'), value: 19.761251902999998, text: '19.761251902999998' });
    // 5-minute rows at 3000× arrive every 100 ms; 1.5 s of run time covers the first 15.
    const scenario = loadScenario(`name: replay
duration: 1500ms
devices:
  - id: hvac
    boards:
      - id: ambient
        protocol: jsonl
        channels:
          - { name: amb-temp, model: replay, file: ${nab}, speed: 3000 }
`);
    const sim = await startSimulation(scenario, { seed: 1, paused: true });
    const reader = await openReader(sim.boards[0]!.path);
    const t0 = Date.now();
    sim.resume();
    await sim.done;
    const wallMs = Date.now() - t0;
    await settle([reader]);
    await reader.close();
    await sim.close();
    const lines = reader.bytes().toString('latin1').split('\n').filter(Boolean);
    expect(wallMs).toBeGreaterThan(1200);
    expect(lines).toHaveLength(15);
    lines.forEach((l, i) => expect(l).toBe(`{"ts":${rows[i]!.ts},"amb-temp":${rows[i]!.text}}`));
    expect([...generateSamples(scenario, { seed: 1 })].map((s) => [s.ts, s.value])).toEqual(rows.slice(0, 15).map((r) => [r.ts, r.value]));
  });
});

describe('board clock and unplug faults', () => {
  afterAll(() => cleanupAll());

  it('a board clock boots at 1970, is set, jumps back an hour and is corrected', async () => {
    const scenario = loadScenario(`name: clock
start: 2025-05-05T00:00:00Z
duration: 6s
devices:
  - id: rtcless
    boards:
      - id: b
        protocol: text-kv
        hz: 10
        timestamps: true
        clock:
          bootAt1970: { syncAfter: 2s }
          jumpBack: { at: 3s, by: 1h, correctedAfter: 1s }
        channels:
          - { name: temp, model: temperature }
`);
    const sim = await startSimulation(scenario, { seed: 1, realtime: false, paused: true });
    const reader = await openReader(sim.boards[0]!.path);
    sim.resume();
    await sim.done;
    await settle([reader]);
    await reader.close();
    await sim.close();
    const ts = reader.lines().map((l) => Number(kv(l).ts));
    expect(ts).toHaveLength(60);
    const t0 = scenario.start;
    ts.forEach((t, i) => {
      const event = t0 + i * 100;
      if (i < 20) expect(t).toBe(i * 100);
      else if (i >= 30 && i < 40) expect(t).toBe(event - 3_600_000);
      else expect(t).toBe(event);
    });
  });

  it('an unplug fault makes the tty vanish and come back at the same path', async () => {
    const scenario = loadScenario(`name: unplug
start: 2025-05-05T00:00:00Z
duration: 4s
devices:
  - id: usb
    boards:
      - id: b
        protocol: text-kv
        hz: 20
        timestamps: true
        channels:
          - { name: temp, model: temperature }
        faults:
          - { kind: unplug, at: 1s, duration: 1s }
`);
    const sim = await startSimulation(scenario, { seed: 1, paused: true });
    const path = sim.boards[0]!.path;
    const first = await openReader(path);
    let closed = false;
    first.port.on('close', () => (closed = true));
    sim.resume();
    await waitFor(() => closed, { what: 'the port to vanish', timeoutMs: 5000 });
    const second = await waitFor(() => openReader(path), { what: 'reopening the tty', timeoutMs: 5000 });
    await sim.done;
    await settle([second]);
    await second.close();
    await sim.close();
    const t0 = scenario.start;
    const before = first.lines().filter((l) => l.startsWith('ts=')).map((l) => Number(kv(l).ts) - t0);
    const after = second.lines().filter((l) => l.startsWith('ts=')).map((l) => Number(kv(l).ts) - t0);
    expect(sim.stats()[0]!.unplugs).toBe(1);
    expect(before.length).toBeGreaterThan(10);
    expect(Math.max(...before)).toBeLessThan(1000);
    expect(after.some((t) => t >= 3000)).toBe(true);
    expect([...before, ...after].some((t) => t >= 1000 && t < 2000)).toBe(false);
  });
});
