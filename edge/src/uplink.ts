import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { commandsTopic, parseRejectionNotice, REJECTED_COMMAND, statusTopic, telemetryTopic, type StatusMessage } from '@fieldline/contract';
import { backoffDelay, settlesWithin } from '@fieldline/runtime';
import { readPassword, type EdgeConfig } from './config.js';
import { readTls } from './preflight.js';

export interface UplinkCounters {
  connects: number;
  disconnects: number;
  batches_sent: number;
  batches_acked: number;
  heartbeats_sent: number;
  commands_rejected: number;
  commands_unknown: number;
}

export interface UplinkHandlers {
  /** Connected (again): time to send what is queued. */
  connected(): void;
  /** The broker acknowledged batch `seq` (PUBACK). */
  acked(seq: number): void;
  /** The gateway dead-lettered batch `{device}:{epoch}:{seq}`; it must not be resent. */
  rejected(batch: string, reason: string, error: string): void;
}

/**
 * The MQTT side: QoS 1 publishes, one client per connection attempt (so that nothing of a dead
 * connection's in-flight state leaks into the next), jittered exponential reconnect, Last Will +
 * retained online/offline status on `fl/v1/{device}/status`.
 */
export class Uplink {
  readonly counters: UplinkCounters = { connects: 0, disconnects: 0, batches_sent: 0, batches_acked: 0, heartbeats_sent: 0, commands_rejected: 0, commands_unknown: 0 };
  private client: MqttClient | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private readonly inflight = new Set<number>();
  private readonly options: IClientOptions;

  constructor(
    private readonly cfg: EdgeConfig,
    private readonly log: Logger,
    private readonly handlers: UplinkHandlers,
    private readonly now: () => number,
  ) {
    const { mqtt: m, device } = cfg;
    const offline: StatusMessage = { v: 1, device, state: 'offline' };
    this.options = {
      clientId: device,
      username: m.username ?? device,
      password: readPassword(m),
      ...readTls(m),
      rejectUnauthorized: m.tls?.rejectUnauthorized ?? true,
      keepalive: m.keepaliveS,
      connectTimeout: m.connectTimeoutMs,
      reconnectPeriod: 0,
      clean: true,
      // mqtt-packet otherwise pre-builds 65,536 two-byte message-id Buffers on the first write:
      // ~6.5 MB of heap that the agent's few packets per second do not need.
      writeCache: false,
      will: { topic: statusTopic(device), payload: Buffer.from(JSON.stringify(offline)), qos: 1, retain: true },
    };
    this.connect();
  }

  get connected(): boolean {
    return !!this.client?.connected;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  isInflight(seq: number): boolean {
    return this.inflight.has(seq);
  }

  private connect(): void {
    if (this.closing) return;
    const client = mqtt.connect(this.cfg.mqtt.url, this.options);
    this.client = client;
    client.on('connect', () => {
      if (this.client !== client) return;
      this.attempt = 0;
      this.counters.connects += 1;
      this.log.info({ url: this.cfg.mqtt.url }, 'connected to gateway');
      const online: StatusMessage = { v: 1, device: this.cfg.device, state: 'online', ts: this.now() };
      client.publish(statusTopic(this.cfg.device), JSON.stringify(online), { qos: 1, retain: true });
      client.subscribe(commandsTopic(this.cfg.device), { qos: 1 });
      this.handlers.connected();
    });
    client.on('message', (topic, payload) => this.onCommand(topic, payload));
    // Errors (refused, TLS, auth) are followed by 'close'; the password is never part of them.
    client.on('error', (err) => this.log.warn({ err }, 'mqtt error'));
    client.on('close', () => this.onClose(client));
  }

  private onClose(client: MqttClient): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.counters.disconnects += 1;
    // Whatever was in flight is resent on the next connection (same epoch:seq, so dedup works).
    this.inflight.clear();
    client.end(true);
    if (this.closing) return;
    const wait = backoffDelay(this.attempt++, { baseMs: this.cfg.mqtt.reconnect.minMs, maxMs: this.cfg.mqtt.reconnect.maxMs });
    this.log.warn({ retryInMs: wait }, 'disconnected from gateway; reconnecting');
    this.timer = setTimeout(() => this.connect(), wait);
  }

  private onCommand(topic: string, payload: Buffer): void {
    const name = topic.slice(commandsTopic(this.cfg.device, '').length);
    if (name === REJECTED_COMMAND) {
      try {
        const { args } = parseRejectionNotice(payload);
        if (args.batch !== null) {
          this.counters.commands_rejected += 1;
          this.handlers.rejected(args.batch, args.reason, args.error);
          return;
        }
      } catch (err) {
        this.counters.commands_unknown += 1;
        this.log.warn({ err }, 'malformed rejection notice ignored');
        return;
      }
    }
    this.counters.commands_unknown += 1;
    this.log.warn({ command: name.slice(0, 64) }, 'unknown command ignored');
  }

  /** Publishes a telemetry batch (QoS 1); `acked` is called on its PUBACK. */
  sendBatch(seq: number, payload: Buffer): void {
    const client = this.client;
    if (!client?.connected) return;
    this.inflight.add(seq);
    this.counters.batches_sent += 1;
    client.publish(telemetryTopic(this.cfg.device), payload, { qos: 1 }, (err) => {
      if (err) return; // connection lost: onClose already scheduled the resend
      this.counters.batches_acked += 1;
      this.inflight.delete(seq);
      this.handlers.acked(seq);
    });
  }

  /** A heartbeat: not queued, since a newer one replaces it. */
  sendHeartbeat(payload: string): void {
    if (!this.client?.connected) return;
    this.counters.heartbeats_sent += 1;
    this.client.publish(telemetryTopic(this.cfg.device), payload, { qos: 1 });
  }

  /** Publishes the retained `offline` status (a clean stop sends no Will) and disconnects. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (client.connected) {
      const offline: StatusMessage = { v: 1, device: this.cfg.device, state: 'offline', ts: this.now() };
      await settlesWithin(client.publishAsync(statusTopic(this.cfg.device), JSON.stringify(offline), { qos: 1, retain: true }), 2000);
    }
    await client.endAsync(true).catch(() => undefined);
  }
}
