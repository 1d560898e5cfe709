import { ConfigError } from '@fieldline/runtime';

/** The gateway's YAML config is invalid; the message names every offending key path (exit 78). */
export class GatewayConfigError extends ConfigError {
  override name = 'GatewayConfigError';
}

/** The device registry file could not be read, parsed or changed. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A device was refused at CONNECT, PUBLISH or SUBSCRIBE; `why` is a metric label. */
export class AuthorizationError extends Error {
  override readonly name = 'AuthorizationError';
  constructor(
    readonly why: string,
    message: string,
    /** MQTT 3.1.1 CONNACK return code when refused at CONNECT (4 bad credentials, 5 not authorized). */
    readonly returnCode: 2 | 3 | 4 | 5 = 5,
  ) {
    super(message);
  }
}

/** NATS/JetStream could not be reached or set up at start-up. */
export class BridgeError extends Error {
  override readonly name = 'BridgeError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The NATS server the gateway is connected to refuses a message as bigger than its `max_payload`
 * (nats.js checks it before sending: `cause` is its `MAX_PAYLOAD_EXCEEDED`). Only after a
 * reconnect to a smaller server: at start-up the gateway refuses a server too small for its
 * packets (nats-bridge.ts). Re-sending the same message cannot help until the server changes.
 */
export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
  constructor(
    /** The message's payload bytes (its headers come on top). */
    readonly bytes: number,
    /** The connected server's `max_payload`. */
    readonly maxPayload: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
