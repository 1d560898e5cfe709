import { ErrorCode, NatsError } from 'nats';
import type { Logger } from 'pino';
import { PayloadTooLargeError } from './errors.js';
import type { GatewayMetrics } from './metrics.js';

/** Bytes of a message (an envelope or a bundle) left for its headers under the server's `max_payload`. */
export const HEADERS_ROOM = 4096;

/** At most one log line per kind in this time: the bridge's publish warning has the same throttle. */
const LOG_EVERY_MS = 5000;

/** nats.js refused to send: the message with its headers is over the connected server's `max_payload`. */
export const isMaxPayloadExceeded = (err: unknown): boolean => err instanceof NatsError && err.code === ErrorCode.MaxPayloadExceeded;

/** What an operator changes so every packet the broker accepts fits the server. */
export const remedy = (maxPayload: number): string =>
  `lower mqtt.maximumPacketSize to at most ${Math.max(0, maxPayload - HEADERS_ROOM)} bytes or raise the NATS server's max_payload`;

export function payloadTooLarge(subject: string, bytes: number, maxPayload: number, cause: unknown): PayloadTooLargeError {
  return new PayloadTooLargeError(bytes, maxPayload, `a ${bytes}-byte message on ${subject} is over the NATS server's max_payload of ${maxPayload} bytes (headers included)`, { cause });
}

/**
 * The messages the connected server refuses as too large. That happens only after a reconnect to
 * a server with a smaller `max_payload` than the one the gateway started with (start-up refuses a
 * server too small for the broker's packets). A bundle is split by its sender (bundler.ts); a lone
 * message cannot be, and nothing is wrong with it, so it is held, its PUBACK with it, and re-sent
 * until a server takes it. Meanwhile it is an operator's problem: logged, counted and failing
 * `/healthz`, until it is stored.
 */
export class OversizeWatch {
  /** The lone messages held now (by their store job), each with why. */
  private readonly held = new Map<object, PayloadTooLargeError>();
  private lastHeldLog = 0;
  private lastSplitLog = 0;

  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
  ) {}

  /** A bundle of `envelopes` was refused: not re-sent, its envelopes are stored one by one instead. */
  split(err: PayloadTooLargeError, envelopes: number): void {
    this.metrics.payloadTooLarge.inc({ action: 'split' });
    if (Date.now() - this.lastSplitLog <= LOG_EVERY_MS) return;
    this.lastSplitLog = Date.now();
    this.log.warn({ bytes: err.bytes, maxPayload: err.maxPayload, envelopes }, `${err.message}: a bundle cut for a larger server; storing its envelopes one by one`);
  }

  /** A lone message was refused (again): it stays held and is re-sent with backoff. Counted once per message. */
  hold(job: object, err: PayloadTooLargeError): void {
    if (!this.held.has(job)) this.metrics.payloadTooLarge.inc({ action: 'held' });
    this.held.set(job, err);
    if (Date.now() - this.lastHeldLog <= LOG_EVERY_MS) return;
    this.lastHeldLog = Date.now();
    this.log.error(
      { bytes: err.bytes, maxPayload: err.maxPayload, held: this.held.size },
      `${err.message}: its PUBACK is held and it is re-sent until a server takes it; ${remedy(err.maxPayload)}`,
    );
  }

  /** `job` was stored, or given up at close. */
  release(job: object): void {
    this.held.delete(job);
  }

  /** For `/healthz` while a message is held: how many, the largest, and what to change. */
  get problem(): string | undefined {
    let largest: PayloadTooLargeError | undefined;
    for (const e of this.held.values()) if (!largest || e.bytes > largest.bytes) largest = e;
    if (!largest) return undefined;
    return `${this.held.size} message(s) held unacknowledged, the largest: ${largest.message}; ${remedy(largest.maxPayload)}`;
  }
}
