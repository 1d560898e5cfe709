// Hostile bytes on a real serial port (a pty) into a running edge agent, for every line driver:
// random bytes, NULs, printable noise, near-valid frames with one byte changed, and endless lines
// (no newline for far longer than the port's maxFrameBytes). After each case a good frame still
// gives its reading, every bad one is counted, and a well-behaved board on another port of the
// same agent, writing all the while, is read exactly: nothing missing, doubled, altered or reordered.
import fc from 'fast-check';
import { cleanupAll, PtyPair, waitFor } from '@fieldline/harness';
import { driverIds, getDriver, startEdge } from '@fieldline/edge';
import { SerialPort } from 'serialport';
import { afterAll, describe, expect, it } from 'vitest';
import { quietLogger, TestBroker, testConfig } from '../../edge/test/helpers.js';
import { LINE_SAMPLES } from '../../edge/test/line-samples.js';
import { FULL, runs, TEST_TIMEOUT } from './profile.js';

afterAll(() => cleanupAll());

const MAX_FRAME = 512;

/** A board on the device side of a pty; `write` resolves once the bytes are handed to the pty. */
async function board(path: string): Promise<{ write(b: Buffer | string): Promise<void>; close(): Promise<void> }> {
  const port = new SerialPort({ path, baudRate: 115_200, autoOpen: false });
  port.on('error', () => undefined);
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  return {
    write: (b) => new Promise((r) => port.write(b, () => port.drain(() => r()))),
    close: () => new Promise((r) => (port.isOpen ? port.close(() => r()) : r())),
  };
}

/** One hostile case: bytes, and how many endless (over-long) lines they hold. */
interface Case {
  bytes: Buffer;
  endless: number;
}

function hostileCase(line: (v: number) => string): fc.Arbitrary<Case> {
  const good = Buffer.from(line(7.25));
  const bytes = (b: Buffer): Case => ({ bytes: b, endless: 0 });
  return fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((b) => bytes(Buffer.from(b))),
    fc.string({ unit: 'binary', maxLength: 200 }).map((s) => bytes(Buffer.from(s, 'latin1'))),
    fc.constant(bytes(Buffer.alloc(64, 0))),
    // A valid frame with one byte replaced (a flipped bit on the wire).
    fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, b]) => {
      const m = Buffer.from(good);
      m[at] = b;
      return bytes(m);
    }),
    // An endless line: a frame's start followed by more than maxFrameBytes with no newline.
    fc.tuple(fc.integer({ min: MAX_FRAME + 2, max: FULL ? 64 * MAX_FRAME : 8 * MAX_FRAME }), fc.constantFrom(0x41, 0x31, 0x24, 0x2c)).map(([n, fill]) => ({
      bytes: Buffer.concat([good.subarray(0, 3), Buffer.alloc(n, fill)]),
      endless: 1,
    })),
  );
}

const lineDrivers = driverIds().filter((id) => getDriver(id)?.kind === 'line');

describe('hostile bytes on a serial port, into a running edge agent, for every line driver', () => {
  it('covers every line driver', () => {
    expect([...lineDrivers].sort()).toEqual(Object.keys(LINE_SAMPLES).sort());
  });

  lineDrivers.forEach((id, n) => {
    it(`${id}: garbage and endless lines are counted, the next good frame is read, a board beside it is exact`, async () => {
      const sample = LINE_SAMPLES[id]!;
      const broker = await TestBroker.start();
      const hostilePty = await PtyPair.create();
      const goodPty = await PtyPair.create();
      const port = (pid: string, path: string, sensor: string): Record<string, unknown> => ({ id: pid, path, baudRate: 115_200, driver: id, options: sample.options, maxFrameBytes: MAX_FRAME, channels: { temp: { sensor } } });
      const cfg = testConfig(broker.url, { ports: [port('bad', hostilePty.hostPath, 'bad-temp'), port('good', goodPty.hostPath, 'good-temp')] });
      const edge = await startEdge(cfg, { logger: quietLogger() });
      const hostile = await board(hostilePty.devicePath);
      const good = await board(goodPty.devicePath);
      const values = (sensor: string): number[] => broker.readings().filter((r) => r.sensor === sensor).map((r) => r.value);
      let written = 0;
      let stop = false;
      try {
        await waitFor(() => edge.health().ports.bad?.open === true && edge.health().ports.good?.open === true, { what: 'both ports open' });
        // The well-behaved board: one frame every 5 ms while the other port is fuzzed.
        const steady = (async () => {
          while (!stop) {
            await good.write(sample.line(written++ + 0.5));
            await new Promise((r) => setTimeout(r, 5));
          }
        })();
        const cases = fc.sample(hostileCase(sample.line), { numRuns: runs(25, 250), seed: 1140 + n });
        // The first case is always a 1 MiB line (4 MiB in the full profile) without a newline.
        cases.unshift({ bytes: Buffer.alloc((FULL ? 4 : 1) << 20, 0x41), endless: 1 });
        const markers: number[] = [];
        let endless = 0;
        for (const [k, c] of cases.entries()) {
          await hostile.write(c.bytes);
          endless += c.endless;
          // Marker values end in .125: garbage is very unlikely to parse into one.
          const marker = 1000 + k + 0.125;
          markers.push(marker);
          await hostile.write(`\n${sample.line(marker)}`);
          await waitFor(() => values('bad-temp').includes(marker), { timeoutMs: 10_000, intervalMs: 5, what: `${id} case ${k}: the good frame after it` });
        }
        stop = true;
        await steady;
        await waitFor(() => values('good-temp').length >= written, { timeoutMs: 15_000, what: `all ${written} frames of the well-behaved board` });
        expect(values('good-temp')).toEqual(Array.from({ length: written }, (_, i) => i + 0.5));
        expect(values('bad-temp').filter((v) => markers.includes(v))).toEqual(markers);
        const health = edge.health();
        const bad = health.ports.bad!.bad_frames;
        expect(bad.over_long ?? 0).toBeGreaterThanOrEqual(endless);
        expect(Object.values(bad).reduce((a, b) => a + (b ?? 0), 0)).toBeGreaterThanOrEqual(cases.length / 3);
        expect(health.ports.good!.bad_frames).toEqual({});
        expect(health.ports.bad!.reopens + health.ports.good!.reopens).toBe(0);
      } finally {
        stop = true;
        await edge.close();
        await hostile.close();
        await good.close();
        await hostilePty.close();
        await goodPty.close();
        await broker.close();
      }
    }, TEST_TIMEOUT);
  });
});
