import { cleanupAll, sleep, waitFor } from '@fieldline/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc16, generateSamples, loadScenario, startSimulation, withCrc, type Simulation } from '../src/index.js';
import { openReader, type TtyReader } from './helpers.js';

const yaml = `name: modbus
start: 2025-01-01T00:00:00Z
duration: 1h
devices:
  - id: plant
    boards:
      - id: press
        protocol: modbus
        baud: 19200
        hz: 10
        unitId: 7
        channels:
          - { name: vib, model: vibration }
          - { name: oil-temp, model: temperature, register: int16, scale: 10, quantum: 0.1 }
          - { name: power, model: power }
`;

/** The edge's side: a Modbus master on the real tty, through serialport. */
describe('Modbus RTU slave on a real tty', () => {
  const scenario = loadScenario(yaml);
  const expected = [...generateSamples(scenario, { seed: 2, until: scenario.start + 1000 })];
  let sim: Simulation;
  let master: TtyReader;
  let consumed = 0;

  const request = (unit: number, fc: number, addr: number, qty: number): Buffer => withCrc([unit, fc, addr >> 8, addr & 0xff, qty >> 8, qty & 0xff]);
  async function poll(req: Buffer, expectBytes: number): Promise<Buffer> {
    master.port.write(req);
    const res = await waitFor(() => (master.bytes().length >= consumed + expectBytes ? master.bytes().subarray(consumed, consumed + expectBytes) : null), { what: 'a modbus response' });
    consumed += expectBytes;
    return res;
  }
  const crcOk = (res: Buffer): boolean => crc16(res, res.length - 2) === res.readUInt16LE(res.length - 2);

  beforeAll(async () => {
    // Fast mode: each answered poll advances one tick, so answers are deterministic.
    sim = await startSimulation(scenario, { seed: 2, realtime: false });
    master = await openReader(sim.boards[0]!.path);
    expect(sim.boards[0]).toMatchObject({ protocol: 'modbus', unitId: 7, channels: ['vib', 'oil-temp', 'power'] });
  });

  afterAll(async () => {
    await master?.close();
    await sim?.close();
    cleanupAll();
  });

  it('FC 04 returns float32 (ABCD) and int16 registers with a valid CRC', async () => {
    const res = await poll(request(7, 4, 0, 6), 3 + 12 + 2);
    expect([...res.subarray(0, 3)]).toEqual([7, 4, 12]);
    expect(crcOk(res)).toBe(true);
    const tick0 = expected.filter((s) => s.ts === scenario.start);
    expect(res.readFloatBE(3)).toBeCloseTo(tick0[0]!.value, 5);
    expect(res.readInt16BE(7) / 10).toBe(tick0[1]!.value);
    expect(res.readUInt16BE(9)).toBe(0);
    expect(res.readFloatBE(11)).toBe(Math.fround(tick0[2]!.value));
  });

  it('FC 03 mirrors the same map (next tick)', async () => {
    const res = await poll(request(7, 3, 2, 1), 3 + 2 + 2);
    expect([...res.subarray(0, 3)]).toEqual([7, 3, 2]);
    expect(crcOk(res)).toBe(true);
    expect(res.readInt16BE(3) / 10).toBe(expected.filter((s) => s.sensor === 'oil-temp')[1]!.value);
  });

  it('a bad CRC and another unit id get no answer; the next good request does', async () => {
    const bad = request(7, 4, 0, 2);
    bad[7]! ^= 0xff;
    master.port.write(bad);
    master.port.write(request(9, 4, 0, 2));
    await sleep(300);
    expect(master.bytes().length).toBe(consumed);
    const res = await poll(request(7, 4, 0, 2), 3 + 4 + 2);
    expect(crcOk(res)).toBe(true);
  });

  it('an unknown register gives exception 02, an unknown function exception 01', async () => {
    const ex2 = await poll(request(7, 4, 4, 4), 5);
    expect([...ex2.subarray(0, 3)]).toEqual([7, 0x84, 2]);
    expect(crcOk(ex2)).toBe(true);
    const ex1 = await poll(request(7, 6, 0, 1), 5);
    expect([...ex1.subarray(0, 3)]).toEqual([7, 0x86, 1]);
    expect(crcOk(ex1)).toBe(true);
  });

  it('stats count the answered polls', () => {
    expect(sim.stats()[0]!.polls).toBe(5);
    expect(sim.stats()[0]!.badCrc).toBeGreaterThan(0);
  });
});
