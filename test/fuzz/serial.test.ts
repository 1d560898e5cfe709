// Hostile bytes on a real serial port (a pty) into a running edge agent: a Modbus slave answering
// with bad CRCs, wrong lengths, wrong unit ids, truncated and overlong frames, exceptions, silence
// and noise. The agent counts each as a bad frame, never crashes or stops polling, and once the
// device behaves its readings arrive, exact. The line drivers: serial-lines.test.ts.
import fc from 'fast-check';
import { cleanupAll, PtyPair, waitFor } from '@fieldline/harness';
import { startEdge } from '@fieldline/edge';
import { afterAll, describe, expect, it } from 'vitest';
import { quietLogger, TestBroker, testConfig } from '../../edge/test/helpers.js';
import { answer, scriptedBoard, withCrc } from '../../edge/test/modbus-board.js';
import { runs, TEST_TIMEOUT } from './profile.js';

afterAll(() => cleanupAll());

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
    const answers = fc.sample(hostileAnswer, { numRuns: runs(60, 600), seed: 1130 });
    const board = await scriptedBoard(pty.devicePath, 19200, (req, k) => (k < answers.length ? hostile(answers[k]!, req) : answer(req, 4321)));
    const cfg = testConfig(broker.url, {
      ports: [{ id: 'mb', path: pty.hostPath, baudRate: 19200, driver: 'modbus', options: { unitId: 7, pollMs: 20, timeoutMs: 80, settleMs: 10, registers: [{ channel: 'v', address: 0, type: 'int16' }] }, channels: { v: { sensor: 'v' } } }],
    });
    const edge = await startEdge(cfg, { logger: quietLogger() });
    try {
      await waitFor(() => board.served > answers.length + 5 && broker.readings().some((r) => r.value === 4321), { timeoutMs: TEST_TIMEOUT - 40_000, what: 'the hostile answers served, then a good reading' });
      const bad = Object.values(edge.health().ports.mb!.bad_frames).reduce((a, b) => a + (b ?? 0), 0);
      expect(bad).toBeGreaterThan(answers.length / 3);
      // Only the good value, or the hostile one behind a valid frame (a well-formed answer is data).
      expect(new Set(broker.readings().map((r) => r.value))).toEqual(new Set(broker.readings().some((r) => r.value === 1234) ? [1234, 4321] : [4321]));
      const before = broker.readings().filter((r) => r.value === 4321).length;
      await waitFor(() => broker.readings().filter((r) => r.value === 4321).length > before + 5, { timeoutMs: 20_000, what: 'polling goes on' });
    } finally {
      await edge.close();
      await board.close();
      await pty.close();
      await broker.close();
    }
  }, TEST_TIMEOUT);
});
