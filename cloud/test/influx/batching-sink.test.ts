import { describe, expect, it } from 'vitest';
import { BatchingSink } from '../../src/influx/batching.js';
import { InfluxWriteError } from '../../src/influx/errors.js';
import type { LineWriter } from '../../src/influx/writer.js';

/** The writer fails on a script. */
function scripted(failures: InfluxWriteError[]): LineWriter & { calls: number; written: string[] } {
  const w = {
    api: 'v1' as const,
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

const opts = { batchLines: 2, quarantine: async () => {} };

describe('batching sink', () => {
  it('writes in batches of batchLines', async () => {
    const w = scripted([]);
    await new BatchingSink(w, opts).write(['a', 'b', 'c']);
    expect([w.calls, w.written]).toEqual([2, ['a', 'b', 'c']]);
  });

  it('throws an unavailable or misconfigured server at once: the caller owns the one retry loop', async () => {
    const down = scripted([new InfluxWriteError('unavailable', 'down', 503)]);
    await expect(new BatchingSink(down, opts).write(['a'])).rejects.toThrow('down');
    expect(down.calls).toBe(1);
    const config = scripted([new InfluxWriteError('config', 'unauthorized', 401)]);
    await expect(new BatchingSink(config, opts).write(['a'])).rejects.toThrow('unauthorized');
    expect(config.calls).toBe(1);
  });

  it('splits a refused element holding several joined lines and quarantines only the bad line', async () => {
    const quarantined: string[] = [];
    const written: string[] = [];
    const w: LineWriter = {
      api: 'v1',
      async write(lines) {
        if (lines.some((l) => l.includes('bad'))) throw new InfluxWriteError('rejected', 'field type conflict', 400);
        written.push(...lines);
      },
      async close() {},
    };
    const sink = new BatchingSink(w, { batchLines: 10, quarantine: async (line) => void quarantined.push(line) });
    await sink.write(['m v=1 1\nm v=bad 2\nm v=3 3', 'm v=4 4']);
    expect(quarantined).toEqual(['m v=bad 2']);
    expect(written.join('\n').split('\n').sort()).toEqual(['m v=1 1', 'm v=3 3', 'm v=4 4']);
  });
});
