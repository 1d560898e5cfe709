'use strict';
/**
 * Alerts handed to a flow and not yet settled, keyed by `msg._msgid`. Node-RED keeps `_msgid`
 * when it clones a message for a second wire, so every copy of an alert settles the same
 * JetStream message; the first settlement wins and later ones are reported as stale.
 */

/** @typedef {'ack' | 'nak'} Outcome */
/**
 * @typedef {object} InflightEntry
 * @property {(outcome: Outcome, reason: string) => void} settle
 * @property {(nodeId: string, error: unknown) => void} onComplete
 */

/** @type {Map<string, InflightEntry>} */
const entries = new Map();

function track(msgid, entry) {
  entries.set(msgid, entry);
}

function untrack(msgid) {
  entries.delete(msgid);
}

/** Settles the alert carried by `msgid`; false when it is not (or no longer) in flight. */
function settle(msgid, outcome, reason) {
  const entry = entries.get(msgid);
  if (!entry) return false;
  entry.settle(outcome, reason);
  return true;
}

let hooked = false;

/**
 * Registers one `onComplete` messaging hook for the whole palette: it sees every `done()` of
 * every node and forwards those that carry an in-flight alert.
 */
function installCompleteHook(RED) {
  if (hooked) return;
  hooked = true;
  RED.hooks.add('onComplete.fieldline', (event) => {
    const entry = event.msg && entries.get(event.msg._msgid);
    if (entry) entry.onComplete(event.node.id, event.error);
  });
}

module.exports = { track, untrack, settle, installCompleteHook };
