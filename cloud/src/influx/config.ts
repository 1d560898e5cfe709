import { z } from 'zod';

/**
 * How a cloud component reaches InfluxDB. `api: auto` asks `/ping` for the server version
 * (connection.ts): any 1.x gets the v1 HTTP API (`/write`, InfluxQL), 2.x, 3.x and Cloud the v2 API.
 */
export const influxConfigSchema = z
  .object({
    /** @default 'http://127.0.0.1:8086' */
    url: z.string().url().default('http://127.0.0.1:8086'),
    /** @default 'auto' */
    api: z.enum(['auto', 'v1', 'v2']).default('auto'),
    /** v1 database. @default 'fieldline' */
    database: z.string().min(1).default('fieldline'),
    /** v1 retention policy; the database's default when unset. */
    retentionPolicy: z.string().min(1).optional(),
    /** v2 organisation. */
    org: z.string().min(1).optional(),
    /** v2 bucket. @default 'fieldline' */
    bucket: z.string().min(1).default('fieldline'),
    /** v2 token (or v1 `username:password`); prefer `tokenFile`. Never logged. */
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
