import { commandReply, commandsTopic, isValidId, parseCommand, type CommandMessage, type CommandReply } from '@fieldline/contract';
import type { Aedes } from 'aedes';
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import type { GatewayMetrics } from './metrics.js';

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
      const device: string = msg.subject.split('.')[2] ?? '';
      const reply = (body: CommandReply): void => {
        if (msg.reply) msg.respond(Buffer.from(commandReply.encode(body)));
      };
      if (!isValidId(device)) {
        metrics.commandsOut.inc({ result: 'bad_device' });
        return reply({ ok: false, error: `device ${JSON.stringify(String(device).slice(0, 64))} is not a valid device id` });
      }
      let cmd: CommandMessage;
      try {
        cmd = parseCommand(msg.data);
      } catch (err) {
        metrics.commandsOut.inc({ result: 'invalid' });
        log.warn({ device, err }, 'invalid command dropped');
        return reply({ ok: false, error: (err as Error).message.slice(0, 1024) });
      }
      const delivered = Object.hasOwn(clients, device);
      broker.publish(
        { cmd: 'publish', topic: commandsTopic(device, cmd.name), payload: Buffer.from(JSON.stringify(cmd)), qos: 1, retain: false, dup: false },
        (e) => {
          metrics.commandsOut.inc({ result: e ? 'failed' : delivered ? 'delivered' : 'offline' });
          reply(e ? { ok: false, error: e.message.slice(0, 1024) } : { ok: true, delivered });
        },
      );
    },
  });
}
