'use strict';
const { loadContract, loadNatsHelpers, nats } = require('../lib/contract.js');

const { AckPolicy, DeliverPolicy, nanos } = nats();
const { parseList, alertFilter } = require('../lib/alert.js');
const inflight = require('../lib/inflight.js');

const DURABLE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const RESTART_DELAY_MS = 3000;
// The server's ack_wait is only the backstop for a Node-RED that died: our own timer naks first.
const SERVER_ACK_WAIT_MARGIN_MS = 10_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function positive(value, fallback) {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/**
 * `fieldline alerts`: AlertEvents from the ALERTS stream through a durable pull consumer.
 *
 * Delivery semantics (at least once; see the help text and README):
 * - filtered-out alerts are acked at once; messages that are not AlertEvents are terminated
 *   (never redelivered) and counted;
 * - every emitted alert stays unacked until the flow settles it: a `fieldline ack` node (ack or
 *   nak), or in `complete` mode every node wired to this one calling `done()`;
 * - a node reporting an error for the message (`done(err)`), the ack timeout, or a redeploy
 *   naks it, and JetStream redelivers it after the retry delay.
 */
module.exports = async function (RED) {
  const contract = await loadContract();
  const { isNotFound } = await loadNatsHelpers();
  inflight.installCompleteHook(RED);

  function FieldlineAlertsNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const conn = RED.nodes.getNode(config.connection);
    if (!conn) {
      node.status({ fill: 'red', shape: 'ring', text: 'no connection' });
      node.error('fieldline alerts: no fieldline-config connection selected');
      return;
    }
    const durable = config.durable || `node-red-${node.id}`;
    if (!DURABLE_PATTERN.test(durable)) {
      node.status({ fill: 'red', shape: 'ring', text: 'bad durable name' });
      node.error(`fieldline alerts: durable name ${JSON.stringify(durable)} must match [A-Za-z0-9_-]{1,64}`);
      return;
    }
    const matches = alertFilter({
      severities: parseList(config.severities),
      devices: parseList(config.devices),
      rules: parseList(config.rules),
    });
    const ackMode = config.ackMode === 'complete' ? 'complete' : 'ack-node';
    const ackTimeoutMs = positive(config.ackTimeout, 60) * 1000;
    const retryDelayMs = positive(config.retryDelay, 5) * 1000;
    const maxInFlight = Math.floor(positive(config.maxInFlight, 16));
    const maxDeliver = Math.floor(Number(config.maxDeliver)) > 0 ? Math.floor(Number(config.maxDeliver)) : -1;
    const deliverPolicy = config.start === 'all' ? DeliverPolicy.All : DeliverPolicy.New;
    const wired = node.wires.flat();
    const counts = { acked: 0, nakked: 0, filtered: 0, invalid: 0 };
    /** @type {Map<string, {m: import('nats').JsMsg, timer: NodeJS.Timeout}>} */
    const pending = new Map();
    let closed = false;
    let connState = 'connecting';
    let phase = 'starting';
    /** @type {import('nats').ConsumerMessages | undefined} */
    let messages;

    function showStatus() {
      if (connState !== 'connected') return node.status({ fill: 'red', shape: 'ring', text: connState });
      if (phase !== 'consuming') return node.status({ fill: 'yellow', shape: 'ring', text: phase });
      const filtered = counts.filtered > 0 ? `, ${counts.filtered} filtered` : '';
      const bad = counts.invalid > 0 ? `, ${counts.invalid} invalid` : '';
      node.status({
        fill: counts.invalid > 0 ? 'yellow' : 'green',
        shape: 'dot',
        text: `${pending.size} in flight, ${counts.acked} acked, ${counts.nakked} retried${filtered}${bad}`,
      });
    }
    node.connectionState = (s) => {
      connState = s;
      showStatus();
    };
    conn.register(node);

    function settle(msgid, outcome, reason) {
      const entry = pending.get(msgid);
      if (!entry) return;
      pending.delete(msgid);
      inflight.untrack(msgid);
      clearTimeout(entry.timer);
      if (outcome === 'ack') {
        entry.m.ack();
        counts.acked++;
      } else {
        entry.m.nak(retryDelayMs);
        counts.nakked++;
        node.warn(`fieldline alerts: ${entry.m.subject} seq ${entry.m.seq} will be redelivered: ${reason}`);
      }
      showStatus();
    }

    function handle(m) {
      let alert;
      try {
        alert = contract.parseAlert(m.data, { subject: m.subject });
      } catch (err) {
        // Not an AlertEvent: redelivery cannot fix it, so it is terminated, counted and logged.
        counts.invalid++;
        m.term();
        node.error(`fieldline alerts: refused ${m.subject} seq ${m.seq}: ${err.message}`);
        return showStatus();
      }
      if (!matches(alert)) {
        counts.filtered++;
        m.ack();
        return showStatus();
      }
      const msg = {
        _msgid: RED.util.generateId(),
        topic: m.subject,
        payload: alert,
        fieldline: { stream: contract.STREAMS.ALERTS.name, consumer: durable, seq: m.seq, deliveryCount: m.info.redeliveryCount, redelivered: m.redelivered },
      };
      const id = msg._msgid;
      const waiting = new Set(wired);
      const timer = setTimeout(() => settle(id, 'nak', `not settled within ${ackTimeoutMs / 1000} s`), ackTimeoutMs);
      pending.set(id, { m, timer });
      inflight.track(id, {
        settle: (outcome, reason) => settle(id, outcome, reason),
        onComplete: (nodeId, error) => {
          if (error) return settle(id, 'nak', `node ${nodeId} reported: ${error.message ?? error}`);
          if (ackMode === 'complete' && waiting.delete(nodeId) && waiting.size === 0) settle(id, 'ack', 'complete');
        },
      });
      showStatus();
      node.send(msg);
      if (ackMode === 'complete' && waiting.size === 0) settle(id, 'ack', 'nothing wired');
    }

    async function ensureConsumer(jsm) {
      const stream = contract.STREAMS.ALERTS.name;
      const tunable = { ack_wait: nanos(ackTimeoutMs + SERVER_ACK_WAIT_MARGIN_MS), max_deliver: maxDeliver, max_ack_pending: maxInFlight };
      try {
        await jsm.consumers.info(stream, durable);
        await jsm.consumers.update(stream, durable, tunable);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await jsm.consumers.add(stream, {
          durable_name: durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: deliverPolicy,
          filter_subject: contract.STREAMS.ALERTS.subjects[0],
          ...tunable,
        });
      }
    }

    async function consumeOnce() {
      const nc = await conn.nats();
      const jsm = await nc.jetstreamManager();
      for (;;) {
        try {
          await jsm.streams.info(contract.STREAMS.ALERTS.name);
          break;
        } catch (err) {
          if (!isNotFound(err) || closed) throw err;
          phase = `waiting for stream ${contract.STREAMS.ALERTS.name}`;
          showStatus();
          await sleep(RESTART_DELAY_MS);
        }
      }
      await ensureConsumer(jsm);
      const consumer = await nc.jetstream().consumers.get(contract.STREAMS.ALERTS.name, durable);
      messages = await consumer.consume({ max_messages: maxInFlight });
      phase = 'consuming';
      showStatus();
      for await (const m of messages) handle(m);
    }

    (async () => {
      while (!closed) {
        try {
          await consumeOnce();
        } catch (err) {
          if (closed) break;
          phase = `error: ${err.message}`;
          node.error(`fieldline alerts: consumer ${durable}: ${err.message}; retrying in ${RESTART_DELAY_MS / 1000} s`);
          showStatus();
        }
        if (!closed) await sleep(RESTART_DELAY_MS);
      }
    })();

    node.on('close', (done) => {
      closed = true;
      conn.deregister(node);
      messages?.stop();
      // Alerts the old flow still holds go back to JetStream for the next deployment.
      for (const id of [...pending.keys()]) settle(id, 'nak', 'flow stopped');
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('fieldline alerts', FieldlineAlertsNode);
};
