import type { TLSSocket } from 'node:tls';
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { Logger } from 'pino';
import { checkClientId, checkPublishTopic, checkSubscribeTopic, checkWillTopic } from './authz.js';
import type { GatewayConfig } from './config.js';
import { AuthorizationError } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import { TokenBucket } from './rate-limit.js';
import type { DeviceRegistry } from './registry.js';
import type { DeviceStatusWriter } from './device-status.js';
import type { Uplink } from './uplink.js';

/** Per-connection state, set once the device authenticated. */
interface Session {
  device: string;
  log: Logger;
  messages: TokenBucket;
  bytes: TokenBucket;
  /** Settles after the previous PUBLISH's PUBACK was released: PUBACKs go out in order (MQTT-4.6.0-2). */
  tail: Promise<void>;
  /** This connection's epoch (device-status.ts): its status never overwrites a newer connection's. */
  conn: Promise<number>;
}

export interface BrokerDeps {
  cfg: GatewayConfig;
  registry: DeviceRegistry;
  metrics: GatewayMetrics;
  log: Logger;
  /** Set once NATS is up; publishes wait for it. */
  uplink: () => Uplink;
  /** Numbers connections (set once NATS is up). */
  statuses: () => DeviceStatusWriter;
  /** This gateway in the connection records. */
  gatewayId: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The CN of a verified TLS client certificate, or null (plain TCP, no or unverified cert). */
function certificateCN(client: Client): string | null {
  const conn = client.conn as Partial<TLSSocket>;
  if (typeof conn.getPeerCertificate !== 'function' || !conn.authorized) return null;
  const cn = conn.getPeerCertificate().subject?.CN;
  return typeof cn === 'string' ? cn : Array.isArray(cn) ? (cn[0] ?? null) : null;
}

/** An embedded aedes broker whose hooks authenticate devices and hold PUBACKs until JetStream stores. */
export async function createBroker(deps: BrokerDeps): Promise<{ broker: Aedes; sessions: WeakMap<Client, Session> }> {
  const { cfg, registry, metrics, log } = deps;
  const sessions = new WeakMap<Client, Session>();
  const connectBucket = new TokenBucket(cfg.mqtt.connectionRatePerS, cfg.mqtt.connectionBurst);
  // Per device id, not per connection: reconnecting must not refill a device's budget.
  const deviceBuckets = new Map<string, { messages: TokenBucket; bytes: TokenBucket }>();
  const bucketsOf = (device: string): { messages: TokenBucket; bytes: TokenBucket } => {
    let b = deviceBuckets.get(device);
    if (!b) {
      b = { messages: new TokenBucket(cfg.limits.messagesPerS, cfg.limits.messageBurst), bytes: new TokenBucket(cfg.limits.bytesPerS, cfg.limits.byteBurst) };
      deviceBuckets.set(device, b);
    }
    return b;
  };

  const refuse = (why: string, message: string, returnCode: 2 | 3 | 4 | 5 = 5): AuthorizationError => {
    metrics.refused.inc({ why });
    return new AuthorizationError(why, message, returnCode);
  };

  const broker = await Aedes.createBroker({
    id: `fieldline-gateway-${process.pid}`,
    connectTimeout: cfg.mqtt.connectTimeoutMs,
    keepaliveLimit: cfg.mqtt.keepaliveLimitS,
    maxClientsIdLength: 63,
    maxTopicLevels: 16,
    queueLimit: 42,
    drainTimeout: 30_000,
    heartbeatInterval: 60_000,

    authenticate: (client, username, password, done) => {
      const fail = (e: AuthorizationError): void => {
        log.info({ clientId: client.id, why: e.why }, 'connection refused');
        done(e as AuthorizationError & { returnCode: 2 | 3 | 4 | 5 }, false);
      };
      if (!connectBucket.tryTake()) return fail(refuse('connection_rate', 'too many new connections; retry later', 3));
      if (broker.connectedClients >= cfg.mqtt.maxConnections) return fail(refuse('max_connections', 'connection limit reached', 3));
      const badId = checkClientId(client.id);
      if (badId) return fail(refuse(badId, 'client id must be a device id', 2));
      const device = client.id;
      const will = (client as unknown as { _will?: PublishPacket | null })._will;
      if (will) {
        const badWill = checkWillTopic(device, will.topic);
        if (badWill) return fail(refuse(`will_${badWill}`, `a Last Will may only be ${device}'s own status`));
      }
      if (username !== undefined && username !== device) return fail(refuse('username_mismatch', 'username must equal the client id', 4));
      const accept = (how: string): void => {
        const conn = deps.statuses().connect(device, deps.gatewayId);
        // A connection closed before it was numbered: its status writes fail with it.
        conn.catch(() => undefined);
        sessions.set(client, {
          device,
          log: log.child({ device }),
          ...bucketsOf(device),
          tail: Promise.resolve(),
          conn,
        });
        log.debug({ device, how }, 'device authenticated');
        done(null, true);
      };
      const cn = certificateCN(client);
      if (cn !== null) {
        if (cn !== device) return fail(refuse('cert_cn_mismatch', 'certificate CN must equal the client id'));
        registry.refresh().then(
          () => (registry.status(device) === 'revoked' ? fail(refuse('revoked', 'device revoked')) : accept('certificate')),
          (err: Error) => fail(refuse('registry_error', err.message, 3)),
        );
        return;
      }
      if (!password) return fail(refuse('no_password', 'password required', 4));
      registry.verify(device, password).then(
        (r) => (r === 'ok' ? accept('password') : fail(refuse(r, 'bad device id or password', r === 'revoked' ? 5 : 4))),
        (err: Error) => fail(refuse('registry_error', err.message, 3)),
      );
    },

    authorizePublish: (client, packet, done) => {
      const session = client ? sessions.get(client) : undefined;
      // Wills come with the closing client, or with none when restored from persistence.
      const isWill = !client || client.closed;
      const device = session?.device ?? (packet as PublishPacket & { clientId?: string }).clientId;
      if (!device) return done(refuse('no_session', 'publish without an authenticated device'));
      const topic = checkPublishTopic(device, packet.topic);
      if ('refused' in topic) {
        (session?.log ?? log.child({ device })).warn({ why: topic.refused }, 'publish refused; closing the connection');
        return done(refuse(topic.refused, `not allowed to publish on this topic`));
      }
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      if (isWill) {
        if (topic.kind !== 'status') return done(refuse('will_not_status', 'a Last Will may only be a status message'));
        metrics.messagesIn.inc({ kind: 'will' });
        // A session taken over by a new connection leaves a will behind; the device is online, so
        // the status view keeps what the new session says (MQTT still delivers the will itself).
        const current = (broker as unknown as { clients: Record<string, Client | undefined> }).clients[device];
        if (current && current !== client) {
          metrics.statusUpdates.inc({ result: 'superseded' });
          return done(null);
        }
        deps.uplink().status(device, payload, 'will', session?.conn ?? Promise.resolve(0)).catch((err: Error) => log.warn({ device, err }, 'will not recorded'));
        return done(null);
      }
      if (!session) return done(refuse('no_session', 'publish without an authenticated device'));
      metrics.messagesIn.inc({ kind: topic.kind });
      metrics.bytesIn.inc(payload.byteLength);
      const t0 = performance.now();
      // Telemetry goes to JetStream, not to MQTT subscribers: nothing keeps it in broker memory.
      if (topic.kind === 'telemetry') packet.retain = false;
      const work = (async () => {
        const wait = Math.max(session.messages.take(1), session.bytes.take(payload.byteLength));
        if (wait > 0) {
          metrics.throttled.inc();
          await sleep(wait);
        }
        const up = deps.uplink();
        if (topic.kind === 'telemetry') await up.telemetry(device, payload);
        else if (!(await up.status(device, payload, 'status', session.conn))) packet.retain = false;
      })();
      const prev = session.tail;
      const release = work.then(
        async () => {
          await prev;
          return null;
        },
        async (err: Error) => {
          await prev;
          return err;
        },
      );
      session.tail = release.then(() => undefined);
      void release.then((err) => {
        if (err) session.log.warn({ err }, 'publish not stored; closing so the device resends');
        else metrics.pubackSeconds.observe((performance.now() - t0) / 1000);
        done(err);
      });
    },

    authorizeSubscribe: (client, sub: Subscription, done) => {
      const session = sessions.get(client);
      const why = session ? checkSubscribeTopic(session.device, sub.topic) : 'no_session';
      if (why) {
        metrics.refused.inc({ why });
        session?.log.info({ topic: sub.topic, why }, 'subscription refused');
        return done(null, null); // SUBACK 0x80 for this filter, connection stays
      }
      done(null, sub);
    },

    // Defence in depth: a device only ever receives its own topics (no $SYS, no other device).
    authorizeForward: (client, packet: AedesPublishPacket) => {
      const session = sessions.get(client);
      return session && packet.topic.startsWith(`fl/v1/${session.device}/`) ? packet : null;
    },
  });

  const countClients = (): void => metrics.connectedDevices.set(broker.connectedClients);
  broker.on('clientReady', countClients);
  broker.on('clientDisconnect', countClients);
  const onError = (client: Client, err: Error): void => {
    if (err instanceof AuthorizationError) return;
    metrics.clientErrors.inc();
    const session = sessions.get(client);
    (session?.log ?? log).info({ ...(session ? {} : { clientId: client?.id ?? null }), err }, 'connection closed on error');
  };
  broker.on('clientError', onError);
  broker.on('connectionError', onError);
  return { broker, sessions };
}
