'use strict';
const { randomUUID } = require('node:crypto');
const { loadContract, nats } = require('../lib/contract.js');

const { ErrorCode } = nats();

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * `fieldline command`: sends a contract CommandMessage `{v:1, id, name, args}` to one device,
 * either on NATS `fl.commands.{device}` (the gateway forwards it to MQTT
 * `fl/v1/{device}/commands/{name}`) or through the query API's `POST /api/v1/devices/{device}/commands`.
 */
module.exports = async function (RED) {
  const contract = await loadContract();

  function FieldlineCommandNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const conn = RED.nodes.getNode(config.connection);
    const via = config.via === 'api' ? 'api' : 'nats';
    const timeoutMs = Number(config.timeout) > 0 ? Number(config.timeout) * 1000 : DEFAULT_TIMEOUT_MS;
    let sent = 0;

    /** Builds the command and validates it with the contract; ids become subject tokens and topic levels. */
    function build(msg) {
      const device = msg.device ?? config.device;
      try {
        contract.assertDeviceId(device, 'device');
        const id = typeof msg.commandId === 'string' && msg.commandId ? msg.commandId : randomUUID();
        const args = msg.payload;
        // `rejected` is refused by the contract: the gateway sends those notices itself.
        const cmd = contract.commandMessage.validate(args === undefined ? { v: 1, id, name: msg.command ?? config.command } : { v: 1, id, name: msg.command ?? config.command, args });
        return { device, cmd };
      } catch (err) {
        throw new Error(`fieldline command: ${err.message}`, { cause: err });
      }
    }

    async function viaApi(device, cmd) {
      if (!conn.apiUrl) throw new Error('fieldline command: the fieldline-config has no query API URL');
      const url = new URL(`${conn.apiUrl}/api/v1/devices/${encodeURIComponent(device)}/commands`);
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${conn.apiToken}`, 'content-type': 'application/json' },
        // The API builds the CommandMessage itself from {name, args?, id}.
        body: JSON.stringify({ name: cmd.name, id: cmd.id, ...(cmd.args ? { args: cmd.args } : {}) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!res.ok) throw new Error(`fieldline command: ${url.pathname} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      return {};
    }

    /**
     * A request, so the gateway's answer `{ok, delivered}` says the command reached its broker
     * (`delivered`: the device has a session there). No gateway subscribed = an error, not a
     * silently lost command.
     */
    async function viaNats(device, cmd) {
      const nc = await conn.nats();
      const subject = contract.subjects.commands(device);
      let reply;
      try {
        reply = await nc.request(subject, JSON.stringify(cmd), { timeout: timeoutMs });
      } catch (err) {
        if (err.code === ErrorCode.NoResponders) throw new Error(`fieldline command: no gateway is subscribed to ${subject}`);
        if (err.code === ErrorCode.Timeout) throw new Error(`fieldline command: no answer from the gateway on ${subject} within ${timeoutMs} ms`);
        throw err;
      }
      let answer;
      try {
        answer = contract.parseCommandReply(reply.data);
      } catch (err) {
        throw new Error(`fieldline command: the gateway's answer on ${subject} is not a command reply: ${err.message}`, { cause: err });
      }
      if (!answer.ok) throw new Error(`fieldline command: the gateway refused it: ${answer.error}`);
      return { delivered: answer.delivered === true };
    }

    node.on('input', async (msg, send, done) => {
      if (!conn) return done(new Error('fieldline command: no fieldline-config connection selected'));
      let built;
      try {
        built = build(msg);
      } catch (err) {
        node.status({ fill: 'red', shape: 'ring', text: 'bad command' });
        return done(err);
      }
      try {
        const result = await (via === 'api' ? viaApi(built.device, built.cmd) : viaNats(built.device, built.cmd));
        sent++;
        node.status({ fill: 'green', shape: 'dot', text: `${sent} sent, last ${built.cmd.name} to ${built.device}` });
        msg.payload = built.cmd;
        msg.device = built.device;
        if (result.delivered !== undefined) msg.delivered = result.delivered;
        send(msg);
        done();
      } catch (err) {
        node.status({ fill: 'red', shape: 'ring', text: 'send failed' });
        done(String(err?.message).startsWith('fieldline') ? err : new Error(`fieldline command: ${err.message}`, { cause: err }));
      }
    });
  }

  RED.nodes.registerType('fieldline command', FieldlineCommandNode);
};
