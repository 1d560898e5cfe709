import { describe, expect, it } from 'vitest';
import {
  batchId,
  ContractError,
  encodeEnvelope,
  MAX_ENVELOPE_BYTES,
  MAX_READINGS,
  MAX_TS_MS,
  parseEnvelope,
  type Envelope,
} from '../src/index.js';

const good = (): Envelope => ({
  v: 1,
  device: 'dev-1',
  epoch: 'k3j2h4g5',
  seq: 7,
  clock: { synced: true, now: 1_700_000_000_500 },
  readings: [
    { sensor: 'temp', ts: 1_700_000_000_000, value: 21.5, unit: 'C' },
    { sensor: 'hum', ts: 1_700_000_000_000.25, value: 40, quality: 'uncertain' },
  ],
});

function rejection(payload: unknown, expected?: string): ContractError {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  try {
    parseEnvelope(text, expected);
  } catch (err) {
    expect(err).toBeInstanceOf(ContractError);
    return err as ContractError;
  }
  throw new Error('expected a rejection');
}

describe('envelope v1', () => {
  it('round-trips a valid batch and a heartbeat', () => {
    const env = good();
    expect(parseEnvelope(encodeEnvelope(env), 'dev-1')).toEqual(env);
    const hb = { ...good(), readings: [], health: { queue_depth: 3, uptime_s: 10 } };
    expect(parseEnvelope(Buffer.from(encodeEnvelope(hb)))).toEqual(hb);
    expect(batchId(env)).toBe('dev-1:k3j2h4g5:7');
  });

  it.each([
    ['not json', 'bad_json', 'payload', /^payload: is not valid JSON/],
    ['[]', 'bad_schema', 'envelope', 'envelope: must be an object, got an array'],
    ['null', 'bad_schema', 'envelope', 'envelope: must be an object, got null'],
  ])('rejects %j', (payload, reason, path, message) => {
    const err = rejection(payload);
    expect([err.reason, err.path]).toEqual([reason, path]);
    expect(err.message).toMatch(message);
  });

  const cases: [string, (e: Record<string, any>) => void, string, string][] = [
    ['a wrong version', (e) => (e.v = 2), 'bad_schema', 'v: must be 1, got 2'],
    ['an unknown key', (e) => (e.extra = 1), 'bad_schema', 'extra: unknown key'],
    ['a __proto__ key', (e) => (e.readings[0] = JSON.parse('{"__proto__":1,"sensor":"a","ts":1,"value":1}')), 'bad_reading', 'readings[0].__proto__: unknown key'],
    ['a bad device id', (e) => (e.device = 'Dev 1'), 'bad_id', 'device: device id "Dev 1" must be lower case; must match [a-z0-9][a-z0-9_-]{0,62}'],
    ['a bad epoch', (e) => (e.epoch = 'x'), 'bad_schema', 'epoch: must match [a-z0-9]{8,32}, got "x"'],
    ['seq 0', (e) => (e.seq = 0), 'bad_schema', 'seq: must be a positive integer, got 0'],
    ['a fractional seq', (e) => (e.seq = 1.5), 'bad_schema', 'seq: must be a positive integer, got 1.5'],
    ['a missing clock', (e) => delete e.clock, 'bad_schema', 'clock: is required'],
    ['a non-boolean sync state', (e) => (e.clock.synced = 'yes'), 'bad_schema', 'clock.synced: must be a boolean, got "yes"'],
    ['readings not an array', (e) => (e.readings = {}), 'bad_schema', 'readings: must be an array, got an object'],
    ['a bad sensor id', (e) => (e.readings[1].sensor = 'te,mp'), 'bad_reading', 'readings[1].sensor: sensor id "te,mp" must match [a-z0-9][a-z0-9_-]{0,62}'],
    ['a negative ts', (e) => (e.readings[0].ts = -1), 'bad_reading', 'readings[0].ts: must be an event time in epoch ms between 0 and 9223372036854, got -1'],
    ['a string value', (e) => (e.readings[0].value = '21.5'), 'bad_reading', 'readings[0].value: must be a finite number, got "21.5"'],
    ['a null value', (e) => (e.readings[0].value = null), 'bad_reading', 'readings[0].value: must be a finite number, got null'],
    ['a unit with a newline', (e) => (e.readings[0].unit = 'C\n'), 'bad_reading', 'readings[0].unit: must be a printable string of at most 32 characters, got "C\\n"'],
    ['an unknown quality', (e) => (e.readings[0].quality = 'great'), 'bad_reading', 'readings[0].quality: must be one of good, uncertain, bad, got "great"'],
    ['a non-numeric health figure', (e) => (e.health = { queue_depth: 'x' }), 'bad_schema', 'health.queue_depth: must be a finite number, got "x"'],
    ['a bad health key', (e) => (e.health = { 'Queue depth': 1 }), 'bad_schema', 'health.Queue depth: key must match [a-z][a-z0-9_]{0,62}, got "Queue depth"'],
  ];
  it.each(cases)('rejects %s, naming the key', (_what, mutate, reason, message) => {
    const env = good() as unknown as Record<string, any>;
    mutate(env);
    const err = rejection(env);
    expect(err.reason).toBe(reason);
    expect(err.message).toBe(message);
  });

  it('time bounds are the sink\'s: the last whole ms of InfluxDB\'s int64 nanoseconds is accepted, the next refused', () => {
    // InfluxDB stores int64 ns and refuses the two largest values: 2^63 - 2 ns is its last time.
    const influxMaxNs = 2n ** 63n - 2n;
    expect(BigInt(MAX_TS_MS) * 1_000_000n <= influxMaxNs && (BigInt(MAX_TS_MS) + 1n) * 1_000_000n > influxMaxNs).toBe(true);
    const at = (ts: number) => ({ ...good(), readings: [{ sensor: 's', ts, value: 1 }] });
    expect(parseEnvelope(JSON.stringify(at(MAX_TS_MS))).readings[0]!.ts).toBe(MAX_TS_MS);
    // Year 2264 (the time that made InfluxDB refuse the line) is the contract's refusal now.
    const err = rejection(at(Date.UTC(2264, 0, 1)));
    expect([err.reason, err.path]).toEqual(['bad_reading', 'readings[0].ts']);
    expect(rejection({ ...good(), clock: { synced: true, now: MAX_TS_MS + 1 } }).path).toBe('clock.now');
  });

  it('says what 1e309 is (JSON.parse reads it as Infinity), not "null"', () => {
    const text = encodeEnvelope(good()).replace('"value":21.5', '"value":1e309');
    const err = rejection(text);
    expect(err.message).toBe('readings[0].value: must be a finite number, got a number too large for a double (it reads as Infinity)');
    expect(rejection(text.replace('1e309', '-1e309')).message).toMatch(/got a number too large for a double \(it reads as -Infinity\)$/);
  });

  it('never quotes attacker text without a bound: a 100 KB key gives a short error', () => {
    const key = 'k'.repeat(100_000);
    const base = encodeEnvelope(good()).slice(0, -1);
    for (const text of [`${base},"${key}":1}`, `${base},"health":{"${key}":1}}`, `${base},"health":{"a${key}":"x"}}`]) {
      const err = rejection(text);
      expect(err.message.length, err.message.slice(0, 100)).toBeLessThan(400);
      expect(err.message).toMatch(/^(health\.)?a?k{62,63}…: /);
    }
  });

  it('rejects an envelope sent by another device', () => {
    const err = rejection(good(), 'dev-2');
    expect(err.reason).toBe('device_mismatch');
    expect(err.message).toBe('device: envelope names device "dev-1" but was sent by "dev-2"');
  });

  it('bounds size and reading count', () => {
    const big = 'x'.repeat(MAX_ENVELOPE_BYTES + 1);
    expect(rejection(big).reason).toBe('too_large');
    const many = good();
    many.readings = Array.from({ length: MAX_READINGS + 1 }, (_, i) => ({ sensor: 's', ts: i, value: i }));
    const err = rejection(many);
    expect([err.reason, err.path]).toEqual(['too_large', 'readings']);
  });

  it('never throws anything but ContractError, whatever the bytes', () => {
    let state = 12345;
    const rnd = (): number => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const seedText = encodeEnvelope(good());
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(seedText);
      for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256);
      try {
        parseEnvelope(bytes);
      } catch (err) {
        expect(err).toBeInstanceOf(ContractError);
      }
    }
  });
});
