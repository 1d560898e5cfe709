'use strict';
const { connect } = require('../lib/contract.js').nats();

/**
 * `fieldline-config`: one NATS connection shared by every fieldline node that uses this config,
 * plus the query API's base URL. Secrets (NATS user/password or token, API token) live in
 * Node-RED's credentials store, encrypted with `credentialSecret`, never in the flow JSON.
 */
module.exports = function (RED) {
  function FieldlineConfigNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const creds = node.credentials || {};
    node.servers = String(config.servers || 'nats://127.0.0.1:4222')
      .split(/[\s,]+/)
      .filter(Boolean);
    node.apiUrl = String(config.apiUrl || '').replace(/\/+$/, '');
    node.apiToken = creds.apiToken || '';

    /** Nodes using the connection get its state as their status. @type {Set<{connectionState(s: string): void}>} */
    const users = new Set();
    let state = 'connecting';
    let closing = false;
    /** @type {Promise<import('nats').NatsConnection> | undefined} */
    let connection;
    /** @type {import('nats').NatsConnection | undefined} */
    let connected;

    const broadcast = (s) => {
      state = s;
      for (const u of users) u.connectionState(s);
    };

    async function watch(nc) {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnecting') broadcast('disconnected');
        else if (s.type === 'reconnect') broadcast('connected');
      }
    }

    /** The shared connection, created on first use; retries until the server answers. */
    node.nats = () => {
      connection ??= connect({
        servers: node.servers,
        name: `node-red fieldline ${node.id}`,
        user: creds.natsUser || undefined,
        pass: creds.natsPassword || undefined,
        token: creds.natsToken || undefined,
        waitOnFirstConnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
      }).then((nc) => {
        if (closing) {
          void nc.close();
          throw new Error('fieldline-config: closed while connecting');
        }
        connected = nc;
        broadcast('connected');
        watch(nc).catch((err) => node.error(`fieldline-config: NATS status watch ended: ${err.message}`));
        return nc;
      });
      // A failed connect (bad URL, bad credentials) is retried by the next caller, not cached.
      connection.catch(() => {
        connection = undefined;
      });
      return connection;
    };

    node.register = (user) => {
      users.add(user);
      user.connectionState(state);
    };
    node.deregister = (user) => users.delete(user);

    node.on('close', (done) => {
      closing = true;
      const nc = connected;
      connection = connected = undefined;
      // Still connecting: the `closing` check above closes it if the server ever answers.
      if (!nc || nc.isClosed()) return done();
      // drain() lets acks/naks already queued by the other nodes' close handlers reach the server.
      nc.drain()
        .catch(() => undefined)
        .then(() => done());
    });
  }

  RED.nodes.registerType('fieldline-config', FieldlineConfigNode, {
    credentials: {
      natsUser: { type: 'text' },
      natsPassword: { type: 'password' },
      natsToken: { type: 'password' },
      apiToken: { type: 'password' },
    },
  });
};
