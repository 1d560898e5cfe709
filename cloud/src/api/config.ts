import { ConfigError, loadConfig, logLevelSchema, readSecretFile } from '@fieldline/runtime';
import { z } from 'zod';
import { influxConfigSchema } from '../influx/config.js';
import { tiersSchema } from '../influx/tiers.js';

/** NATS connection for live updates (SSE), commands and device status. */
export const apiNatsSchema = z
  .object({
    /** @default ['nats://127.0.0.1:4222'] */
    servers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).default(['nats://127.0.0.1:4222']),
    user: z.string().min(1).optional(),
    /** Never logged; prefer `passFile`. */
    pass: z.string().min(1).optional(),
    passFile: z.string().min(1).optional(),
    /** Never logged; prefer `tokenFile`. */
    token: z.string().min(1).optional(),
    tokenFile: z.string().min(1).optional(),
    /** JetStream KV bucket where the gateway keeps each device's latest `StatusMessage` (key = device id). @default 'fl_device_status' */
    statusBucket: z.string().regex(/^[A-Za-z0-9_-]+$/).default('fl_device_status'),
    /** @default 5000 */
    connectTimeoutMs: z.number().int().positive().default(5000),
  })
  .strict();

export const apiAuthSchema = z
  .object({
    /** Accepted bearer tokens (at least 16 characters). Never logged; prefer `tokenFile` or the env variable. */
    tokens: z.array(z.string().min(16, 'tokens must be at least 16 characters')).default([]),
    /** File with one token per line (blank lines and `#` comments ignored). */
    tokenFile: z.string().min(1).optional(),
    /** Environment variable with comma-separated tokens. @default 'FIELDLINE_API_TOKENS' */
    tokenEnv: z.string().min(1).default('FIELDLINE_API_TOKENS'),
  })
  .strict();

export const apiLimitsSchema = z
  .object({
    /** Most points `/series` returns. @default 5000 */
    maxPoints: z.number().int().min(2).max(100_000).default(5000),
    /** `points` when the request gives none. @default 1000 */
    defaultPoints: z.number().int().min(2).default(1000),
    /** Longest time range a query may span. @default 400 */
    maxRangeDays: z.number().positive().max(36_600).default(400),
    /** Most rows `/sessions` and `/alerts` return. @default 1000 */
    maxRows: z.number().int().positive().max(100_000).default(1000),
    /** How far before `from` an alert may have fired and still be open in the range. @default 7 */
    alertLookbackDays: z.number().nonnegative().max(366).default(7),
    /** Reads that run at once (a `/series` read sends up to `seriesParallel` + 1 queries in its slot). @default 8 */
    influxConcurrency: z.number().int().positive().default(8),
    /**
     * InfluxDB 1.x runs a query on one core: a `/series` read of many buckets (at least 100 per
     * slice) is sent as up to this many queries at once, slices of its range at bucket boundaries
     * (with a rollup tier, its raw tail beside them), all in the read's one slot. 1 turns it off.
     * @default 2
     */
    seriesParallel: z.number().int().min(1).max(16).default(2),
    /** Queries waiting for a slot; more get 503. @default 64 */
    influxQueue: z.number().int().nonnegative().default(64),
    /** Concurrent SSE clients; more get 503. @default 100 */
    sseClients: z.number().int().positive().default(100),
    /** Bytes buffered for one slow SSE client before its events are dropped (and counted). @default 1048576 */
    sseBufferBytes: z.number().int().positive().default(1 << 20),
  })
  .strict();

export const apiConfigSchema = z
  .object({
    /** @default '127.0.0.1' */
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 picks a free port. @default 8080 */
    port: z.number().int().min(0).max(65535).default(8080),
    /** @default 'info' */
    logLevel: logLevelSchema,
    /** Ops server: `/metrics`, `/healthz`, `/readyz` (README: ports); null disables. `/healthz` also answers on `port`. */
    ops: z
      .object({
        /** @default '127.0.0.1' */
        host: z.string().min(1).default('127.0.0.1'),
        /** 0 picks a free port. @default 9466 */
        port: z.number().int().min(0).max(65535).default(9466),
      })
      .strict()
      .nullable()
      .default({}),
    influx: influxConfigSchema.default({}),
    /** Storage tiers, as in the processor's config (the same defaults): `/series` picks one per query. */
    tiers: tiersSchema.default({}),
    /** Live updates, commands and status need NATS; without it those endpoints answer 503. */
    nats: apiNatsSchema.optional(),
    auth: apiAuthSchema.default({}),
    limits: apiLimitsSchema.default({}),
    /** Forward readings from `fl.telemetry.>` to SSE clients that ask for them. @default true */
    liveReadings: z.boolean().default(true),
    /** SSE keep-alive comment interval. @default 15000 */
    sseHeartbeatMs: z.number().int().positive().default(15_000),
  })
  .strict();

export type ApiConfig = z.infer<typeof apiConfigSchema>;
export type ApiConfigInput = z.input<typeof apiConfigSchema>;

/** Invalid API configuration; the message names every offending key path (exit 78). */
export class ApiConfigError extends ConfigError {
  override name = 'ApiConfigError';
}

/** Loads and validates the API config from a YAML file path or an object; errors name the key path. */
export function loadApiConfig(pathOrObject: string | ApiConfigInput): ApiConfig {
  return loadConfig(pathOrObject, apiConfigSchema, { what: 'API config', error: ApiConfigError });
}

/** All accepted API tokens from config, file and environment; at least one is required (admin surfaces need credentials). */
export function resolveTokens(auth: ApiConfig['auth'], env: NodeJS.ProcessEnv = process.env): string[] {
  const tokens = [...auth.tokens];
  if (auth.tokenFile) {
    for (const line of readSecretFile(auth.tokenFile, 'auth.tokenFile').split('\n')) {
      const t = line.trim();
      if (t && !t.startsWith('#')) tokens.push(t);
    }
  }
  for (const t of (env[auth.tokenEnv] ?? '').split(',')) if (t.trim()) tokens.push(t.trim());
  const short = tokens.findIndex((t) => t.length < 16);
  if (short >= 0) throw new ApiConfigError(`auth: token #${short + 1} is shorter than 16 characters`, [`auth: token #${short + 1} is shorter than 16 characters`]);
  if (tokens.length === 0) {
    const issue = `auth: no API token configured (set auth.tokens, auth.tokenFile or the ${auth.tokenEnv} environment variable)`;
    throw new ApiConfigError(issue, [issue]);
  }
  return tokens;
}

