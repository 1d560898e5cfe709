import { commandsTopic, isValidId, type CommandMessage } from '@fieldline/contract';
import type { Aedes } from 'aedes';
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import type { GatewayMetrics } from './metrics.js';

const MAX_COMMAND_BYTES = 64 * 1024;

/** Validates a command from NATS; returns an error message or the command. */
export function parseCommand(data: Uint8Array): CommandMessage | string {
  if (data.byteLength > MAX_COMMAND_BYTES) return `command is ${data.byteLength} bytes; at most ${MAX_COMMAND_BYTES} are allowed`;
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch (err) {
    return `payload: not valid JSON (${(err as Error).message})`;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'command: must be a JSON object';
  const c = o as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!['v', 'id', 'name', 'args'].includes(k)) return `${k}: unknown key`;
  if (c.v !== 1) return 'v: must be 1';
  if (typeof c.id !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(c.id)) return 'id: must be 1-128 printable characters';
  if (!isValidId(c.name)) return 'name: must match [a-z0-9][a-z0-9_-]{0,62}';
  // `rejected` is the gateway's own notice; nobody may forge one.
  if (c.name === 'rejected') return 'name: "rejected" is reserved for the gateway';
  if (c.args !== undefined && (typeof c.args !== 'object' || c.args === null || Array.isArray(c.args))) return 'args: must be an object';
  return c as unknown as CommandMessage;
}

/**
 * NATS `fl.commands.{device}` -> MQTT `fl/v1/{device}/commands/{name}` (QoS 1). A request
 * (with a reply subject) is answered `{ok, delivered}`: `delivered` says whether the device has
 * a session on this gateway; offline clean-session devices do not get the command later.
 */
export function startDownlink(nc: NatsConnection, broker: Aedes, metrics: GatewayMetrics, log: Logger): Subscription {
  const clients = (broker as unknown as { clients: Record<string, unknown> }).clients;
  return nc.subscribe('fl.commands.*', {
    callback: (err, msg: Msg) => {
      if (err) return;
      const device = msg.subject.split('.')[2] ?? '';
      const reply = (body: object): void => {
        if (msg.reply) msg.respond(Buffer.from(JSON.stringify(body)));
      };
      if (!isValidId(device)) {
        metrics.commandsOut.inc({ result: 'bad_device' });
        return reply({ ok: false, error: `device ${JSON.stringify(device)} is not a valid device id` });
      }
      const cmd = parseCommand(msg.data);
      if (typeof cmd === 'string') {
        metrics.commandsOut.inc({ result: 'invalid' });
        log.warn({ device, error: cmd }, 'invalid command dropped');
        return reply({ ok: false, error: cmd });
      }
      const delivered = Object.hasOwn(clients, device);
      broker.publish(
        { cmd: 'publish', topic: commandsTopic(device, cmd.name), payload: Buffer.from(JSON.stringify(cmd)), qos: 1, retain: false, dup: false },
        (e) => {
          metrics.commandsOut.inc({ result: e ? 'failed' : delivered ? 'delivered' : 'offline' });
          reply(e ? { ok: false, error: e.message } : { ok: true, delivered });
        },
      );
    },
  });
}
