import { describe, expect, it } from 'vitest';
import {
  alertId,
  ContractError,
  deadLetter,
  DEADLETTER_HEADERS,
  MAX_DEADLETTER_HEADER_CHARS,
  parseAlert,
  parseBatchId,
  parseCommand,
  parseCommandReply,
  parseRejectionNotice,
  parseSession,
  parseStatus,
  parseStatusEntry,
  readDeadLetter,
  REJECT_REASONS,
  subjects,
  type AlertEvent,
} from '../src/index.js';

function refusal(f: () => unknown): ContractError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ContractError);
    return err as ContractError;
  }
  throw new Error('expected a ContractError');
}
const json = (o: unknown): string => JSON.stringify(o);

const alert = (over: Partial<AlertEvent> = {}): AlertEvent => {
  const a: AlertEvent = { v: 1, id: '', state: 'firing', severity: 'critical', device: 'gh-01', sensor: 'temp', rule: 'temp-high', start: 1000, ts: 1000, value: 31, score: 1, message: 'above 30', ...over };
  if (!over.id) a.id = alertId(a);
  return a;
};

describe('status', () => {
  it('accepts a status from its own device and names what is wrong otherwise', () => {
    expect(parseStatus(json({ v: 1, device: 'd1', state: 'online', ts: 5 }), 'd1')).toEqual({ v: 1, device: 'd1', state: 'online', ts: 5 });
    expect(refusal(() => parseStatus(json({ v: 1, device: 'd1', state: 'online' }), 'd2')).reason).toBe('device_mismatch');
    expect(refusal(() => parseStatus(json({ v: 1, device: 'd1', state: 'up' }))).message).toBe('state: must be "online" or "offline", got "up"');
    expect(refusal(() => parseStatus(json({ v: 1, device: 'd1', state: 'online', x: 1 }))).message).toBe('x: unknown key');
    expect(refusal(() => parseStatus('{')).reason).toBe('bad_json');
  });

  it('checks the status KV entry the gateway writes', () => {
    expect(parseStatusEntry(json({ v: 1, device: 'd1', state: 'offline', source: 'will', receivedAt: 9 })).source).toBe('will');
    expect(refusal(() => parseStatusEntry(json({ v: 1, device: 'd1', state: 'offline', source: 'x', receivedAt: 9 }))).message).toBe('source: must be "status" or "will", got "x"');
    expect(parseStatusEntry(json({ v: 1, device: 'd1', state: 'online', source: 'status', receivedAt: 9, conn: 42 })).conn).toBe(42);
    expect(refusal(() => parseStatusEntry(json({ v: 1, device: 'd1', state: 'online', source: 'status', receivedAt: 9, conn: -1 }))).message).toMatch(/^conn: must be a non-negative integer/);
  });
});

describe('commands', () => {
  it('accepts a command, refuses the reserved name, bad ids and big payloads', () => {
    expect(parseCommand(json({ v: 1, id: 'c-1', name: 'reboot', args: { now: true } })).name).toBe('reboot');
    expect(refusal(() => parseCommand(json({ v: 1, id: 'c-1', name: 'rejected' }))).message).toBe('name: "rejected" is reserved');
    expect(refusal(() => parseCommand(json({ v: 1, id: 'c 1', name: 'reboot' }))).path).toBe('id');
    expect(refusal(() => parseCommand(json({ v: 1, id: 'c1', name: 'Reboot' }))).path).toBe('name');
    expect(refusal(() => parseCommand(json({ v: 1, id: 'c1', name: 'x', args: [] }))).message).toBe('args: must be an object, got an array');
    expect(refusal(() => parseCommand('x'.repeat(64 * 1024 + 1))).reason).toBe('too_large');
  });

  it('reads the gateway reply: delivered with ok, an error without', () => {
    expect(parseCommandReply(json({ ok: true, delivered: false }))).toEqual({ ok: true, delivered: false });
    expect(parseCommandReply(json({ ok: false, error: 'no' })).error).toBe('no');
    expect(refusal(() => parseCommandReply(json({ ok: false }))).message).toBe('error: is required when ok is false');
  });

  it('reads a rejection notice with a reason from the closed set', () => {
    const n = { v: 1, name: 'rejected', args: { batch: 'd1:abcdefgh:3', reason: 'bad_json', error: 'payload: not JSON' } };
    expect(parseRejectionNotice(json(n)).args.batch).toBe('d1:abcdefgh:3');
    expect(parseRejectionNotice(json({ ...n, args: { ...n.args, batch: null } })).args.batch).toBeNull();
    expect(refusal(() => parseRejectionNotice(json({ ...n, args: { ...n.args, reason: 'nope' } }))).message).toMatch(/^args\.reason: must be one of bad_id, /);
    expect(refusal(() => parseRejectionNotice(json({ ...n, args: { ...n.args, batch: 7 } }))).message).toBe('args.batch: must be a batch id or null, got 7');
    expect(parseBatchId('d1:abcdefgh:3')).toEqual({ device: 'd1', epoch: 'abcdefgh', seq: 3 });
    expect(parseBatchId('d1:abc:3')).toBeNull();
  });
});

describe('alerts and sessions', () => {
  it('accepts an alert on its own subject; the id must follow from the event data', () => {
    const a = alert();
    expect(parseAlert(json(a), { subject: subjects.alerts('critical', 'gh-01') })).toEqual(a);
    expect(refusal(() => parseAlert(json(a), { subject: 'fl.alerts.info.gh-01' })).reason).toBe('bad_topic');
    expect(refusal(() => parseAlert(json({ ...a, id: 'x' }))).message).toBe('id: must be "gh-01:temp:temp-high:1000" ({device}:{sensor}:{rule}:{start}), got "x"');
  });

  it('holds rules to the id pattern the processor config enforces', () => {
    const err = refusal(() => parseAlert(json(alert({ rule: 'Temp.High' }))));
    expect([err.reason, err.path]).toEqual(['bad_id', 'rule']);
    expect(err.message).toBe('rule: rule id "Temp.High" must be lower case; must match [a-z0-9][a-z0-9_-]{0,62}');
  });

  it('checks session summaries', () => {
    const s = { v: 1, device: 'd1', sensor: 's', start: 1, end: 2, count: 3, min: 0, max: 1, mean: 0.5, stddev: 0.1, anomalies: 0, closedBy: 'gap' };
    expect(parseSession(json(s))).toEqual(s);
    expect(refusal(() => parseSession(json({ ...s, count: 1.5 }))).message).toBe('count: must be a non-negative integer, got 1.5');
  });
});

describe('dead letters', () => {
  it('one builder: subject by reason and device, escaped and capped error, msgID from the bytes', () => {
    const dl = deadLetter({ reason: 'bad_json', device: 'd1', source: 'mqtt:telemetry', error: `bad\r\nline ${'x'.repeat(2000)}`, payload: 'not json' });
    expect(dl.subject).toBe('fl.deadletter.bad_json.d1');
    expect(dl.headers[DEADLETTER_HEADERS.error]).toMatch(/^bad\\u000d\\u000aline x/);
    expect(dl.headers[DEADLETTER_HEADERS.error]).toHaveLength(MAX_DEADLETTER_HEADER_CHARS);
    expect(dl.msgID).toBe(deadLetter({ reason: 'bad_json', device: 'd1', source: 'processor/partition-1', error: 'other', payload: Buffer.from('not json') }).msgID);
    expect(dl.msgID).not.toBe(deadLetter({ reason: 'bad_schema', device: 'd1', source: 'mqtt:telemetry', error: 'x', payload: 'not json' }).msgID);
    expect(deadLetter({ reason: 'bad_id', device: 'a.b.>', source: 'mqtt:telemetry', error: 'x', payload: '' }).subject).toBe('fl.deadletter.bad_id._unknown');
    expect(readDeadLetter((k) => dl.headers[k as keyof typeof dl.headers])).toEqual({ reason: 'bad_json', error: dl.headers['Fl-Error'], device: 'd1', source: 'mqtt:telemetry' });
  });

  it('takes only reasons of the closed set', () => {
    expect(REJECT_REASONS).toContain('influx_rejected');
    expect(() => deadLetter({ reason: 'whatever' as never, device: 'd1', source: 'x', error: '', payload: '' })).toThrow(/unknown reason/);
  });
});
