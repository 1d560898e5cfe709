// The ledger finds each kind of damage: a checker that cannot see a loss proves nothing.
import type { AlertEvent, Envelope, Reading, SessionSummary } from '@fieldline/contract';
import { describe, expect, it } from 'vitest';
import { checkLedger, edgeStamped, isExact, type SentReading, type StoredReading, type TelemetryMessage } from './ledger.js';

const T = Date.UTC(2026, 5, 1);
const sent: SentReading[] = Array.from({ length: 20 }, (_, i) => ({ device: 'd1', sensor: i % 2 ? 'a' : 'b', ts: T + Math.floor(i / 2) * 100, value: i }));
const storedOf = (rs: readonly SentReading[]): StoredReading[] => rs.map((r) => ({ device: r.device, sensor: r.sensor, tsUs: Math.round(r.ts * 1000), value: r.value }));
let n = 0;
const msg = (readings: SentReading[], seq: number, epoch = 'epoch0001'): TelemetryMessage => ({
  seq: ++n,
  msgId: `d1:${epoch}:${seq}`,
  env: { v: 1, device: 'd1', epoch, seq, clock: { synced: true, now: T }, readings: readings.map((r): Reading => ({ sensor: r.sensor, ts: r.ts, value: r.value })) } as Envelope,
});
const log = (): TelemetryMessage[] => [msg(sent.slice(0, 10), 1), msg(sent.slice(10), 2)];
const alert = (state: 'firing' | 'resolved', start: number): AlertEvent => ({ v: 1, id: `d1:a:hot:${start}`, state, severity: 'critical', device: 'd1', sensor: 'a', rule: 'hot', start, ts: start, value: 1, score: 1, message: 'x', ...(state === 'resolved' ? { end: start + 100 } : {}) });

describe('ledger', () => {
  it('an exact run is exact', () => {
    const r = checkLedger({ sent, stored: storedOf(sent), telemetry: log(), alerts: [alert('firing', T + 100), alert('resolved', T + 100)] }, { alerts: { rules: ['hot'], expected: [{ device: 'd1', sensor: 'a', rule: 'hot', from: T, to: T + 200 }] } });
    expect(r).toMatchObject({ sent: 20, stored: 20, lost: 0, duplicated: 0, altered: 0, outOfOrder: 0, alerts: { expected: 1, missing: 0, unexpected: 0, duplicated: 0 } });
    expect(isExact(r)).toBe(true);
  });

  it('finds a lost reading, and tolerates it only in an unobservable window', () => {
    const stored = storedOf(sent).filter((_, i) => i !== 7);
    expect(checkLedger({ sent, stored, telemetry: log() })).toMatchObject({ lost: 1, tolerated: 0 });
    expect(checkLedger({ sent, stored, telemetry: log() }, { unobservable: [{ device: 'd1', from: T + 300, to: T + 300 }] })).toMatchObject({ lost: 0, tolerated: 1 });
    expect(checkLedger({ sent, stored, telemetry: log() }, { unobservable: [{ device: 'd1', from: T + 400, to: T + 900 }] }).lost).toBe(1);
  });

  it('says which hop lost a reading: after TELEMETRY (which batch) or before it', () => {
    const stored = storedOf(sent).filter((_, i) => i !== 7);
    expect(checkLedger({ sent, stored, telemetry: log() }).problems).toContain(`lost: d1/a at ${new Date(T + 300).toISOString()} value 7: in TELEMETRY (stream seq ${n - 1}, batch d1:epoch0001:1), not stored`);
    expect(checkLedger({ sent, stored, telemetry: [msg(sent.slice(10), 2)] }).problems).toContain(`lost: d1/a at ${new Date(T + 300).toISOString()} value 7: not in TELEMETRY`);
  });

  it('counted drops: exactly the counted number may be missing (fewer only by those in doubt)', () => {
    const stored = storedOf(sent).slice(4);
    expect(checkLedger({ sent, stored, telemetry: log() }, { counted: [{ device: 'd1', dropped: 4, inDoubt: 0 }] })).toMatchObject({ lost: 0, tolerated: 4 });
    expect(checkLedger({ sent, stored, telemetry: log() }, { counted: [{ device: 'd1', dropped: 3, inDoubt: 0 }] }).lost).toBe(4);
    expect(checkLedger({ sent, stored, telemetry: log() }, { counted: [{ device: 'd1', dropped: 6, inDoubt: 1 }] }).lost).toBe(4);
    expect(checkLedger({ sent, stored, telemetry: log() }, { counted: [{ device: 'd1', dropped: 5, inDoubt: 1 }] }).lost).toBe(0);
    expect(checkLedger({ sent, stored: storedOf(sent), telemetry: log() }, { counted: [{ device: 'd1', dropped: 2, inDoubt: 0 }] }).lost).toBe(2);
  });

  it('finds an altered value, a missing or wrong mark, and a point never sent', () => {
    const stored = storedOf(sent);
    stored[3] = { ...stored[3]!, value: 99 };
    stored.push({ device: 'd1', sensor: 'a', tsUs: 1, value: 0 });
    expect(checkLedger({ sent, stored, telemetry: log() }).altered).toBe(2);
    const mark = (r: SentReading) => (r.value === 5 ? { quality: 'uncertain', clock: 'ahead' } : undefined);
    expect(checkLedger({ sent, stored: storedOf(sent), telemetry: log() }, { mark }).altered).toBe(1);
    const marked = storedOf(sent).map((s) => (s.value === 5 ? { ...s, quality: 'uncertain', clock: 'ahead' } : s));
    expect(checkLedger({ sent, stored: marked, telemetry: log() }, { mark }).altered).toBe(0);
  });

  it('finds a reading stored twice in TELEMETRY (a re-batched resend), and a reading or batch out of order', () => {
    expect(checkLedger({ sent, stored: storedOf(sent), telemetry: [...log(), msg(sent.slice(8, 12), 3)] }).duplicated).toBe(4);
    const swapped = [msg(sent.slice(10), 2), msg(sent.slice(0, 10), 1)];
    const r = checkLedger({ sent, stored: storedOf(sent), telemetry: swapped });
    // Batch 1 after batch 2, and each of its 10 readings after a newer one of its sensor.
    expect(r.outOfOrder).toBe(11);
    expect(isExact(r)).toBe(false);
  });

  it('a batch again in a bundle re-sent cut differently is counted apart, not a duplicate; the same batch stored alone twice is one', () => {
    const bundled = (m: TelemetryMessage): TelemetryMessage => ({ ...m, bundled: true });
    const [b1, b2] = log();
    const r = checkLedger({ sent, stored: storedOf(sent), telemetry: [bundled(b1!), bundled(b2!), { ...b2!, seq: 99 }] });
    expect(r).toMatchObject({ rebundled: 1, duplicated: 0, outOfOrder: 0 });
    expect(isExact(r)).toBe(true);
    const twice = checkLedger({ sent, stored: storedOf(sent), telemetry: [b1!, b2!, { ...b2!, seq: 99 }] });
    expect(twice).toMatchObject({ rebundled: 0, duplicated: 10 });
    expect(isExact(twice)).toBe(false);
  });

  it('finds an alert transition published twice, a missing one, an unresolved one and one the ground truth does not call for', () => {
    const expected = [{ device: 'd1', sensor: 'a', rule: 'hot', from: T, to: T + 200 }];
    const twice = checkLedger({ sent, stored: storedOf(sent), telemetry: log(), alerts: [alert('firing', T + 100), alert('firing', T + 100), alert('resolved', T + 100)] }, { alerts: { rules: ['hot'], expected } });
    expect([twice.duplicated, twice.alerts.duplicated]).toEqual([1, 1]);
    expect(checkLedger({ sent, stored: storedOf(sent), telemetry: log(), alerts: [] }, { alerts: { rules: ['hot'], expected } }).alerts.missing).toBe(1);
    expect(checkLedger({ sent, stored: storedOf(sent), telemetry: log(), alerts: [alert('firing', T + 100)] }, { alerts: { rules: ['hot'], expected } }).alerts.missing).toBe(1);
    const extra = checkLedger({ sent, stored: storedOf(sent), telemetry: log(), alerts: [alert('firing', T + 100), alert('resolved', T + 100), alert('firing', T + 900)] }, { alerts: { rules: ['hot'], expected } });
    expect(extra.alerts.unexpected).toBe(1);
    // Rules the scenario does not judge are left alone.
    expect(checkLedger({ sent, stored: storedOf(sent), telemetry: log(), alerts: [alert('firing', T + 900)] }, { alerts: { rules: ['other'], expected: [] } }).alerts.unexpected).toBe(0);
  });

  it('finds overlapping sessions of a sensor (a session published twice under another start)', () => {
    const s = (start: number, end: number): SessionSummary => ({ v: 1, device: 'd1', sensor: 'a', start, end, count: 2, min: 0, max: 1, mean: 0.5, stddev: 0.5, anomalies: 0, closedBy: 'gap' });
    expect(checkLedger({ sent, stored: storedOf(sent), telemetry: log(), sessions: [s(T, T + 500), s(T + 2000, T + 3000)] }).duplicated).toBe(0);
    expect(checkLedger({ sent, stored: storedOf(sent), telemetry: log(), sessions: [s(T, T + 500), s(T + 400, T + 900)] }).duplicated).toBe(1);
  });

  it('applies the edge\'s stamping rule for a clock that steps back: previous + 1 µs within a minute, kept beyond', () => {
    const back: SentReading[] = [T, T + 100, T - 10_000, T - 9_900, T + 300, T - 3_600_000, T + 400].map((ts, i) => ({ device: 'd1', sensor: 'a', ts, value: i }));
    expect(edgeStamped(back).map((r) => Math.round((r.ts - T) * 1000))).toEqual([0, 100_000, 100_001, 100_002, 300_000, -3_600_000_000, 400_000]);
    const stored = storedOf(edgeStamped(back));
    expect(checkLedger({ sent: back, stored, telemetry: [] }, { edgeStamps: true })).toMatchObject({ lost: 0, altered: 0 });
    expect(checkLedger({ sent: back, stored, telemetry: [] }).lost).toBe(2);
  });
});
