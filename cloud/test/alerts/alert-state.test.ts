import { describe, expect, it } from 'vitest';
import { AlertState, alertEvent, stepAlert } from '../../src/alerts/alert-state.js';

const ctx = { device: 'd1', sensor: 's1', rule: 'hot', severity: 'critical' as const };
const r = (active: boolean) => ({ active, score: active ? 1 : 0 });

describe('alert lifecycle', () => {
  it('fires once, resolves after the condition is clear for clearMs, with a stable id', () => {
    const st = new AlertState();
    const ev = [
      [100, true],
      [101, true],
      [102, false],
      [105, false],
      [112, false],
    ].map(([ts, a]) => {
      const t = stepAlert(st, ts as number, r(a as boolean), { clearMs: 10, clearReadings: 1 });
      return t && alertEvent(ctx, t, 7, r(a as boolean).score, 'msg');
    });
    expect(ev.map((e) => e && [e.state, e.id, e.start, e.end, e.ts])).toEqual([
      ['firing', 'd1:s1:hot:100', 100, undefined, 100],
      null,
      null,
      null,
      ['resolved', 'd1:s1:hot:100', 100, 102, 102],
    ]);
    expect(ev[0]).toMatchObject({ v: 1, severity: 'critical', device: 'd1', sensor: 's1', rule: 'hot', value: 7, score: 1, message: 'hot: msg' });
  });

  it('suppresses flapping: a condition back within clearMs is the same open alert', () => {
    const st = new AlertState();
    const states = [true, false, true, false, true, false, false, false].map((a, i) => stepAlert(st, i * 2, r(a), { clearMs: 4, clearReadings: 1 })?.state ?? null);
    expect(states).toEqual(['firing', null, null, null, null, null, null, 'resolved']);
  });

  it('resolves on the first clear reading with clearMs 0 and fires anew afterwards', () => {
    const st = new AlertState();
    const ts = [true, false, true].map((a, i) => stepAlert(st, i, r(a), { clearMs: 0, clearReadings: 1 }));
    expect(ts.map((t) => t && `${t.state}:${t.start}`)).toEqual(['firing:0', 'resolved:0', 'firing:2']);
  });

  it('a slow sensor: the cooldown counts readings too, so one episode at 5-minute spacing is one alert', () => {
    const st = new AlertState();
    const five = 300_000;
    // Firing, clear, firing again two readings later, then clear for good: one alert, resolved
    // only after five clear readings in a row (clearMs alone, 10 s, would resolve at once).
    const pattern = [true, false, false, true, false, false, false, false, false, false];
    const ts = pattern.map((a, i) => stepAlert(st, i * five, r(a), { clearMs: 10_000, clearReadings: 5 }));
    expect(ts.map((t) => t && `${t.state}:${t.start}:${t.end ?? ''}`)).toEqual(['firing:0:', null, null, null, null, null, null, null, `resolved:0:${4 * five}`, null]);
  });
});
