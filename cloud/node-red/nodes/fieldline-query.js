'use strict';

const KINDS = ['series', 'alerts', 'sessions', 'devices'];
const PARAMS = ['device', 'sensor', 'from', 'to', 'points'];
const DEFAULT_TIMEOUT_MS = 30_000;

/** Epoch ms from a number, a Date, a date string or a relative `-24h` / `-30m` / `-7d`. */
function toEpochMs(value, now, what) {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.round(value);
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.getTime();
  const text = String(value).trim();
  const rel = /^-(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text);
  if (rel) return Math.round(now - Number(rel[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[rel[2]]);
  if (/^\d+$/.test(text)) return Number(text);
  const parsed = Date.parse(text);
  if (Number.isNaN(parsed)) throw new Error(`${what}: ${JSON.stringify(text)} is not epoch ms, a date or a relative time like -24h`);
  return parsed;
}

/**
 * `fieldline query`: GET `{apiUrl}/api/v1/{kind}` on the query API with the config node's bearer
 * token. Parameters come from `msg.<param>` (or `msg.payload.<param>`), else from the node.
 * Values go through URLSearchParams, never string concatenation; the API validates them.
 */
module.exports = function (RED) {
  function FieldlineQueryNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const conn = RED.nodes.getNode(config.connection);
    const timeoutMs = Number(config.timeout) > 0 ? Number(config.timeout) * 1000 : DEFAULT_TIMEOUT_MS;

    function param(msg, name) {
      const fromPayload = msg.payload && typeof msg.payload === 'object' ? msg.payload[name] : undefined;
      const v = msg[name] ?? fromPayload ?? config[name];
      return v === undefined || v === null || v === '' ? undefined : v;
    }

    function buildUrl(msg) {
      const kind = param(msg, 'kind') ?? 'series';
      if (!KINDS.includes(kind)) throw new Error(`fieldline query: kind ${JSON.stringify(kind)} must be one of ${KINDS.join(', ')}`);
      if (!conn.apiUrl) throw new Error('fieldline query: the fieldline-config has no query API URL');
      const url = new URL(`${conn.apiUrl}/api/v1/${kind}`);
      const now = Date.now();
      for (const name of PARAMS) {
        const v = param(msg, name);
        if (v === undefined) continue;
        url.searchParams.set(name, name === 'from' || name === 'to' ? String(toEpochMs(v, now, name)) : String(v));
      }
      return url;
    }

    node.on('input', async (msg, send, done) => {
      if (!conn) return done(new Error('fieldline query: no fieldline-config connection selected'));
      let url;
      try {
        url = buildUrl(msg);
      } catch (err) {
        node.status({ fill: 'red', shape: 'ring', text: 'bad parameters' });
        return done(err);
      }
      node.status({ fill: 'blue', shape: 'dot', text: 'querying' });
      try {
        const res = await fetch(url, {
          headers: { authorization: `Bearer ${conn.apiToken}`, accept: 'application/json' },
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await res.text();
        let body;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        msg.statusCode = res.status;
        if (!res.ok) {
          const why = typeof body === 'object' && body ? (body.message ?? body.error ?? text) : text;
          node.status({ fill: 'red', shape: 'ring', text: `HTTP ${res.status}` });
          return done(new Error(`fieldline query: ${url.pathname} answered ${res.status}: ${String(why).slice(0, 300)}`));
        }
        msg.payload = body;
        node.status({ fill: 'green', shape: 'dot', text: `${url.pathname.split('/').pop()} ok` });
        send(msg);
        done();
      } catch (err) {
        node.status({ fill: 'red', shape: 'ring', text: 'request failed' });
        done(new Error(`fieldline query: ${url.origin}${url.pathname}: ${err.message}`, { cause: err }));
      }
    });
  }

  RED.nodes.registerType('fieldline query', FieldlineQueryNode);
};
