import { describe, expect, it } from 'vitest';
import { LoopSlice } from '../../src/processor/loop-slice.js';

/**
 * A partition loop's slice (loop-slice.ts). The clock is the test's own: each "message" moves it on
 * by 1 ms, so what is counted is how many messages run between two turns of the real event loop,
 * whatever the machine's speed.
 */
describe('LoopSlice', () => {
  /** A loop of `messages` 1-ms messages; per event-loop turn, how many it ran. */
  async function run(messages: number, sliceMs: number): Promise<number[]> {
    let clock = 0;
    const slice = new LoopSlice(sliceMs, () => clock);
    const turns: number[] = [];
    let current = 0;
    let done = false;
    // A socket's callback stands in for the I/O a yield lets through: it runs once per turn.
    const tick = (): void => {
      turns.push(current);
      current = 0;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    for (let m = 0; m < messages; m++) {
      await Promise.resolve(); // the consumer's iterator: one microtask per message
      clock += 1;
      current++;
      if (slice.spent) await slice.yield();
    }
    done = true;
    turns.push(current);
    return turns.filter((n) => n > 0);
  }

  it('lets the event loop run after each slice, and only then', async () => {
    const turns = await run(40, 5);
    expect(turns.reduce((a, b) => a + b, 0)).toBe(40);
    // The first message finds no slice yet (it yields at once); then 5 messages a turn.
    expect(turns[0]).toBe(1);
    expect(turns.slice(1, -1).every((n) => n === 5)).toBe(true);
  });

  it('without a yield the same loop holds the event loop throughout (the test can fail)', async () => {
    const turns = await run(40, Infinity);
    expect(Math.max(...turns)).toBeGreaterThan(5);
  });

  it('starts a fresh slice when it resumes', async () => {
    let clock = 100;
    const slice = new LoopSlice(5, () => clock);
    expect(slice.spent).toBe(true);
    await slice.yield();
    expect(slice.spent).toBe(false);
    clock = 104.9;
    expect(slice.spent).toBe(false);
    clock = 105;
    expect(slice.spent).toBe(true);
  });
});
