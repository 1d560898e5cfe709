import { describe, expect, it } from 'vitest';
import { backoffMs } from '../src/backoff.js';
import { RateLimiter } from '../src/counters.js';

describe('backoffMs', () => {
  it('grows exponentially with full jitter between half and all of the capped step', () => {
    expect([0, 1, 2, 3].map((a) => backoffMs(a, 100, 1000, () => 0))).toEqual([50, 100, 200, 400]);
    expect([0, 1, 2, 3].map((a) => backoffMs(a, 100, 1000, () => 1))).toEqual([100, 200, 400, 800]);
    expect(backoffMs(50, 100, 1000, () => 1)).toBe(1000);
    expect(backoffMs(50, 100, 1000, () => 0)).toBe(500);
  });
});

describe('RateLimiter', () => {
  it('lets through perMinute events a minute and reports how many it held back', () => {
    const r = new RateLimiter(2);
    expect([r.take(0), r.take(1), r.take(2), r.take(3)]).toEqual([0, 0, null, null]);
    expect(r.take(60_001)).toBe(2);
    expect(r.take(60_002)).toBe(0);
    expect(r.take(60_003)).toBeNull();
  });
});
