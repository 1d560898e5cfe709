import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameGuard } from '../src/frame-guard.js';
import { TokenBucket } from '../src/rate-limit.js';

function frame(bodyLength: number): Buffer {
  const len: number[] = [];
  let n = bodyLength;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    len.push(b);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x30, ...len]), Buffer.alloc(bodyLength, 0x61)]);
}

describe('FrameGuard (maximumPacketSize before buffering)', () => {
  it('passes any sequence of packets within the limit, however the stream is split', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 40 }), (sizes, cuts) => {
        const stream = Buffer.concat(sizes.map(frame));
        const guard = new FrameGuard(4096);
        let at = 0;
        for (const c of [...cuts, stream.length]) {
          expect(guard.feed(stream.subarray(at, Math.min(stream.length, at + c)))).toBeNull();
          at = Math.min(stream.length, at + c);
        }
      }),
    );
  });

  it('refuses a packet whose header announces more than the limit, even split byte by byte', () => {
    const bytes = Buffer.concat([frame(10), frame(5000).subarray(0, 4)]);
    const guard = new FrameGuard(4096);
    const results = [...bytes].map((b) => guard.feed(Buffer.from([b])));
    // Refused at the second length byte (5000 needs two), and from then on.
    expect(results.indexOf('packet of 5003 bytes exceeds maximumPacketSize 4096')).toBe(14);
    expect(results.slice(0, 14).every((r) => r === null)).toBe(true);
    expect(results.slice(14).every((r) => r !== null)).toBe(true);
  });

  it('refuses a remaining length longer than 4 bytes', () => {
    expect(new FrameGuard(1 << 30).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toMatch(/malformed remaining length/);
  });
});

describe('TokenBucket', () => {
  it('allows the burst, then the rate, and reports the wait of a debt', () => {
    let now = 0;
    const b = new TokenBucket(10, 5, () => now);
    expect([1, 2, 3, 4, 5].map(() => b.tryTake())).toEqual([true, true, true, true, true]);
    expect(b.tryTake()).toBe(false);
    now = 100; // one token back
    expect(b.tryTake()).toBe(true);
    expect(b.take(3)).toBeCloseTo(300);
  });
});
