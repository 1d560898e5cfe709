import { ContractError } from './errors.js';

/**
 * Device and sensor ids become InfluxDB tag values, NATS subject tokens and MQTT topic levels,
 * so they are restricted to characters that need no escaping in any of them. Detector rule ids
 * follow the same rule (they are InfluxDB tags and part of alert ids).
 */
export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Edge epochs: random, created with the edge's state directory. */
export const EPOCH_PATTERN = /^[a-z0-9]{8,32}$/;

export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id);
}

function describe(value: unknown): string {
  if (typeof value !== 'string') return `a ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}`;
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(shown);
}

/** What is wrong with an id, for messages: `device id "Dev1" must be lower case; must match …`. */
export function idProblem(kind: string, id: unknown): string {
  let why = 'must match [a-z0-9][a-z0-9_-]{0,62}';
  if (typeof id === 'string') {
    if (id.length === 0) why = 'must not be empty';
    else if (id.length > 63) why = `is ${id.length} characters long; at most 63 are allowed`;
    else if (/[A-Z]/.test(id)) why = 'must be lower case; ' + why;
  }
  return `${kind} ${describe(id)} ${why}`;
}

/** Throws a {@link ContractError} naming what is wrong with a device id. */
export function assertDeviceId(id: unknown, path = 'device'): asserts id is string {
  if (!isValidId(id)) throw new ContractError('bad_id', path, idProblem('device id', id));
}

/** Throws a {@link ContractError} naming what is wrong with a sensor id. */
export function assertSensorId(id: unknown, path = 'sensor'): asserts id is string {
  if (!isValidId(id)) throw new ContractError('bad_id', path, idProblem('sensor id', id));
}

export function assertEpoch(epoch: unknown, path = 'epoch'): asserts epoch is string {
  if (typeof epoch === 'string' && EPOCH_PATTERN.test(epoch)) return;
  throw new ContractError('bad_schema', path, `epoch ${describe(epoch)} must match [a-z0-9]{8,32}`);
}
