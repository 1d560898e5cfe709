import { execFileSync } from 'node:child_process';
import { appendFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, tempDir } from '@fieldline/harness';
import { DiskQueue, type QueueOptions } from '../src/index.js';
import { DiskFullError } from '../src/queue.js';

afterAll(() => cleanupAll());

const clock = { synced: true, now: 1_700_000_000_000 };
const line = (i: number): string => JSON.stringify({ sensor: 's', ts: 1_700_000_000_000 + i, value: i });
const opts = (over: Partial<QueueOptions> = {}): QueueOptions => ({ dir: tempDir('queue'), maxBytes: 1 << 20, segmentBytes: 4096, overflow: 'drop-oldest', fsync: 'never', ...over });

describe('disk queue', () => {
  it('keeps batches (same seq, same readings) and the open batch across a crash, and drops acked segments', () => {
    const o = opts();
    const q = new DiskQueue(o);
    let i = 0;
    for (let seq = 1; seq <= 40; seq++) {
      q.append([line(i++), line(i++), line(i++)]);
      q.close(seq, clock);
    }
    q.append([line(i++)]);
    for (let seq = 1; seq <= 30; seq++) q.remove(seq);
    q.remove(33, 'rejected');
    expect(q.depth).toBe(3 * 9 + 1);
    // No shutdown(): the process died. A new queue on the same dir sees exactly what was pending.
    const r = new DiskQueue(o);
    expect([...r.pending()].map((b) => b.seq)).toEqual([31, 32, 34, 35, 36, 37, 38, 39, 40]);
    expect(r.read(r.get(31)!)).toEqual([line(90), line(91), line(92)]);
    expect(r.openBatch?.n).toBe(1);
    expect(r.highestSeq).toBe(40);
    expect(r.depth).toBe(28);
    const closed = r.close(41, clock)!;
    expect(r.read(closed)).toEqual([line(120)]);
    for (const b of [...r.pending()]) r.remove(b.seq);
    expect(r.depth).toBe(0);
    expect(readdirSync(o.dir).length).toBe(1);
  });

  it('cuts a torn last record (power loss mid-write) and keeps everything before it', () => {
    const o = opts();
    const q = new DiskQueue(o);
    q.append([line(1), line(2)]);
    q.close(7, clock);
    q.append([line(3)]);
    const seg = join(o.dir, readdirSync(o.dir)[0]!);
    appendFileSync(seg, '{"sensor":"s","ts":17');
    const size = statSync(seg).size;
    const r = new DiskQueue(o);
    expect(statSync(seg).size).toBeLessThan(size);
    expect(r.counters.corrupt_records).toBe(1);
    expect(r.read(r.get(7)!)).toEqual([line(1), line(2)]);
    expect(r.openBatch?.n).toBe(1);
  });

  it('drop-oldest: stays under maxBytes, drops whole oldest batches and counts every reading', () => {
    const q = new DiskQueue(opts({ maxBytes: 65536, segmentBytes: 4096 }));
    let seq = 0;
    for (let i = 0; i < 3000; i += 10) {
      q.append(Array.from({ length: 10 }, (_, k) => line(i + k)));
      q.close(++seq, clock);
    }
    expect(q.bytes).toBeLessThanOrEqual(65536);
    const kept = [...q.pending()];
    expect(q.counters.dropped_overflow + q.depth).toBe(3000);
    expect(q.counters.dropped_overflow).toBeGreaterThan(0);
    // What is left is the newest, contiguous, in order.
    expect(kept.at(-1)!.seq).toBe(300);
    kept.slice(1).forEach((b, k) => expect(b.seq).toBe(kept[k]!.seq + 1));
  });

  it('drop-newest: refuses new readings when full and counts them', () => {
    const q = new DiskQueue(opts({ maxBytes: 65536, overflow: 'drop-newest' }));
    let accepted = 0;
    for (let i = 0; i < 3000; i += 10) {
      if (q.append(Array.from({ length: 10 }, (_, k) => line(i + k)))) accepted += 10;
      q.close(i + 1, clock);
    }
    expect(accepted + q.counters.dropped_overflow).toBe(3000);
    expect(q.depth).toBe(accepted);
    expect(q.read([...q.pending()][0]!)[0]).toBe(line(0));
  });

  it('a full disk (a 64 KiB tmpfs): append refuses and counts, close keeps its batch open, nothing on disk is torn; room again, it goes on', () => {
    if (process.getuid?.() !== 0) throw new Error('needs root to mount a small tmpfs (CI runs as root)');
    const dir = tempDir('queue-full');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    try {
      const o = opts({ dir: join(dir, 'q'), maxBytes: 1 << 20, segmentBytes: 4096 });
      const q = new DiskQueue(o);
      let seq = 0;
      let accepted = 0;
      let refused = 0;
      for (let i = 0; i < 4000; i += 10) {
        const lines = Array.from({ length: 10 }, (_, k) => line(i + k));
        if (q.append(lines)) accepted += 10;
        else refused += 10;
        try {
          q.close(seq + 1, clock);
          seq += 1;
        } catch (err) {
          expect(err).toBeInstanceOf(DiskFullError);
        }
      }
      expect(refused).toBeGreaterThan(0);
      expect(q.counters.dropped_disk_full).toBe(refused);
      expect(q.diskError).toMatch(/ENOSPC/);
      expect(accepted + refused).toBe(4000);
      expect(q.depth).toBe(accepted);
      // What the queue holds is exactly what it accepted, whole, after a crash too.
      const r = new DiskQueue(o);
      expect(r.counters.corrupt_records).toBe(0);
      expect(r.depth).toBe(accepted);
      const all = [...r.pending()].flatMap((b) => r.read(b));
      expect(all.length + (r.openBatch?.n ?? 0)).toBe(accepted);
      // Acks free whole segments: the disk has room again, and the queue goes on.
      for (const b of [...q.pending()]) q.remove(b.seq);
      expect(q.append([line(9999)])).toBe(true);
      expect(q.diskError).toBeUndefined();
      expect(q.close(seq + 1, clock)?.n).toBe((q.depth));
    } finally {
      execFileSync('umount', ['-l', dir]);
    }
  });

  it('a full disk and one big segment (it never rolls over): once everything sent is acked, the tail is compacted and queueing goes on, the open batch kept', () => {
    if (process.getuid?.() !== 0) throw new Error('needs root to mount a small tmpfs (CI runs as root)');
    const dir = tempDir('queue-full1');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    try {
      const o = opts({ dir: join(dir, 'q'), maxBytes: 1 << 20, segmentBytes: 1 << 20 });
      const q = new DiskQueue(o);
      let seq = 0;
      let i = 0;
      while (q.diskError === undefined) {
        q.append([line(i++), line(i++)]);
        if (q.diskError === undefined) q.close(++seq, clock);
      }
      expect(q.counters.dropped_disk_full).toBeGreaterThan(0);
      // An open batch the disk refused to close, and every closed batch acked: room comes back.
      const openBefore = q.openBatch?.n ?? 0;
      for (let s = 1; s <= seq; s++) q.remove(s);
      expect(q.append([line(200_000)])).toBe(true);
      expect(q.diskError).toBeUndefined();
      const b = q.close(++seq, clock)!;
      expect(b.n).toBe(openBefore + 1);
      expect(q.read(b).at(-1)).toBe(line(200_000));
      expect(q.depth).toBe(openBefore + 1);
      // And it survives a crash as it is.
      const r = new DiskQueue(o);
      expect([...r.pending()].map((x) => x.seq)).toEqual([seq]);
      expect(r.read(r.get(seq)!)).toEqual(q.read(b));
    } finally {
      execFileSync('umount', ['-l', dir]);
    }
  });
});

