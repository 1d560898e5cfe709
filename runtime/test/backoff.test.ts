import { describe, expect, it } from 'vitest';
import { backoffDelay, retry } from '../src/index.js';

describe('backoff', () => {
  it('doubles from base up to max; jitter stays within [cap/2, cap]', () => {
    const exact = [0, 1, 2, 3, 10].map((a) => backoffDelay(a, { baseMs: 100, maxMs: 1000, jitter: false }));
    expect(exact).toEqual([100, 200, 400, 800, 1000]);
    for (const r of [0, 0.5, 0.999]) {
      const d = backoffDelay(3, { baseMs: 100, maxMs: 10_000, random: () => r });
      expect(d).toBeGreaterThanOrEqual(400);
      expect(d).toBeLessThanOrEqual(800);
    }
    expect(backoffDelay(1e6, { baseMs: 1, maxMs: 5, jitter: false })).toBe(5);
  });

  it('retries with those waits until it works, and reports each retry', async () => {
    const waits: number[] = [];
    const seen: number[] = [];
    const got = await retry(
      async (attempt) => {
        if (attempt < 3) throw new Error(`fail ${attempt}`);
        return 'done';
      },
      { baseMs: 10, maxMs: 25, jitter: false, sleep: async (ms) => void waits.push(ms), onRetry: (_e, a) => seen.push(a) },
    );
    expect(got).toBe('done');
    expect(waits).toEqual([10, 20, 25]);
    expect(seen).toEqual([0, 1, 2]);
  });

  it('gives up after `retries`, on an error it must not retry, and when aborted', async () => {
    const sleep = async (): Promise<void> => undefined;
    await expect(retry(async () => Promise.reject(new Error('down')), { baseMs: 1, maxMs: 1, retries: 2, sleep })).rejects.toThrow('down');
    let calls = 0;
    await expect(retry(async () => (calls++, Promise.reject(new Error('config'))), { baseMs: 1, maxMs: 1, shouldRetry: () => false, sleep })).rejects.toThrow('config');
    expect(calls).toBe(1);
    const ac = new AbortController();
    const p = retry(async () => Promise.reject(new Error('still down')), { baseMs: 60_000, maxMs: 60_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toThrow('still down');
    // Aborted before it starts, it still makes its one attempt (the last flush at shutdown).
    let tries = 0;
    await expect(retry(async () => (tries++, 'flushed'), { baseMs: 1, maxMs: 1, signal: AbortSignal.abort() })).resolves.toBe('flushed');
    await expect(retry(async () => (tries++, Promise.reject(new Error('no'))), { baseMs: 1, maxMs: 1, signal: AbortSignal.abort() })).rejects.toThrow('no');
    expect(tries).toBe(2);
  });
});
