import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { driverIds, FrameError, getDriver, LineFramer, type LineDriverSpec } from '../src/index.js';
import { LINE_SAMPLES } from './line-samples.js';

const validFrame: Record<string, string> = Object.fromEntries(Object.entries(LINE_SAMPLES).map(([id, s]) => [id, s.line(1.5)]));

/** Feeds bytes (in the given chunks) through the framer and the driver exactly as a port does. */
function run(spec: LineDriverSpec, chunks: Uint8Array[]): { frames: number; bad: number } {
  const parse = spec.create(spec.options.parse(LINE_SAMPLES[spec.id]?.options ?? {}));
  const out = { frames: 0, bad: 0 };
  const framer = new LineFramer(
    64,
    (line) => {
      try {
        parse(line);
        out.frames += 1;
      } catch (err) {
        // Parsers may only fail with a counted FrameError, never anything else.
        if (!(err instanceof FrameError)) throw err;
        out.bad += 1;
      }
    },
    () => void (out.bad += 1),
    spec.startByte,
  );
  for (const c of chunks) framer.push(Buffer.from(c));
  return out;
}

describe('every line driver survives any byte sequence', () => {
  const lineDrivers = driverIds().map((id) => getDriver(id)!).filter((d): d is LineDriverSpec => d.kind === 'line');

  it('covers all line drivers', () => {
    expect(lineDrivers.map((d) => d.id).sort()).toEqual(Object.keys(validFrame).sort());
  });

  for (const spec of lineDrivers) {
    it(`${spec.id}: random bytes never throw, and a valid frame after a newline always parses`, () => {
      expect(run(spec, [Buffer.from(validFrame[spec.id]!)])).toEqual({ frames: 1, bad: 0 });
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 8 }), (chunks) => {
          const tail = Buffer.from(`\n${validFrame[spec.id]}`);
          const res = run(spec, [...chunks, tail]);
          expect(res.frames).toBeGreaterThanOrEqual(1);
        }),
        { numRuns: 300 },
      );
      fc.assert(
        fc.property(fc.string({ maxLength: 120 }), (text) => {
          run(spec, [Buffer.from(`${text}\n`)]);
        }),
        { numRuns: 300 },
      );
    });
  }
});
