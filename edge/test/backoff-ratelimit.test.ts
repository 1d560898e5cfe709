import { describe, expect, it } from 'vitest';
import { backoffDelay } from '@fieldline/runtime';
import { RateLimiter } from '../src/counters.js';

describe('reconnect backoff (runtime backoffDelay, as the edge uses it)', () => {
  it('grows exponentially with full jitter between half and all of the capped step', () => {
    const at = (a: number, r: number): number => backoffDelay(a, { baseMs: 100, maxMs: 1000, random: () => r });
    expect([0, 1, 2, 3].map((a) => at(a, 0))).toEqual([50, 100, 200, 400]);
    expect([0, 1, 2, 3].map((a) => at(a, 1))).toEqual([100, 200, 400, 800]);
    expect(at(50, 1)).toBe(1000);
    expect(at(50, 0)).toBe(500);
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
