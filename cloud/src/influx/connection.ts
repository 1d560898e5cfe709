/**
 * How a cloud component reaches InfluxDB, resolved once: secrets read from their files, the API
 * detected from `/ping`, and one authorization rule for writes and queries alike.
 */
import { readSecret } from '@fieldline/runtime';
import { influxConfigSchema, type InfluxConfig } from './config.js';
import { InfluxWriteError } from './errors.js';

export type InfluxApi = 'v1' | 'v2';

/**
 * Which API to use for a server version from `/ping` (`X-Influxdb-Version`): any 1.x gets the v1
 * API (`/write` and InfluxQL, which every 1.x has; Flux is optional even on 1.8), everything else
 * (2.x, 3.x, Cloud, which answers without a version) the v2 API.
 */
export function apiForVersion(version: string | null): InfluxApi {
  return /^v?1\./.test(version ?? '') ? 'v1' : 'v2';
}

/** Asks `/ping` for the server's version. */
export async function detectInfluxApi(url: string, timeoutMs = 10_000): Promise<{ api: InfluxApi; version: string | null }> {
  let res: Response;
  try {
    res = await fetch(`${url.replace(/\/+$/, '')}/ping`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new InfluxWriteError('unavailable', `influx.url: InfluxDB ${url}/ping unreachable: ${(err as Error).message}`, undefined, { cause: err });
  }
  await res.arrayBuffer();
  const version = res.headers.get('x-influxdb-version');
  return { api: apiForVersion(version), version };
}

export interface InfluxConnection {
  readonly config: InfluxConfig;
  readonly api: InfluxApi;
  /** Server version from `/ping`, when `api: auto` asked. */
  readonly version: string | null;
  /** Base URL without a trailing slash. */
  readonly url: string;
  /** The `Authorization` header for both APIs, or undefined without credentials. Never logged. */
  readonly authorization: string | undefined;
  /** The v2 client's token (its `Authorization: Token …`), or undefined. Never logged. */
  readonly token: string | undefined;
}

/**
 * Credentials, one rule for writes and queries:
 * - v1: `username` + `password`/`passwordFile` → Basic; a `token` of `user:password` → Basic;
 *   any other token → `Token <token>` (InfluxDB 1.8+ and 3.x accept it on the v1 API).
 * - v2: `token` → `Token <token>`; `username` + password → token `user:password` (1.8's v2 API).
 */
export function credentials(cfg: InfluxConfig, secrets: { token?: string; password?: string }, api: InfluxApi): { authorization?: string; token?: string } {
  const { token, password } = secrets;
  if (api === 'v2') {
    const t = token ?? (cfg.username ? `${cfg.username}:${password ?? ''}` : undefined);
    return t ? { authorization: `Token ${t}`, token: t } : {};
  }
  const pair = cfg.username ? [cfg.username, password ?? ''] : token?.includes(':') ? [token.slice(0, token.indexOf(':')), token.slice(token.indexOf(':') + 1)] : undefined;
  if (pair) return { authorization: `Basic ${Buffer.from(`${pair[0]}:${pair[1]}`).toString('base64')}` };
  return token ? { authorization: `Token ${token}`, token } : {};
}

/** Validates the config (defaults applied, unknown keys rejected), reads secrets, detects the API. */
export async function connectInflux(config: InfluxConfig | Record<string, unknown>): Promise<InfluxConnection> {
  const cfg = influxConfigSchema.parse(config);
  const secrets = {
    token: readSecret(cfg.token, cfg.tokenFile, 'influx.tokenFile'),
    password: readSecret(cfg.password, cfg.passwordFile, 'influx.passwordFile'),
  };
  const detected = cfg.api === 'auto' ? await detectInfluxApi(cfg.url, cfg.timeoutMs) : { api: cfg.api, version: null };
  const c = credentials(cfg, secrets, detected.api);
  return { config: cfg, api: detected.api, version: detected.version, url: cfg.url.replace(/\/+$/, ''), authorization: c.authorization, token: c.token };
}
