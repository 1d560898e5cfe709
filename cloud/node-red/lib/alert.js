'use strict';
/**
 * Validation and filtering of AlertEvents read from the ALERTS stream. The producer (the cloud
 * processor) is trusted but the stream is not: anything else may publish on `fl.alerts.>`, so a
 * message that is not an AlertEvent on its own subject is refused with a reason naming the key.
 */

const STATES = ['firing', 'resolved'];
const ALERT_KEYS = new Set(['v', 'id', 'state', 'severity', 'device', 'sensor', 'rule', 'start', 'end', 'ts', 'value', 'score', 'message']);
const RULE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

class AlertFormatError extends Error {
  constructor(path, message, options) {
    super(`${path}: ${message}`, options);
    this.name = 'AlertFormatError';
    this.path = path;
  }
}

function finite(obj, key) {
  if (typeof obj[key] !== 'number' || !Number.isFinite(obj[key])) {
    throw new AlertFormatError(key, `must be a finite number, got ${JSON.stringify(obj[key])}`);
  }
}

/**
 * Parses one ALERTS message.
 * @param {import('@fieldline/contract')} contract
 * @param {Uint8Array} data
 * @param {string} subject the NATS subject it arrived on
 * @returns {import('@fieldline/contract').AlertEvent}
 */
function parseAlert(contract, data, subject) {
  let obj;
  try {
    obj = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch (err) {
    throw new AlertFormatError('payload', `is not valid JSON (${err.message})`, { cause: err });
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new AlertFormatError('payload', 'must be a JSON object');
  for (const key of Object.keys(obj)) {
    if (!ALERT_KEYS.has(key)) throw new AlertFormatError(key, 'unknown key');
  }
  if (obj.v !== 1) throw new AlertFormatError('v', `must be 1, got ${JSON.stringify(obj.v)}`);
  if (!STATES.includes(obj.state)) throw new AlertFormatError('state', `must be one of ${STATES.join(', ')}`);
  if (!contract.SEVERITIES.includes(obj.severity)) throw new AlertFormatError('severity', `must be one of ${contract.SEVERITIES.join(', ')}`);
  if (!contract.isValidId(obj.device)) throw new AlertFormatError('device', 'must be a device id ([a-z0-9][a-z0-9_-]{0,62})');
  if (!contract.isValidId(obj.sensor)) throw new AlertFormatError('sensor', 'must be a sensor id ([a-z0-9][a-z0-9_-]{0,62})');
  if (typeof obj.rule !== 'string' || !RULE_PATTERN.test(obj.rule)) throw new AlertFormatError('rule', 'must match [A-Za-z0-9][A-Za-z0-9_.-]{0,62}');
  for (const key of ['start', 'ts', 'value', 'score']) finite(obj, key);
  if (obj.end !== undefined) finite(obj, 'end');
  if (typeof obj.message !== 'string') throw new AlertFormatError('message', 'must be a string');
  if (obj.id !== contract.alertId(obj)) {
    throw new AlertFormatError('id', `must be ${JSON.stringify(contract.alertId(obj))} ({device}:{sensor}:{rule}:{start}), got ${JSON.stringify(obj.id)}`);
  }
  const expected = contract.subjects.alerts(obj.severity, obj.device);
  if (subject !== expected) throw new AlertFormatError('subject', `alert for ${obj.device}/${obj.severity} arrived on "${subject}", expected "${expected}"`);
  return obj;
}

/** Comma/space separated list -> array; empty means "any". */
function parseList(text) {
  return String(text ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * @param {{severities: string[], devices: string[], rules: string[]}} filter empty list = any
 * @returns {(alert: import('@fieldline/contract').AlertEvent) => boolean}
 */
function alertFilter(filter) {
  const sev = new Set(filter.severities);
  const dev = new Set(filter.devices);
  const rules = new Set(filter.rules);
  return (a) => (sev.size === 0 || sev.has(a.severity)) && (dev.size === 0 || dev.has(a.device)) && (rules.size === 0 || rules.has(a.rule));
}

module.exports = { AlertFormatError, parseAlert, parseList, alertFilter };
