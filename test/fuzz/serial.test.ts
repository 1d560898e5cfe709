// Hostile bytes on a real serial port (a pty) into a running edge agent: a Modbus slave answering
// with bad CRCs, wrong lengths, wrong unit ids, truncated and overlong frames and noise, and a
// text board writing garbage and an endless line. The agent counts each as a bad frame, never
// crashes or stops polling, and once the device behaves its readings arrive, exact.
import fc from 'fast-check';
import { cleanupAll, PtyPair, waitFor } from '@fieldline/harness';
import { startEdge } from '@fieldline/edge';
import { SerialPort } from 'serialport';
import { afterAll, describe, expect, it } from 'vitest';
import { quietLogger, TestBroker, testConfig } from '../../edge/test/helpers.js';
import { runs, TEST_TIMEOUT } from './profile.js';

afterAll(() => cleanupAll());

/** CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), low byte first on the wire. */
function crc16(b: Buffer): number {
  let crc = 0xffff;
  for (const x of b) {
    crc ^= x;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}
const withCrc = (b: Buffer): Buffer => {
  const c = Buffer.alloc(2);
  c.writeUInt16LE(crc16(b));
  return Buffer.concat([b, c]);
};

/** The correct answer to a read request (FC 03/04): `count` registers, each `value` (a uint16). */
function answer(req: Buffer, value: number): Buffer {
  const count = req.readUInt16BE(4);
  const body = Buffer.alloc(3 + 2 * count);
  body[0] = req[0]!;
  body[1] = req[1]!;
  body[2] = 2 * count;
  for (let i = 0; i < count; i++) body.writeUInt16BE(value, 3 + 2 * i);
  return withCrc(body);
}

const hostileAnswer = fc.oneof(
  fc.constant('bad-crc' as const),
  fc.constant('wrong-unit' as const),
  fc.constant('byte-count' as const),
  fc.constant('truncated' as const),
  fc.constant('overlong' as const),
  fc.constant('exception' as const),
  fc.constant('silence' as const),
  fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b)),
);

function hostile(kind: typeof hostileAnswer extends fc.Arbitrary<infer K> ? K : never, req: Buffer): Buffer {
  const good = answer(req, 1234);
  if (Buffer.isBuffer(kind)) return kind;
  switch (kind) {
    case 'bad-crc':
      return Buffer.concat([good.subarray(0, -2), Buffer.from([good.at(-2)! ^ 0xff, good.at(-1)!])]);
    case 'wrong-unit':
      return withCrc(Buffer.concat([Buffer.from([(req[0]! + 1) & 0xff]), good.subarray(1, -2)]));
    case 'byte-count':
      return withCrc(Buffer.concat([good.subarray(0, 2), Buffer.from([good[2]! + 2]), good.subarray(3, -2)]));
    case 'truncated':
      return good.subarray(0, Math.max(1, good.length - 3));
    case 'overlong':
      return Buffer.concat([good, Buffer.alloc(400, 0x55)]);
    case 'exception':
      return withCrc(Buffer.from([req[0]!, req[1]! | 0x80, 0x04]));
    case 'silence':
      return Buffer.alloc(0);
  }
}

describe('hostile bytes on a serial port, into a running edge agent', () => {
  it('Modbus: bad CRCs, lengths, unit ids, truncated, overlong, exceptions, noise: counted, polling goes on, then exact readings', async () => {
    const broker = await TestBroker.start();
    const pty = await PtyPair.create();
    const board = new SerialPort({ path: pty.devicePath, baudRate: 19200, autoOpen: false });
    board.on('error', () => undefined);
    await new Promise<void>((res, rej) => board.open((e) => (e ? rej(e) : res())));
    const answers = fc.sample(hostileAnswer, { numRuns: runs(60, 600), seed: 1130 });
    let served = 0;
    let pending = Buffer.alloc(0);
    board.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 8) {
        const req = pending.subarray(0, 8);
        pending = pending.subarray(8);
        const k = served++;
        const out = k < answers.length ? hostile(answers[k]!, req) : answer(req, 4321);
        if (out.length) board.write(out);
      }
    });
    const cfg = testConfig(broker.url, {
      ports: [{ id: 'mb', path: pty.hostPath, baudRate: 19200, driver: 'modbus', options: { unitId: 7, pollMs: 20, timeoutMs: 100, registers: [{ channel: 'v', address: 0, type: 'int16' }] }, channels: { v: { sensor: 'v' } } }],
    });
    const edge = await startEdge(cfg, { logger: quietLogger() });
    try {
      await waitFor(() => served > answers.length + 5 && broker.readings().some((r) => r.value === 4321), { timeoutMs: 120_000, what: 'the hostile answers served, then a good reading' });
      const bad = Object.values(edge.health().ports.mb!.bad_frames).reduce((a, b) => a + (b ?? 0), 0);
      expect(bad).toBeGreaterThan(answers.length / 3);
      // Only the good value, or the hostile one behind a valid frame (a well-formed answer is data).
      expect(new Set(broker.readings().map((r) => r.value))).toEqual(new Set(broker.readings().some((r) => r.value === 1234) ? [1234, 4321] : [4321]));
      const before = broker.readings().filter((r) => r.value === 4321).length;
      await waitFor(() => broker.readings().filter((r) => r.value === 4321).length > before + 5, { timeoutMs: 20_000, what: 'polling goes on' });
    } finally {
      await edge.close();
      await new Promise<void>((r) => board.close(() => r()));
      await pty.close();
      await broker.close();
    }
  }, TEST_TIMEOUT);

  it('text-kv: garbage, NULs, an endless line (1 MiB with no newline): counted, and the next good lines arrive, exact', async () => {
    const broker = await TestBroker.start();
    const pty = await PtyPair.create();
    const board = new SerialPort({ path: pty.devicePath, baudRate: 115_200, autoOpen: false });
    board.on('error', () => undefined);
    await new Promise<void>((res, rej) => board.open((e) => (e ? rej(e) : res())));
    const cfg = testConfig(broker.url, { ports: [{ id: 'kv', path: pty.hostPath, baudRate: 115_200, driver: 'text-kv', channels: { t: { sensor: 't' } } }] });
    const edge = await startEdge(cfg, { logger: quietLogger() });
    const write = (b: Buffer | string): Promise<void> => new Promise((r) => board.write(b, () => board.drain(() => r())));
    try {
      await waitFor(() => edge.health().ports.kv?.open === true, { what: 'port open' });
      const garbage = fc.sample(fc.uint8Array({ maxLength: 200 }), { numRuns: runs(40, 400), seed: 1131 });
      for (const g of garbage) await write(Buffer.from(g));
      await write(Buffer.alloc(1 << 20, 0x41));
      await write('\r\n');
      for (let i = 0; i < 20; i++) await write(`t=${i}.5\r\n`);
      await waitFor(() => broker.readings().filter((r) => r.sensor === 't' && r.value >= 0 && r.value < 20 && r.value % 1 === 0.5).length === 20, { timeoutMs: 30_000, what: 'the 20 good lines' });
      const bad = edge.health().ports.kv!.bad_frames;
      expect(bad.over_long ?? 0).toBeGreaterThanOrEqual(1);
      expect(broker.readings().filter((r) => r.sensor === 't').slice(-20).map((r) => r.value)).toEqual(Array.from({ length: 20 }, (_, i) => i + 0.5));
    } finally {
      await edge.close();
      await new Promise<void>((r) => board.close(() => r()));
      await pty.close();
      await broker.close();
    }
  }, TEST_TIMEOUT);
});
