'use strict';
/**
 * Filtering of AlertEvents read from the ALERTS stream. Validation is the wire contract's own
 * (`contract.parseAlert`): the producer (the cloud processor) is trusted but the stream is not,
 * so a message that is not an AlertEvent on its own subject is refused with a ContractError
 * naming the key.
 */

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

module.exports = { parseList, alertFilter };
