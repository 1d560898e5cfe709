/**
 * How a cloud component reaches InfluxDB, resolved once: secrets read from their files, the API
 * detected from `/ping`, and one authorization rule for writes and queries alike.
 */
import { readSecret } from '@fieldline/runtime';
import { influxConfigSchema, type InfluxConfig } from './config.js';
import { InfluxWriteError } from './errors.js';

/**
 * - `v1`: InfluxDB 1.x: `/write` and InfluxQL on `/query` (one POST, several statements).
 * - `v2`: InfluxDB 2.x and Cloud (TSM): `/api/v2/write` and Flux on `/api/v2/query`.
 * - `v3`: InfluxDB 3 (Core, Enterprise, Cloud Serverless/Dedicated, Clustered), which has no Flux:
 *   its v1-compatible `/write` and InfluxQL on `/query` (GET, one statement per request), with a
 *   bearer token; no `CREATE DATABASE` (the operator creates the databases: raw `database`, one
 *   per rollup tier, named by the tier's `bucket`; retention.ts checks they exist).
 */
export type InfluxApi = 'v1' | 'v2' | 'v3';

/**
 * Which API to use for a server version from `/ping` (`X-Influxdb-Version`): any 1.x gets the v1
 * API (`/write` and InfluxQL, which every 1.x has; Flux is optional even on 1.8), 3.x the v3 path,
 * everything else (2.x, and InfluxDB Cloud, which answers without a version) the v2 API. InfluxDB
 * Cloud Serverless and Dedicated are 3.x engines behind that same versionless answer: set `api: v3`.
 */
export function apiForVersion(version: string | null): InfluxApi {
  const v = version ?? '';
  if (/^v?1\./.test(v)) return 'v1';
  if (/^v?3\./.test(v)) return 'v3';
  return 'v2';
}

/**
 * Asks `/ping` for the server's version. InfluxDB 3 wants a token on `/ping` unless started with
 * `--disable-authz ping`, so `authorization` is sent when there is one (1.x and 2.x ignore it there).
 */
export async function detectInfluxApi(url: string, timeoutMs = 10_000, authorization?: string): Promise<{ api: InfluxApi; version: string | null }> {
  let res: Response;
  try {
    res = await fetch(`${url.replace(/\/+$/, '')}/ping`, { headers: authorization ? { authorization } : {}, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new InfluxWriteError('unavailable', `influx.url: InfluxDB ${url}/ping unreachable: ${(err as Error).message}`, undefined, { cause: err });
  }
  await res.arrayBuffer();
  const version = res.headers.get('x-influxdb-version');
  if ((res.status === 401 || res.status === 403) && !version) {
    throw new InfluxWriteError('config', `influx.token: InfluxDB ${url}/ping answered ${res.status}: it needs a valid token to tell its version (or set influx.api)`, res.status);
  }
  return { api: apiForVersion(version), version };
}

/** Resolves when InfluxDB answers `/ping` below 500; rejects (saying why) otherwise. */
export async function pingInflux(url: string, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${url.replace(/\/+$/, '')}/ping`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string } }).cause?.code;
    throw new InfluxWriteError('unavailable', `${url}/ping: ${cause ?? (err as Error).message}`, undefined, { cause: err });
  }
  await res.arrayBuffer().catch(() => undefined);
  if (res.status >= 500) throw new InfluxWriteError('unavailable', `${url}/ping answered ${res.status}`, res.status);
}

export interface InfluxConnection {
  readonly config: InfluxConfig;
  readonly api: InfluxApi;
  /** Server version from `/ping`, when `api: auto` asked. */
  readonly version: string | null;
  /** Base URL without a trailing slash. */
  readonly url: string;
  /** The `Authorization` header for every request, or undefined without credentials. Never logged. */
  readonly authorization: string | undefined;
  /** The v2 client's token (its `Authorization: Token …`), or undefined. Never logged. */
  readonly token: string | undefined;
}

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/**
 * Credentials, one rule for writes and queries:
 * - v1: `username` + `password`/`passwordFile` → Basic; a `token` of `user:password` → Basic;
 *   any other token → `Token <token>` (InfluxDB 1.8+ accepts it on the v1 API).
 * - v2: `token` → `Token <token>`; `username` + password → token `user:password` (1.8's v2 API).
 * - v3: `token` → `Bearer <token>` (the scheme every 3.x edition accepts); `username` + password →
 *   Basic (the v1-compatible endpoints take a token as the password).
 */
export function credentials(cfg: InfluxConfig, secrets: { token?: string; password?: string }, api: InfluxApi): { authorization?: string; token?: string } {
  const { token, password } = secrets;
  if (api === 'v2') {
    const t = token ?? (cfg.username ? `${cfg.username}:${password ?? ''}` : undefined);
    return t ? { authorization: `Token ${t}`, token: t } : {};
  }
  if (api === 'v3') {
    if (token) return { authorization: `Bearer ${token}`, token };
    return cfg.username ? { authorization: basic(cfg.username, password ?? '') } : {};
  }
  const pair = cfg.username ? [cfg.username, password ?? ''] : token?.includes(':') ? [token.slice(0, token.indexOf(':')), token.slice(token.indexOf(':') + 1)] : undefined;
  if (pair) return { authorization: basic(pair[0]!, pair[1]!) };
  return token ? { authorization: `Token ${token}`, token } : {};
}

/** Validates the config (defaults applied, unknown keys rejected), reads secrets, detects the API. */
export async function connectInflux(config: InfluxConfig | Record<string, unknown>): Promise<InfluxConnection> {
  const cfg = influxConfigSchema.parse(config);
  const secrets = {
    token: readSecret(cfg.token, cfg.tokenFile, 'influx.tokenFile'),
    password: readSecret(cfg.password, cfg.passwordFile, 'influx.passwordFile'),
  };
  // For /ping: a plain token as a bearer token (3.x needs one there), a user/password as Basic.
  const pingAuth = cfg.api === 'auto' ? credentials(cfg, secrets, secrets.token && !secrets.token.includes(':') ? 'v3' : 'v1').authorization : undefined;
  const detected = cfg.api === 'auto' ? await detectInfluxApi(cfg.url, cfg.timeoutMs, pingAuth) : { api: cfg.api, version: null };
  const c = credentials(cfg, secrets, detected.api);
  return { config: cfg, api: detected.api, version: detected.version, url: cfg.url.replace(/\/+$/, ''), authorization: c.authorization, token: c.token };
}
