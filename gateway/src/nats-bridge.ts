import { STREAMS } from '@fieldline/contract';
import {
  connect,
  DiscardPolicy,
  nanos,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type KV,
  type MsgHdrs,
  type NatsConnection,
  type PubAck,
  type StreamConfig,
} from 'nats';
import { backoffDelay } from '@fieldline/runtime';
import { isAlreadyExists, isNotFound, JS_ERR } from '@fieldline/runtime/nats';
import type { Logger } from 'pino';
import type { GatewayConfig } from './config.js';
import { BridgeError } from './errors.js';
import { JetStreamPublisher, PublishError } from './js-publisher.js';
import type { GatewayMetrics } from './metrics.js';
import { HEADERS_ROOM, isMaxPayloadExceeded, OversizeWatch, payloadTooLarge } from './payload-limit.js';

type StreamLimits = GatewayConfig['nats']['streams']['telemetry'];

function streamConfig(name: string, subjects: string[], l: StreamLimits): Partial<StreamConfig> {
  return {
    name,
    subjects,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(l.maxAgeS * 1000),
    max_bytes: l.maxBytes,
    duplicate_window: nanos(l.duplicateWindowS * 1000),
    num_replicas: l.replicas,
  };
}

/**
 * Creates the stream, or updates its limits when it exists: safe to run at every start. A
 * processor starting at the same moment may create it (with its own minimal config) between our
 * lookup and our add; then ours is an update of the stream it made.
 */
export async function ensureStream(jsm: JetStreamManager, cfg: Partial<StreamConfig>, log: Logger): Promise<void> {
  const name = cfg.name!;
  const update = async (): Promise<void> => {
    const info = await jsm.streams.info(name);
    await jsm.streams.update(name, { ...info.config, ...cfg });
    log.info({ stream: name }, 'stream updated');
  };
  try {
    await update();
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.streams.add(cfg);
      log.info({ stream: name }, 'stream created');
    } catch (addErr) {
      if (!isAlreadyExists(addErr)) throw addErr;
      await update();
    }
  }
}

/** Re-sends after a failed publish: 100 ms doubling to 5 s, no jitter (the gateway is one client). */
const PUBLISH_BACKOFF = { baseMs: 100, maxMs: 5000, jitter: false } as const;

/** One message to store; `msgID` makes re-sends idempotent within the duplicate window. */
export interface StoreJob {
  subject: string;
  payload: Uint8Array;
  msgID?: string;
  headers?: MsgHdrs;
  /** Envelopes the message holds (a bundle, bundler.ts): what the `maxPendingEnvelopes` bound counts. @default 1 */
  envelopes?: number;
}

/** A compare-and-set publish (`Nats-Expected-Last-Subject-Sequence`) that lost: not retried, the caller decides. */
export const isConflict = (err: unknown): boolean => err instanceof PublishError && err.errCode === JS_ERR.wrongLastSequence;

/**
 * The NATS side of the gateway. `store()` resolves only once JetStream has acknowledged the
 * message, re-sending (same `Nats-Msg-Id`) through timeouts and outages until the gateway closes.
 *
 * Bound (architecture guarantee 4): at most `maxPendingEnvelopes` / `maxPendingBytes` are in
 * flight; further `store()` calls wait for room. Callers hold the device's PUBACK meanwhile, and
 * aedes reads no more from that device's socket, so TCP backpressure reaches the device and
 * nothing is dropped in the gateway.
 */
export class NatsBridge {
  private connected = true;
  private closed = false;
  private reconnected: { promise: Promise<void>; resolve: () => void } | undefined;
  private pendingCount = 0;
  private pendingBytes = 0;
  /** Jobs waiting for room, in arrival order (`admit`). */
  private readonly waiting: { bytes: number; envelopes: number; admitted: () => void; refused: (err: Error) => void }[] = [];
  private lastWarn = 0;
  private readonly publisher: JetStreamPublisher;
  private readonly oversize: OversizeWatch;
  /** The last server's `max_payload`: nc.info is unset while reconnecting, and the next server is most likely the same. */
  private lastMaxPayload: number | undefined;

  private constructor(
    readonly nc: NatsConnection,
    private readonly cfg: GatewayConfig,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    /** The device status bucket and the connection epochs bucket (device-status.ts). */
    readonly statusKv: KV,
    readonly connectionKv: KV,
  ) {
    this.publisher = new JetStreamPublisher(nc, cfg.nats.publishTimeoutMs);
    this.oversize = new OversizeWatch(metrics, log);
    metrics.natsConnected.set(1);
    void this.watchStatus();
  }

  static async start(cfg: GatewayConfig, metrics: GatewayMetrics, log: Logger): Promise<NatsBridge> {
    const { servers, user, password, token } = cfg.nats;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers,
        name: 'fieldline-gateway',
        ...(user ? { user } : {}),
        ...(password ? { pass: password } : {}),
        ...(token ? { token } : {}),
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        pingInterval: 10_000,
        // Async traces cost two Error objects (stack captures) per JetStream publish.
        noAsyncTraces: true,
      });
    } catch (err) {
      throw new BridgeError(`cannot connect to NATS at ${servers.join(', ')}`, { cause: err });
    }
    // A packet the broker accepts must fit one NATS message with its headers, dead-lettered as it
    // came if it is bad: the server refuses a bigger one every time, and a refused publish is
    // retried until it is stored, so that device's PUBACKs would never come (nats.js checks
    // max_payload from the server's INFO before it sends).
    const maxPayload = nc.info?.max_payload;
    if (maxPayload !== undefined && cfg.mqtt.maximumPacketSize > maxPayload - HEADERS_ROOM) {
      await nc.close().catch(() => undefined);
      throw new BridgeError(
        `mqtt.maximumPacketSize is ${cfg.mqtt.maximumPacketSize} bytes, but the NATS server's max_payload is ${maxPayload}: a packet the broker accepts could never be stored. Lower mqtt.maximumPacketSize to at most ${Math.max(0, maxPayload - HEADERS_ROOM)} or raise max_payload`,
      );
    }
    try {
      const jsm = await nc.jetstreamManager();
      const s = cfg.nats.streams;
      await ensureStream(jsm, streamConfig(STREAMS.TELEMETRY.name, [...STREAMS.TELEMETRY.subjects], s.telemetry), log);
      await ensureStream(jsm, streamConfig(STREAMS.DEADLETTER.name, [...STREAMS.DEADLETTER.subjects], s.deadletter), log);
      const js = nc.jetstream();
      const kv = { history: 1, storage: StorageType.File, replicas: s.telemetry.replicas };
      const status = await js.views.kv(cfg.nats.statusBucket, kv);
      const connections = await js.views.kv(cfg.nats.connectionBucket, kv);
      return new NatsBridge(nc, cfg, metrics, log, status, connections);
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw new BridgeError('cannot set up JetStream streams', { cause: err });
    }
  }

  get isConnected(): boolean {
    return this.connected && !this.closed;
  }

  /**
   * The largest bundle to build: `nats.bundleBytes`, within what the server accepts, read at each
   * cut (bundler.ts) so a reconnect to a smaller server makes smaller bundles. The headroom is for
   * the headers (`Nats-Msg-Id`). A bundle cut before such a reconnect is split (`store`).
   */
  get bundleBytes(): number {
    const maxPayload = (this.lastMaxPayload = this.nc.info?.max_payload ?? this.lastMaxPayload);
    return maxPayload ? Math.max(0, Math.min(this.cfg.nats.bundleBytes, maxPayload - HEADERS_ROOM)) : this.cfg.nats.bundleBytes;
  }

  /** Why `/healthz` fails while a lone message is too large for the connected server (payload-limit.ts), else undefined. */
  get payloadProblem(): string | undefined {
    return this.oversize.problem;
  }

  get pending(): { envelopes: number; bytes: number } {
    return { envelopes: this.pendingCount, bytes: this.pendingBytes };
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') {
        this.connected = false;
        this.metrics.natsConnected.set(0);
        this.log.warn('NATS disconnected; PUBACKs are held until it returns');
      } else if (s.type === 'reconnect') {
        this.connected = true;
        this.metrics.natsConnected.set(1);
        this.log.info('NATS reconnected; catching up');
        this.reconnected?.resolve();
        this.reconnected = undefined;
      }
    }
  }

  private waitConnected(): Promise<void> {
    if (!this.reconnected) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.reconnected = { promise, resolve };
    }
    return this.reconnected.promise;
  }

  /** Room for a job: one that does not fit alone may always go when nothing is pending, else it could never be admitted. */
  private fits(bytes: number, envelopes: number): boolean {
    const { maxPendingEnvelopes, maxPendingBytes } = this.cfg.limits;
    return this.pendingCount === 0 || (this.pendingCount + envelopes <= maxPendingEnvelopes && this.pendingBytes + bytes <= maxPendingBytes);
  }

  private take(bytes: number, envelopes: number): void {
    this.pendingCount += envelopes;
    this.pendingBytes += bytes;
    this.metrics.pendingEnvelopes.set(this.pendingCount);
    this.metrics.pendingBytes.set(this.pendingBytes);
  }

  /**
   * Admits a job at once (undefined) or when room comes (the promise). In line, first come first
   * admitted, also when a smaller job would fit: jobs reach JetStream in the order they came, so
   * a device's bundles and envelopes (of different sizes) keep its order.
   */
  private admit(bytes: number, envelopes: number): Promise<void> | undefined {
    if (this.waiting.length === 0 && this.fits(bytes, envelopes)) {
      this.take(bytes, envelopes);
      return undefined;
    }
    return new Promise<void>((admitted, refused) => this.waiting.push({ bytes, envelopes, admitted, refused }));
  }

  private release(bytes: number, envelopes: number): void {
    this.pendingCount -= envelopes;
    this.pendingBytes -= bytes;
    this.metrics.pendingEnvelopes.set(this.pendingCount);
    this.metrics.pendingBytes.set(this.pendingBytes);
    // Everyone at the head of the line who fits now, in order.
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.bytes, this.waiting[0]!.envelopes)) {
      const w = this.waiting.shift()!;
      this.take(w.bytes, w.envelopes);
      w.admitted();
    }
  }

  /**
   * Stores `job` in JetStream; resolves with the PubAck (maybe `duplicate`). Rejects on close, and
   * with a PayloadTooLargeError when a job of several envelopes (a bundle) is over the connected
   * server's `max_payload`: re-sending it cannot help, its sender stores the envelopes alone. A
   * lone message over it is held and re-sent until a server takes it (payload-limit.ts).
   */
  async store(job: StoreJob): Promise<PubAck> {
    const bytes = job.payload.byteLength;
    const envelopes = job.envelopes ?? 1;
    const room = this.admit(bytes, envelopes);
    if (room) await room;
    try {
      for (let attempt = 0; ; attempt++) {
        if (this.closed) throw new BridgeError('gateway closed before JetStream acknowledged');
        if (!this.connected) await this.waitConnected();
        if (this.closed) throw new BridgeError('gateway closed before JetStream acknowledged');
        const t0 = performance.now();
        try {
          const ack = await this.publisher.publish(job.subject, job.payload, job.msgID, job.headers);
          this.metrics.jsPublishSeconds.observe((performance.now() - t0) / 1000);
          return ack;
        } catch (err) {
          if (isConflict(err)) throw err;
          if (this.closed) throw new BridgeError('gateway closed before JetStream acknowledged', { cause: err });
          if (isMaxPayloadExceeded(err)) {
            const tooLarge = payloadTooLarge(job.subject, bytes, this.nc.info?.max_payload ?? 0, err);
            if (envelopes > 1) {
              this.oversize.split(tooLarge, envelopes);
              throw tooLarge;
            }
            this.oversize.hold(job, tooLarge);
          } else {
            this.oversize.release(job); // past nats.js's size check: it fits this server now
            if (Date.now() - this.lastWarn > 5000) {
              this.lastWarn = Date.now();
              this.log.warn({ err, subject: job.subject, attempt }, 'JetStream publish failed; retrying');
            }
          }
          this.metrics.publishRetries.inc();
          await new Promise((r) => setTimeout(r, backoffDelay(attempt, PUBLISH_BACKOFF)));
        }
      }
    } finally {
      this.oversize.release(job);
      this.release(bytes, envelopes);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reconnected?.resolve();
    for (const w of this.waiting.splice(0)) w.refused(new BridgeError('gateway closed'));
    this.publisher.close();
    await this.nc.close().catch(() => undefined);
  }
}
