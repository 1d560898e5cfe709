import { describe, expect, it } from 'vitest';
import { teardown } from '../src/util.js';

describe('teardown', () => {
  it('runs every step in order and names the one that hung or failed', async () => {
    const ran: string[] = [];
    const err = await teardown(
      {
        first: () => void ran.push('first'),
        hangs: () => new Promise(() => ran.push('hangs')),
        fails: async () => {
          ran.push('fails');
          throw new Error('port in use');
        },
        last: async () => void ran.push('last'),
      },
      50,
    ).catch((e: Error) => e);
    expect(ran).toEqual(['first', 'hangs', 'fails', 'last']);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe('teardown: hangs did not finish in 50 ms; fails failed: port in use');
    expect(((err as Error).cause as Error).message).toBe('port in use');
  });

  it('resolves when every step finishes', async () => {
    await expect(teardown({ a: () => undefined, b: async () => 1 }, 50)).resolves.toBeUndefined();
  });
});
