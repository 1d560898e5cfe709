import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Session, SessionAssigner, SessionTrigger, mergeSessions } from '../../src/windows/session.js';
import { SessionWindows, type WindowKey } from '../../src/windows/session-windows.js';

const cfg = { gapMs: 10, maxLengthMs: 1000, allowedLatenessMs: 5 };

interface Closed {
  start: number;
  end: number;
  count: number;
  min: number;
  max: number;
  mean: number;
  stddev: number;
  why: string;
}

/** Drives one key the way the pipeline does: event time = newest reading, late ones set aside. */
function run(readings: [number, number][], c = cfg, flushAt = Infinity): { closed: Closed[]; late: number[] } {
  const w = new SessionWindows(c);
  const key: WindowKey = SessionWindows.newKey();
  let time = -Infinity;
  const closed: Closed[] = [];
  const late: number[] = [];
  const emit = (s: Session, why: string) => closed.push({ start: s.start, end: s.end, count: s.count, min: s.min, max: s.max, mean: s.mean, stddev: s.stddev, why });
  for (const [ts, v] of readings) {
    if (w.isLate(ts, time)) {
      late.push(ts);
      continue;
    }
    w.add(key, ts, v, false);
    if (ts > time) {
      time = ts;
      w.collect(key, time, emit);
    }
  }
  w.collect(key, flushAt, emit);
  return { closed, late };
}

describe('session windows (event time)', () => {
  it('splits on the inactivity gap and reports gap vs dropout', () => {
    const { closed } = run([[0, 1], [5, 2], [9, 3], [30, 4], [35, 5]]);
    expect(closed.map((c) => [c.start, c.end, c.count, c.why])).toEqual([
      [0, 9, 3, 'gap'],
      [30, 35, 2, 'dropout'],
    ]);
    expect(closed[0]).toMatchObject({ min: 1, max: 3, mean: 2 });
    expect(closed[0]!.stddev).toBeCloseTo(Math.sqrt(2 / 3), 12);
  });

  it('places out-of-order readings within the allowed lateness in their session', () => {
    const { closed, late } = run([[0, 1], [8, 1], [4, 1], [15, 1], [11, 1]]);
    expect(late).toEqual([]);
    expect(closed.map((c) => [c.start, c.end, c.count])).toEqual([[0, 15, 5]]);
  });

  it('merges two sessions when a late reading bridges them', () => {
    // 0..2 and 14..16 are 12 apart (> gap 10); 8 arrives after 16 but within lateness 10, and is within a gap of both.
    const lateOk = { ...cfg, allowedLatenessMs: 10 };
    const { closed } = run([[0, 1], [2, 1], [14, 1], [16, 1], [8, 5]], lateOk);
    expect(closed.map((c) => [c.start, c.end, c.count, c.max])).toEqual([[0, 16, 5, 5]]);
  });

  it('sends readings beyond the allowed lateness to the late output, not into a session', () => {
    const { closed, late } = run([[0, 1], [20, 1], [40, 1], [3, 9]]);
    expect(late).toEqual([3]);
    expect(closed.every((c) => c.max === 1)).toBe(true);
    expect(closed.reduce((n, c) => n + c.count, 0)).toBe(3);
  });

  it('cuts sessions at multiples of maxLengthMs whatever the arrival order', () => {
    const c = { gapMs: 10, maxLengthMs: 20, allowedLatenessMs: 5 };
    const r: [number, number][] = Array.from({ length: 10 }, (_, i) => [i * 5, i]);
    const { closed } = run(r, c);
    expect(closed.map((s) => [s.start, s.end, s.count, s.why])).toEqual([
      [0, 15, 4, 'max_length'],
      [20, 35, 4, 'max_length'],
      [40, 45, 2, 'dropout'],
    ]);
  });

  it('closes a silent sensor when only its device clock advances (heartbeat) as dropout', () => {
    const w = new SessionWindows(cfg);
    const key = SessionWindows.newKey();
    w.add(key, 100, 1, false);
    const out: string[] = [];
    w.collect(key, 112, (_s, why) => out.push(why));
    expect(out).toEqual([]);
    w.collect(key, 115, (s, why) => out.push(`${s.start}-${s.end}:${why}`));
    expect(out).toEqual(['100-100:dropout']);
  });

  it('merge of aggregates equals adding all readings to one session', () => {
    const a = Session.of(0, 1, 2, false);
    a.add(2, 4, true);
    const b = Session.of(0, 5, 10, false);
    b.add(6, -1, true);
    const all = Session.of(0, 1, 2, false);
    for (const [t, v] of [[2, 4], [5, 10], [6, -1]] as const) all.add(t, v, false);
    mergeSessions(a, b);
    expect([a.start, a.end, a.count, a.min, a.max, a.anomalies]).toEqual([1, 6, 4, -1, 10, 2]);
    expect(a.mean).toBeCloseTo(all.mean, 12);
    expect(a.stddev).toBeCloseTo(all.stddev, 12);
  });

  it('trigger waits for the watermark to pass end + gap', () => {
    const t = new SessionTrigger(cfg);
    const s = Session.of(0, 100, 1, false);
    expect(t.closeReason(s, 109, 100)).toBeNull();
    expect(t.closeReason(s, 110, 100)).toBe('dropout');
    expect(t.closeReason(s, 110, 130)).toBe('gap');
    expect(new SessionAssigner(cfg).slotOf(1999)).toBe(1);
  });

  it('property: any permutation within the allowed lateness gives the same sessions', () => {
    const c = { gapMs: 10, maxLengthMs: 100, allowedLatenessMs: 30 };
    // Readings as (gap-ish step, value); permutations swap only readings whose order stays
    // within the allowed lateness, generated as a bounded local shuffle.
    const arb = fc
      .record({
        steps: fc.array(fc.integer({ min: 0, max: 25 }), { minLength: 1, maxLength: 60 }),
        values: fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 60, maxLength: 60 }),
        keys: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 60, maxLength: 60 }),
      })
      .map(({ steps, values, keys }) => {
        let t = 0;
        const readings = steps.map((s, i): [number, number] => [(t += s), values[i]!]);
        // Sort by ts + jitter in [0, lateness): a reading can then arrive after others at most
        // `lateness` newer than itself, so it is never late.
        const shuffled = readings
          .map((r, i) => ({ r, k: r[0] + keys[i]! * (c.allowedLatenessMs - 1) }))
          .sort((a, b) => a.k - b.k)
          .map((x) => x.r);
        return { readings, shuffled };
      });
    fc.assert(
      fc.property(arb, ({ readings, shuffled }) => {
        const a = run(readings, c);
        const b = run(shuffled, c);
        expect(b.late).toEqual([]);
        const exact = (x: Closed[]) => x.map((s) => [s.start, s.end, s.count, s.min, s.max, s.why]);
        expect(exact(b.closed)).toEqual(exact(a.closed));
        b.closed.forEach((s, i) => {
          // Floating-point sums depend on order; equal to rounding.
          expect(s.mean).toBeCloseTo(a.closed[i]!.mean, 6);
          expect(s.stddev).toBeCloseTo(a.closed[i]!.stddev, 6);
        });
      }),
      { numRuns: 300 },
    );
  });
});
