import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as contract from '@fieldline/contract';
import { alertId, subjects, type AlertEvent } from '@fieldline/contract';

// The palette is CommonJS JavaScript (Node-RED require()s it); its pure helpers are loaded as such.
interface AlertLib {
  parseList(text: unknown): string[];
  alertFilter(f: { severities: string[]; devices: string[]; rules: string[] }): (a: AlertEvent) => boolean;
}
const lib = createRequire(import.meta.url)('../../node-red/lib/alert.js') as AlertLib;

const base = { v: 1 as const, state: 'firing' as const, severity: 'warning' as const, device: 'd-1', sensor: 's1', rule: 'temp-high', start: 1000, ts: 1000, value: 3, score: 1, message: 'm' };
const good: AlertEvent = { ...base, id: alertId(base) };
const bytes = (o: unknown) => new TextEncoder().encode(typeof o === 'string' ? o : JSON.stringify(o));
// The palette validates with the contract's parser (as the alerts node does).
const parse = (o: unknown, subject = subjects.alerts('warning', 'd-1')) => contract.parseAlert(bytes(o), { subject });

describe('parseAlert, as the alerts node uses it', () => {
  it('accepts a contract AlertEvent on its own subject', () => {
    expect(parse(good)).toEqual(good);
    const resolved = { ...good, state: 'resolved', end: 2000, ts: 2000 };
    expect(parse(resolved)).toEqual(resolved);
  });

  it.each([
    ['{"v":1', /^payload: is not valid JSON/],
    [[good], /^alert: must be an object, got an array/],
    [{ ...good, extra: 1 }, /^extra: unknown key/],
    [{ ...good, v: 2 }, /^v: must be 1, got 2/],
    [{ ...good, state: 'open' }, /^state: must be "firing" or "resolved"/],
    [{ ...good, severity: 'fatal' }, /^severity: must be one of info, warning, critical/],
    [{ ...good, device: 'D 1' }, /^device: device id "D 1" must be lower case/],
    [{ ...good, value: 'NaN' }, /^value: must be a finite number, got "NaN"/],
    [{ ...good, end: null }, /^end: must be an event time/],
    [{ ...good, rule: 'a:b' }, /^rule: rule id "a:b" must match/],
    // The processor's config refuses rule ids outside the id pattern; so does every consumer now.
    [{ ...good, rule: 'Temp.High', id: 'd-1:s1:Temp.High:1000' }, /^rule: rule id "Temp.High" must be lower case/],
    [{ ...good, id: 'd-1:s1:temp-high:999' }, /^id: must be "d-1:s1:temp-high:1000"/],
  ])('refuses %j naming the key', (input, message) => {
    expect(() => parse(input)).toThrow(message);
  });

  it('refuses an alert published on another subject than its severity and device', () => {
    expect(() => parse(good, subjects.alerts('critical', 'd-1'))).toThrow(/^subject: alert for d-1\/warning arrived on "fl.alerts.critical.d-1"/);
  });
});

describe('alertFilter', () => {
  it('an empty list matches any; lists are comma or space separated', () => {
    expect(lib.parseList(' a, b  c,,')).toEqual(['a', 'b', 'c']);
    expect(lib.alertFilter({ severities: [], devices: [], rules: [] })(good)).toBe(true);
    expect(lib.alertFilter({ severities: ['critical'], devices: [], rules: [] })(good)).toBe(false);
    expect(lib.alertFilter({ severities: ['warning', 'critical'], devices: ['d-1'], rules: ['temp-high'] })(good)).toBe(true);
    expect(lib.alertFilter({ severities: [], devices: ['d-2'], rules: [] })(good)).toBe(false);
    expect(lib.alertFilter({ severities: [], devices: [], rules: ['other'] })(good)).toBe(false);
  });
});
