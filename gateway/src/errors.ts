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
