import { DEFAULT_PARTITIONS, MAX_BUNDLE_BYTES, MAX_ENVELOPE_BYTES } from '@fieldline/contract';
import { loadConfig, logConfigSchema } from '@fieldline/runtime';
import { z } from 'zod';
import { GatewayConfigError } from './errors.js';

const port = z.number().int().min(0).max(65535);

const tlsSchema = z
  .object({
    /** @default '0.0.0.0' */
    host: z.string().min(1).default('0.0.0.0'),
    /** MQTT over TLS port; 0 picks a free port. @default 8883 */
    port: port.default(8883),
    /** PEM server certificate file. */
    certFile: z.string().min(1),
    /** PEM server key file. Never logged. */
    keyFile: z.string().min(1),
    /** PEM CA bundle that signs device certificates; enables client-certificate auth (CN = device id). */
    caFile: z.string().min(1).optional(),
    /** Refuse TLS clients without a valid certificate (else they may still use a password). @default false */
    requireClientCert: z.boolean().default(false),
  })
  .strict();

const streamSchema = (defaults: { maxAgeS: number; maxBytes: number }) =>
  z
    .object({
      /** Retention by age (seconds; 0 = unlimited). */
      maxAgeS: z.number().int().min(0).default(defaults.maxAgeS),
      /** Retention by size (bytes; -1 = unlimited). */
      maxBytes: z.number().int().min(-1).default(defaults.maxBytes),
      /** Window in which a repeated `Nats-Msg-Id` is dropped as a duplicate (seconds). @default 120 */
      duplicateWindowS: z.number().int().positive().default(120),
      /** Replicas (1 on one node; 3 in a cluster). @default 1 */
      replicas: z.number().int().min(1).max(5).default(1),
    })
    .strict()
    .default({});

export const gatewayConfigSchema = z
  .object({
    mqtt: z
      .object({
        /** @default '0.0.0.0' */
        host: z.string().min(1).default('0.0.0.0'),
        /** Plain MQTT port; 0 picks a free port. @default 1883 */
        port: port.default(1883),
        /** Largest MQTT packet accepted; larger ones close the connection. @default envelope budget + 1 KiB */
        maximumPacketSize: z.number().int().min(64).default(MAX_ENVELOPE_BYTES + 1024),
        /** Largest keep-alive a client may ask for (s); asking for none (0) is then refused too. 0 = no limit. @default 300 */
        keepaliveLimitS: z.number().int().min(0).max(65535).default(300),
        /** A CONNECT must arrive within this time after the TCP connect (ms). @default 10000 */
        connectTimeoutMs: z.number().int().positive().default(10_000),
        /** Connections open at once (TCP + TLS). @default 10000 */
        maxConnections: z.number().int().positive().default(10_000),
        /** New connections per second allowed, all clients together (reconnect storms). @default 200 */
        connectionRatePerS: z.number().positive().default(200),
        /** Burst of new connections above the rate. @default 400 */
        connectionBurst: z.number().int().positive().default(400),
        tls: tlsSchema.optional(),
        /** MQTT over WebSocket (optional), e.g. for browser tools; same authentication and limits. */
        ws: z
          .object({
            /** @default '0.0.0.0' */
            host: z.string().min(1).default('0.0.0.0'),
            /** 0 picks a free port. @default 8083 */
            port: port.default(8083),
            /** @default '/mqtt' */
            path: z.string().startsWith('/').default('/mqtt'),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    auth: z
      .object({
        /** Device registry (JSON, scrypt-hashed secrets), managed by `fieldline-gateway devices`. */
        registryFile: z.string().min(1),
      })
      .strict(),
    limits: z
      .object({
        /** PUBLISH packets per second per device; above it PUBACKs are delayed. @default 2000 */
        messagesPerS: z.number().positive().default(2000),
        /** @default 4000 */
        messageBurst: z.number().int().positive().default(4000),
        /** Payload bytes per second per device; above it PUBACKs are delayed. @default 8 MiB */
        bytesPerS: z.number().positive().default(8 * 1024 * 1024),
        /** @default 16 MiB */
        byteBurst: z.number().int().positive().default(16 * 1024 * 1024),
        /** Envelopes awaiting a JetStream ack, all devices; beyond it devices wait unread. @default 20000 */
        maxPendingEnvelopes: z.number().int().positive().default(20_000),
        /** Bytes awaiting a JetStream ack, all devices. @default 128 MiB */
        maxPendingBytes: z.number().int().positive().default(128 * 1024 * 1024),
        /**
         * Distinct sensor ids per device (each is an InfluxDB series and a processor state); an
         * envelope that would exceed it is dead-lettered as `sensor_limit` and the device told. @default 256
         */
        maxSensorsPerDevice: z.number().int().positive().max(100_000).default(256),
      })
      .strict()
      .default({}),
    nats: z
      .object({
        /** @default ['nats://127.0.0.1:4222'] */
        servers: z.array(z.string().min(1)).min(1).default(['nats://127.0.0.1:4222']),
        /** NATS user; `password` never logged. */
        user: z.string().min(1).optional(),
        password: z.string().min(1).optional(),
        /** NATS token; never logged. */
        token: z.string().min(1).optional(),
        /** Wait for one JetStream PubAck before re-sending (same `Nats-Msg-Id`). @default 5000 */
        publishTimeoutMs: z.number().int().positive().default(5000),
        /**
         * Largest TELEMETRY bundle, bytes: the envelopes a device sent within one turn of the
         * gateway's event loop are stored as one JetStream message up to this size (contract
         * bundle.ts; nothing waits for a bundle to fill). 0 stores every envelope alone. @default 524288
         */
        bundleBytes: z.number().int().min(0).max(MAX_BUNDLE_BYTES).default(MAX_BUNDLE_BYTES),
        /** P: partitions of `fl.telemetry.{partition}.{device}`; fixed per deployment. @default 8 */
        partitions: z.number().int().positive().max(1024).default(DEFAULT_PARTITIONS),
        streams: z
          .object({
            telemetry: streamSchema({ maxAgeS: 7 * 86_400, maxBytes: 10 * 1024 ** 3 }),
            deadletter: streamSchema({ maxAgeS: 30 * 86_400, maxBytes: 1024 ** 3 }),
          })
          .strict()
          .default({}),
        /** KV bucket holding the latest status of each device. @default 'fl_device_status' */
        statusBucket: z.string().regex(/^[A-Za-z0-9_-]+$/).default('fl_device_status'),
        /** KV bucket numbering each device's MQTT connections across gateways (orders status writes). @default 'fl_device_connections' */
        connectionBucket: z.string().regex(/^[A-Za-z0-9_-]+$/).default('fl_device_connections'),
      })
      .strict()
      .default({}),
    http: z
      .object({
        /** @default '127.0.0.1' */
        host: z.string().min(1).default('127.0.0.1'),
        /** Ops server: `/metrics`, `/healthz`, `/readyz`; 0 picks a free port (README: ports). @default 9464 */
        port: port.default(9464),
      })
      .strict()
      .nullable()
      .default({}),
    /** `{ level }`, @default info */
    log: logConfigSchema.default({}),
  })
  .strict();

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;

/**
 * Validates a gateway config (a YAML file path or an object), applies defaults, resolves file
 * paths against the config file's directory and throws a {@link GatewayConfigError} naming each
 * bad key (`mqtt.port: expected number, got string`).
 */
export function loadGatewayConfig(pathOrObject: string | GatewayConfigInput): GatewayConfig {
  return loadConfig(pathOrObject, gatewayConfigSchema, {
    what: 'gateway config',
    error: GatewayConfigError,
    check: (cfg, ctx) => {
      cfg.auth.registryFile = ctx.resolvePath(cfg.auth.registryFile);
      const tls = cfg.mqtt.tls;
      if (tls) {
        tls.certFile = ctx.resolvePath(tls.certFile);
        tls.keyFile = ctx.resolvePath(tls.keyFile);
        if (tls.caFile) tls.caFile = ctx.resolvePath(tls.caFile);
      }
    },
  });
}
