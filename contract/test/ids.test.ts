import { describe, expect, it } from 'vitest';
import { assertDeviceId, assertEpoch, assertSensorId, ContractError, isValidId } from '../src/index.js';

describe('id rules', () => {
  it.each(['a', '0', 'dev-1', 'sensor_2', 'a'.repeat(63), 'x-_9'])('accepts %j', (id) => {
    expect(isValidId(id)).toBe(true);
    expect(() => assertDeviceId(id)).not.toThrow();
  });

  it.each([
    ['', 'device: device id "" must not be empty'],
    ['Dev1', 'device: device id "Dev1" must be lower case; must match [a-z0-9][a-z0-9_-]{0,62}'],
    ['-dev', 'device: device id "-dev" must match [a-z0-9][a-z0-9_-]{0,62}'],
    ['_dev', 'device: device id "_dev" must match [a-z0-9][a-z0-9_-]{0,62}'],
    ['a'.repeat(64), 'device: device id "' + 'a'.repeat(40) + '…" is 64 characters long; at most 63 are allowed'],
    ['dev 1', 'device: device id "dev 1" must match [a-z0-9][a-z0-9_-]{0,62}'],
    ['dev.1', 'device: device id "dev.1" must match [a-z0-9][a-z0-9_-]{0,62}'],
    ['dev/1', 'device: device id "dev/1" must match [a-z0-9][a-z0-9_-]{0,62}'],
    ['dev*', 'device: device id "dev*" must match [a-z0-9][a-z0-9_-]{0,62}'],
    ['__proto__', 'device: device id "__proto__" must match [a-z0-9][a-z0-9_-]{0,62}'],
    ['dév', 'device: device id "dév" must match [a-z0-9][a-z0-9_-]{0,62}'],
    ['dev\n1', 'device: device id "dev\\n1" must match [a-z0-9][a-z0-9_-]{0,62}'],
  ])('rejects %j with a message naming what is wrong', (id, message) => {
    expect(isValidId(id)).toBe(false);
    expect(() => assertDeviceId(id)).toThrow(new ContractError('bad_id', 'device', message.replace(/^device: /, '')));
  });

  it('rejects non-strings and names the type', () => {
    expect(() => assertSensorId(42, 'readings[0].sensor')).toThrow('readings[0].sensor: sensor id a number must match');
    expect(() => assertSensorId(null)).toThrow('sensor: sensor id a null must match');
  });

  it('checks epochs', () => {
    expect(() => assertEpoch('abcd1234')).not.toThrow();
    expect(() => assertEpoch('short')).toThrow('epoch: epoch "short" must match [a-z0-9]{8,32}');
    expect(() => assertEpoch('ABCD12345')).toThrow(ContractError);
  });
});
