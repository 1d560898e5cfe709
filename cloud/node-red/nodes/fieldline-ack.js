'use strict';
const inflight = require('../lib/inflight.js');

/**
 * `fieldline ack`: settles the JetStream message behind an alert that a `fieldline alerts` node
 * emitted. `ack` = handled, never redelivered; `nak` = redeliver after the alerts node's retry
 * delay. The message is matched by `msg._msgid`, so flows must pass the alert's msg object on
 * (or copy `_msgid`). The first settlement wins; later copies count as "already settled".
 */
module.exports = function (RED) {
  function FieldlineAckNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const action = config.action === 'nak' ? 'nak' : 'ack';
    let settled = 0;
    let stale = 0;

    node.on('input', (msg, send, done) => {
      const reason = action === 'nak' ? String(msg.error?.message ?? msg.reason ?? `sent to ${node.name || 'fieldline ack (nak)'}`) : 'handled';
      if (inflight.settle(msg._msgid, action, reason)) settled++;
      else stale++;
      node.status({ fill: 'green', shape: action === 'ack' ? 'dot' : 'ring', text: `${settled} ${action}ed${stale ? `, ${stale} already settled` : ''}` });
      send(msg);
      done();
    });
  }

  RED.nodes.registerType('fieldline ack', FieldlineAckNode);
};
