import { z } from 'zod';

/**
 * How a cloud component reaches InfluxDB. `api: auto` asks `/ping` for the server version
 * (connection.ts): 1.x gets the v1 HTTP API (`/write`, InfluxQL), 2.x and Cloud the v2 API (Flux),
 * 3.x the v3 path (its v1-compatible `/write` and InfluxQL `/query`; 3.x has no Flux).
 */
export const influxConfigSchema = z
  .object({
    /** @default 'http://127.0.0.1:8086' */
    url: z.string().url().default('http://127.0.0.1:8086'),
    /** @default 'auto' */
    api: z.enum(['auto', 'v1', 'v2', 'v3']).default('auto'),
    /** v1 and v3 database. @default 'fieldline' */
    database: z.string().min(1).default('fieldline'),
    /** v1 retention policy; the database's default when unset. */
    retentionPolicy: z.string().min(1).optional(),
    /** v2 organisation. */
    org: z.string().min(1).optional(),
    /** v2 bucket. @default 'fieldline' */
    bucket: z.string().min(1).default('fieldline'),
    /** v2/v3 token (or v1 `username:password`); prefer `tokenFile`. Never logged. */
    token: z.string().min(1).optional(),
    /** File holding the token; read at start-up. */
    tokenFile: z.string().min(1).optional(),
    /** v1 basic-auth user; password from `password`/`passwordFile`. */
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    passwordFile: z.string().min(1).optional(),
    /** @default 10000 */
    timeoutMs: z.number().int().positive().default(10_000),
  })
  .strict();

export type InfluxConfig = z.infer<typeof influxConfigSchema>;
