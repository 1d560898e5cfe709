// A Modbus slave that answers badly, late or not at all, scripted byte by byte on a real pty: the
// driver counts every failure, never stops polling the port, and reads the slave again as soon as
// it answers correctly.
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, PtyPair, waitFor } from '@fieldline/harness';
import { startEdge, type Edge } from '../../index.js';
import { quietLogger, TestBroker, testConfig } from '../../../test/helpers.js';
import { answer, scriptedBoard, type Reply, type ScriptedBoard } from '../../../test/modbus-board.js';

afterAll(() => cleanupAll());

interface Rig {
  broker: TestBroker;
  board: ScriptedBoard;
  edge: Edge;
  close(): Promise<void>;
}

async function rig(options: Record<string, unknown>, channels: string[], reply: (req: Buffer, n: number) => Reply): Promise<Rig> {
  const broker = await TestBroker.start();
  const pty = await PtyPair.create();
  const board = await scriptedBoard(pty.devicePath, 19200, reply);
  const cfg = testConfig(broker.url, {
    ports: [{ id: 'mb', path: pty.hostPath, baudRate: 19200, driver: 'modbus', options: { unitId: 7, ...options }, channels: Object.fromEntries(channels.map((c) => [c, { sensor: c }])) }],
  });
  const edge = await startEdge(cfg, { logger: quietLogger() });
  return {
    broker,
    board,
    edge,
    close: async () => {
      await edge.close();
      await board.close();
      await pty.close();
      await broker.close();
    },
  };
}

const badCrc = (good: Buffer): Buffer => Buffer.concat([good.subarray(0, -2), Buffer.from([good.at(-2)! ^ 0xff, good.at(-1)!])]);

describe('modbus driver against a hostile slave', () => {
  it('keeps polling at its period through 60 bad answers (no reopen, no backoff), counts each, then reads the good value', async () => {
    // Before the fix every 3 bad answers reopened the port with a backoff that grew to 10 s and
    // only reset on a good answer: 60 bad answers kept the port closed for minutes.
    const BAD = 60;
    const started = Date.now();
    const r = await rig({ pollMs: 20, timeoutMs: 200, registers: [{ channel: 'v', address: 0, type: 'int16' }] }, ['v'], (req, n) => (n < BAD ? badCrc(answer(req, 1234)) : answer(req, 4321)));
    try {
      await waitFor(() => r.broker.readings().some((x) => x.value === 4321), { timeoutMs: 20_000, what: 'the good reading after the bad answers' });
      const took = Date.now() - started;
      const port = r.edge.health().ports.mb!;
      expect(port.bad_frames.modbus_error).toBeGreaterThanOrEqual(BAD);
      expect(port.reopens).toBe(0);
      expect(port.silent).toBe(0);
      expect(r.broker.readings().every((x) => x.value === 4321)).toBe(true);
      // 60 polls at 20 ms + a 50 ms settle after each failure: a few seconds even on a loaded machine.
      expect(took).toBeLessThan(15_000);
    } finally {
      await r.close();
    }
  });

  it('never reads a late answer as the next request\'s: it settles after a timeout and discards stale bytes', async () => {
    // Register a (address 0) answers 20 ms after the 500 ms timeout for the first 8 polls; b
    // (address 1) always answers after 60 ms. Before the fix b's request went out at the timeout,
    // so a's late answer (same length, unit and function code) was taken as b's value. RTU frames
    // carry no transaction id, so the test's margins are time: a 600 ms settle for an answer 20 ms
    // late, 440 ms before b's answer would be late. (With 200 ms and 240 ms it failed once under a
    // full test run: socat, which carries the bytes, was descheduled that long.)
    let aRequests = 0;
    const r = await rig(
      { pollMs: 50, timeoutMs: 500, settleMs: 600, registers: [{ channel: 'a', address: 0, type: 'int16' }, { channel: 'b', address: 1, type: 'int16' }] },
      ['a', 'b'],
      (req) => {
        const reg = req.readUInt16BE(2);
        const bytes = answer(req, (i) => (i === 0 ? 100 : 200));
        if (reg === 0) return aRequests++ < 8 ? { bytes, delayMs: 520 } : bytes;
        return { bytes, delayMs: 60 };
      },
    );
    try {
      await waitFor(() => r.broker.readings().filter((x) => x.sensor === 'a').length >= 3 && aRequests > 10, { timeoutMs: 30_000, what: 'a read after its late phase' });
      const values = (sensor: string): Set<number> => new Set(r.broker.readings().filter((x) => x.sensor === sensor).map((x) => x.value));
      expect(values('a')).toEqual(new Set([100]));
      expect(values('b')).toEqual(new Set([200]));
      expect(r.edge.health().ports.mb!.bad_frames.modbus_error).toBeGreaterThanOrEqual(8);
    } finally {
      await r.close();
    }
  });

  it('a silent slave is counted and the port reopened with bounded backoff; its first answers are read within the bound', async () => {
    let answering = false;
    const r = await rig({ pollMs: 20, timeoutMs: 100, registers: [{ channel: 'v', address: 0, type: 'int16' }] }, ['v'], (req) => (answering ? answer(req, 4321) : undefined));
    try {
      await waitFor(() => r.edge.health().ports.mb!.silent >= 2, { timeoutMs: 15_000, what: 'the silent-slave watchdog' });
      await new Promise((res) => setTimeout(res, 4000));
      answering = true;
      const back = Date.now();
      await waitFor(() => r.broker.readings().some((x) => x.value === 4321), { timeoutMs: 20_000, what: 'a reading once the slave answers' });
      // The reopen backoff is capped at 10 s (then a poll and the uplink's batching).
      expect(Date.now() - back).toBeLessThan(12_000);
      expect(r.edge.health().ports.mb!.bad_frames.modbus_error).toBeGreaterThanOrEqual(6);
    } finally {
      await r.close();
    }
  });
});
