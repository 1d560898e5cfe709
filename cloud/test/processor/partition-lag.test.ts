import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/processor/metrics.js';
import { PartitionLag } from '../../src/processor/partition-lag.js';

/** The lag gauge's value for partition 3. */
async function gauge(m: ReturnType<typeof createMetrics>): Promise<number | undefined> {
  return (await m.lag.get()).values.find((v) => v.labels.partition === '3')?.value;
}

describe('PartitionLag', () => {
  it('counts what is not delivered plus what is read and not committed', async () => {
    const m = createMetrics();
    const lag = new PartitionLag(m, 3, () => undefined);
    // Three messages read (stream sequences of partition 3 are not contiguous), 10 more waiting.
    lag.read(11, 12);
    lag.read(19, 11);
    lag.read(20, 10);
    expect(await gauge(m)).toBe(13);
    // A commit up to 19: two leave; the delivered count stays what the last message said.
    lag.committed(19);
    expect(await gauge(m)).toBe(11);
    lag.committed(20);
    expect(await gauge(m)).toBe(10);
  });

  it('refreshes what is not delivered from the consumer, and keeps the last figure when it cannot', async () => {
    const m = createMetrics();
    let pending: number | Error = 7;
    const consumer = { info: async () => (pending instanceof Error ? Promise.reject(pending) : { num_pending: pending }) };
    const lag = new PartitionLag(m, 3, () => consumer);
    lag.read(5, 100);
    lag.start(10);
    try {
      await expect.poll(() => gauge(m), { timeout: 2000 }).toBe(8);
      pending = new Error('NATS unreachable');
      await new Promise((r) => setTimeout(r, 50));
      expect(await gauge(m)).toBe(8);
      pending = 0;
      lag.committed(5);
      await expect.poll(() => gauge(m), { timeout: 2000 }).toBe(0);
    } finally {
      lag.stop();
    }
  });
});
