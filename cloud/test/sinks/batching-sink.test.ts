import { describe, expect, it } from 'vitest';
import { BatchingSink } from '../../src/sinks/batching-sink.js';
import { SinkWriteError, type LineWriter } from '../../src/sinks/types.js';

/** Unit test of the retry/backoff logic: the writer fails on a script, the waits are recorded. */
function scripted(failures: SinkWriteError[]): LineWriter & { calls: number; written: string[] } {
  const w = {
    kind: 'scripted',
    calls: 0,
    written: [] as string[],
    async write(lines: readonly string[]) {
      w.calls++;
      const f = failures.shift();
      if (f) throw f;
      w.written.push(...lines);
    },
    async close() {},
  };
  return w;
}

const opts = (sleeps: number[], maxRetries = 5) => ({
  batchLines: 2,
  maxRetries,
  retryBaseMs: 100,
  retryMaxMs: 250,
  quarantine: async () => {},
  sleep: async (ms: number) => void sleeps.push(ms),
});

describe('batching sink retries', () => {
  it('retries an unavailable server with capped exponential backoff, then succeeds', async () => {
    const sleeps: number[] = [];
    const w = scripted([1, 2, 3].map(() => new SinkWriteError('unavailable', 'down', 503)));
    const sink = new BatchingSink(w, opts(sleeps));
    await sink.write(['a', 'b', 'c']);
    expect(sleeps).toEqual([100, 200, 250]);
    expect(sink.retries).toBe(3);
    expect(w.written).toEqual(['a', 'b', 'c']);
  });

  it('gives up after maxRetries so the caller does not ack', async () => {
    const w = scripted([1, 2, 3].map(() => new SinkWriteError('unavailable', 'down', 503)));
    await expect(new BatchingSink(w, opts([], 2)).write(['a'])).rejects.toThrow('down');
    expect(w.calls).toBe(3);
  });

  it('does not retry configuration failures', async () => {
    const w = scripted([new SinkWriteError('config', 'unauthorized', 401)]);
    await expect(new BatchingSink(w, opts([])).write(['a'])).rejects.toThrow('unauthorized');
    expect(w.calls).toBe(1);
  });

  it('splits a refused element holding several joined lines and quarantines only the bad line', async () => {
    const quarantined: string[] = [];
    const written: string[] = [];
    const w: LineWriter = {
      kind: 'picky',
      async write(lines) {
        if (lines.some((l) => l.includes('bad'))) throw new SinkWriteError('rejected', 'field type conflict', 400);
        written.push(...lines);
      },
      async close() {},
    };
    const sink = new BatchingSink(w, { ...opts([]), batchLines: 10, quarantine: async (line) => void quarantined.push(line) });
    await sink.write(['m v=1 1\nm v=bad 2\nm v=3 3', 'm v=4 4']);
    expect(quarantined).toEqual(['m v=bad 2']);
    expect(written.join('\n').split('\n').sort()).toEqual(['m v=1 1', 'm v=3 3', 'm v=4 4']);
  });
});
