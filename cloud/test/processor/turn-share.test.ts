import { describe, expect, it } from 'vitest';
import { TurnShare } from '../../src/processor/turn-share.js';

/**
 * The loops of a processor share each turn of the event loop (turn-share.ts). The clock is the
 * test's own: each "message" a loop processes moves it on by 1 ms, so what is counted is how many
 * messages run between two turns of the real event loop, whatever the machine's speed.
 */
describe('TurnShare', () => {
  /** `loops` loops of `messages` 1-ms messages each; per event-loop turn, the messages each loop ran. */
  async function run(loops: number, messages: number, yieldOf: (share: TurnShare, now: () => number) => (loop: number) => Promise<void> | undefined): Promise<number[][]> {
    let clock = 0;
    const share = new TurnShare(5, () => clock);
    const turns: number[][] = [];
    let current = new Array<number>(loops).fill(0);
    // A socket's callback stands in for the I/O a turn lets through: it runs once per turn.
    let done = false;
    const tick = (): void => {
      turns.push(current);
      current = new Array<number>(loops).fill(0);
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    const maybeYield = yieldOf(share, () => clock);
    await Promise.all(
      Array.from({ length: loops }, async (_, l) => {
        for (let m = 0; m < messages; m++) {
          await Promise.resolve(); // the consumer's iterator: one microtask per message
          clock += 1;
          current[l]!++;
          await maybeYield(l);
        }
      }),
    );
    done = true;
    turns.push(current);
    return turns.filter((t) => t.some((n) => n > 0));
  }

  it('bounds a turn by one deadline for all loops, not one per loop', async () => {
    const turns = await run(8, 40, (share) => () => (share.spent ? share.yield() : undefined));
    // Each loop runs at most one message past the deadline: 5 ms + one message of each of the others.
    for (const t of turns) expect(t.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(5 + 8);
    // Every message ran, and the loops shared the turns: each ran in most of them.
    expect(turns.flat().reduce((a, b) => a + b, 0)).toBe(8 * 40);
    for (let l = 0; l < 8; l++) expect(turns.filter((t) => t[l]! > 0).length).toBeGreaterThan(turns.length / 2);
  });

  it('is what a deadline per loop was not (the test can fail)', async () => {
    // The old way: each loop yields after 5 ms since it last resumed; its turns add up.
    const turns = await run(8, 40, (_share, now) => {
      const since = new Array<number>(8).fill(0);
      return (i) => {
        if (now() - since[i]! < 5) return undefined;
        return new Promise<void>((r) => setImmediate(r)).then(() => void (since[i] = now()));
      };
    });
    expect(Math.max(...turns.map((t) => t.reduce((a, b) => a + b, 0)))).toBeGreaterThanOrEqual(8 * 5);
  });

  it('gives a lone loop the whole turn, and resumes every loop that yielded in the same turn', async () => {
    const lone = await run(1, 30, (share) => () => (share.spent ? share.yield() : undefined));
    expect(lone.every((t) => t[0]! <= 6)).toBe(true);
    expect(lone.filter((t) => t[0] === 5).length).toBeGreaterThanOrEqual(4);

    let clock = 0;
    const share = new TurnShare(5, () => clock);
    const order: string[] = [];
    await Promise.all([share.yield().then(() => order.push('a')), share.yield().then(() => order.push('b'))]);
    expect(order).toEqual(['a', 'b']);
    expect(share.leftMs).toBe(5);
    clock = 7;
    expect(share.spent).toBe(true);
    expect(share.leftMs).toBe(0);
  });
});
