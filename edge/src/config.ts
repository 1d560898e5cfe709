import { ID_PATTERN } from '@fieldline/contract';
import { formatIssues, loadConfig, logConfigSchema, readSecret } from '@fieldline/runtime';
import { z } from 'zod';
import { getDriver, driverIds } from './drivers/index.js';
import { EdgeConfigError } from './errors.js';

export const DEFAULT_CONFIG_PATH = '/etc/fieldline/edge.yaml';

const id = z.string().regex(ID_PATTERN, 'must match [a-z0-9][a-z0-9_-]{0,62}');
const ms = z.number().int().min(0);

const channel = z
  .object({
    /** Sensor id this channel's values are sent as. */
    sensor: id,
    /** value = raw · scale + offset. @default 1 */
    scale: z.number().finite().default(1),
    /** @default 0 */
    offset: z.number().finite().default(0),
    unit: z.string().max(32).regex(/^[^\u0000-\u001f\u007f]*$/, 'must be printable').optional(),
  })
  .strict();

const port = z
  .object({
    /** Port name in logs and counters. */
    id,
    /** Device path; prefer a stable one such as /dev/serial/by-id/…. */
    path: z.string().min(1),
    /** @default 9600 */
    baudRate: z.number().int().positive().default(9600),
    /** Driver id (see `fieldline-edge drivers`). */
    driver: z.string(),
    /** Driver-specific options, validated by the driver. @default {} */
    options: z.record(z.unknown()).default({}),
    /** Channel name -> sensor mapping; unmapped channels are counted and ignored. */
    channels: z.record(z.string(), channel),
    /** Longest frame accepted (docs/serial-protocols.md). @default 512 */
    maxFrameBytes: z.number().int().min(16).max(65536).default(512),
    /** No bytes for this long: the port is treated as dead and reopened (0 = off). @default 30000 */
    silenceTimeoutMs: ms.default(30_000),
    /** Use the board's time when a frame carries one (`board`), or always the edge's read time (`edge`). @default "board" */
    timestamps: z.enum(['board', 'edge']).default('board'),
    /** Reopen backoff bounds. @default {minMs: 250, maxMs: 10000} */
    reopen: z.object({ minMs: ms.default(250), maxMs: ms.default(10_000) }).strict().default({}),
  })
  .strict();

export const edgeConfigSchema = z
  .object({
    /** This device's id (also its MQTT client id and default username). */
    device: id,
    /** Holds epoch, seq and the disk queue. @default "/var/lib/fieldline" */
    stateDir: z.string().min(1).default('/var/lib/fieldline'),
    mqtt: z
      .object({
        /** `mqtt://host:1883` or `mqtts://host:8883`. */
        url: z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\//, 'must be an mqtt://, mqtts://, ws:// or wss:// URL'),
        /** @default the device id */
        username: z.string().optional(),
        /** File holding the password (first line). Never logged. */
        passwordFile: z.string().optional(),
        /** Environment variable holding the password. Never logged. */
        passwordEnv: z.string().optional(),
        tls: z
          .object({
            /** CA bundle (PEM) to verify the gateway. */
            ca: z.string().optional(),
            /** Client certificate (PEM). */
            cert: z.string().optional(),
            /** Client key (PEM). */
            key: z.string().optional(),
            /** @default true */
            rejectUnauthorized: z.boolean().default(true),
          })
          .strict()
          .optional(),
        /** @default 30 */
        keepaliveS: z.number().int().min(0).default(30),
        /** @default 10000 */
        connectTimeoutMs: ms.default(10_000),
        /** Jittered exponential reconnect backoff. @default {minMs: 500, maxMs: 30000} */
        reconnect: z.object({ minMs: ms.default(500), maxMs: ms.default(30_000) }).strict().default({}),
        /** Batches published and not yet acknowledged. @default 16 */
        inflight: z.number().int().min(1).max(1000).default(16),
      })
      .strict(),
    batching: z
      .object({
        /** A batch is closed at this many readings. @default 500 */
        maxReadings: z.number().int().min(1).max(5000).default(500),
        /** …or this long after its first reading, while connected. @default 1000 */
        maxDelayMs: ms.default(1000),
      })
      .strict()
      .default({}),
    heartbeat: z
      .object({
        /** Heartbeat envelope period (0 = off). @default 30000 */
        intervalMs: ms.default(30_000),
      })
      .strict()
      .default({}),
    clock: z
      .object({
        /** While unsynced: `send` readings flagged `uncertain`, or `hold` them and correct them with the monotonic clock once synced. @default "send" */
        unsynced: z.enum(['send', 'hold']).default('send'),
        /** File that exists while NTP is synced (systemd-timesyncd). @default "/run/systemd/timesync/synchronized" */
        syncedFile: z.string().default('/run/systemd/timesync/synchronized'),
        /** Treat the clock as synced regardless (a device with an RTC or a trusted source). @default false */
        assumeSynced: z.boolean().default(false),
        /** How often the sync state is checked. @default 5000 */
        checkMs: z.number().int().min(100).default(5000),
      })
      .strict()
      .default({}),
    queue: z
      .object({
        /** Upper bound of the disk queue. @default 67108864 (64 MiB) */
        maxBytes: z.number().int().min(65536).default(64 * 1024 * 1024),
        /** When full: drop the oldest batches (`drop-oldest`) or refuse new readings (`drop-newest`). @default "drop-oldest" */
        overflow: z.enum(['drop-oldest', 'drop-newest']).default('drop-oldest'),
        /** `batch`: fsync when a batch is closed, before it is sent; `always`: after every append; `never`: leave it to the OS. @default "batch" */
        fsync: z.enum(['batch', 'always', 'never']).default('batch'),
        /** Segment file size. @default 4194304 (4 MiB) */
        segmentBytes: z.number().int().min(4096).default(4 * 1024 * 1024),
      })
      .strict()
      .default({}),
    log: logConfigSchema
      .extend({
        /** Most bad-frame log lines per port per minute (the rest are only counted). @default 10 */
        badFramesPerMinute: z.number().int().min(0).default(10),
      })
      .default({}),
    ports: z.array(port).default([]),
  })
  .strict();

export type EdgeConfig = z.infer<typeof edgeConfigSchema>;
export type PortConfig = z.infer<typeof port>;
export type ChannelConfig = z.infer<typeof channel>;

/**
 * Reads and validates the edge config (a YAML file path or an already parsed object). Applies
 * defaults and each port's driver option schema. Throws {@link EdgeConfigError} naming every bad key.
 */
export function loadEdgeConfig(pathOrObject: string | unknown = DEFAULT_CONFIG_PATH): EdgeConfig {
  return loadConfig(pathOrObject, edgeConfigSchema, {
    what: 'edge config',
    error: EdgeConfigError,
    check: (config, { issues }) => {
      const portIds = new Set<string>();
      const sensors = new Set<string>();
      config.ports.forEach((p, i) => {
        if (portIds.has(p.id)) issues.push(`ports[${i}].id: "${p.id}" is used by another port`);
        portIds.add(p.id);
        for (const [name, ch] of Object.entries(p.channels)) {
          if (sensors.has(ch.sensor)) issues.push(`ports[${i}].channels.${name}.sensor: "${ch.sensor}" is mapped twice`);
          sensors.add(ch.sensor);
        }
        const driver = getDriver(p.driver);
        if (!driver) {
          issues.push(`ports[${i}].driver: unknown driver "${p.driver}"; known: ${driverIds().join(', ')}`);
          return;
        }
        const opts = driver.options.safeParse(p.options);
        if (opts.success) p.options = opts.data as Record<string, unknown>;
        else issues.push(...formatIssues(opts.error, ['ports', i, 'options']));
      });
      if (config.mqtt.passwordFile && config.mqtt.passwordEnv) issues.push('mqtt.passwordFile: set either passwordFile or passwordEnv, not both');
    },
  });
}

/** Reads the MQTT password from its file or env var (never from the YAML itself, never logged). */
export function readPassword(mqtt: EdgeConfig['mqtt']): string | undefined {
  if (mqtt.passwordEnv) {
    const v = process.env[mqtt.passwordEnv];
    if (v === undefined) throw new EdgeConfigError(`mqtt.passwordEnv: environment variable ${mqtt.passwordEnv} is not set`);
    return v;
  }
  return readSecret(undefined, mqtt.passwordFile, 'mqtt.passwordFile');
}
