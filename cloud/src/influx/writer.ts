import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { influxConfigSchema, type InfluxConfig } from './config.js';
import '../sinks/influx-v1/index.js';
import '../sinks/influx-v2/index.js';
import { getSinkFactory } from '../sinks/registry.js';
import { SinkWriteError, type LineWriter } from '../sinks/types.js';

/**
 * Which API a server speaks, from `/ping`'s `X-Influxdb-Version`: 1.x before 1.8 only v1;
 * 1.8+, 2.x, 3.x (and Cloud, which answers without a 1.x version) the v2 API.
 */
export function apiForVersion(version: string | null): 'v1' | 'v2' {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return 'v2';
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major === 1 && minor < 8 ? 'v1' : major < 1 ? 'v1' : 'v2';
}

export async function detectInfluxApi(url: string, timeoutMs = 10_000): Promise<'v1' | 'v2'> {
  let res: Response;
  try {
    res = await fetch(`${url.replace(/\/+$/, '')}/ping`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new SinkWriteError('unavailable', `InfluxDB ${url}/ping unreachable: ${(err as Error).message}`, undefined, { cause: err });
  }
  await res.arrayBuffer();
  return apiForVersion(res.headers.get('x-influxdb-version'));
}

function readSecret(value: string | undefined, file: string | undefined, key: string): string | undefined {
  if (value !== undefined) return value;
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new SinkWriteError('config', `influx.${key}: cannot read ${file}: ${(err as Error).message}`, undefined, { cause: err });
  }
}

export interface InfluxWriter extends LineWriter {
  readonly api: 'v1' | 'v2';
}

/**
 * Opens a line-protocol writer for the configured server: `api: auto` asks `/ping`.
 * Accepts a raw config object too (defaults applied, unknown keys rejected).
 */
export async function createInfluxWriter(config: InfluxConfig | Record<string, unknown>, opts: { logger?: Logger } = {}): Promise<InfluxWriter> {
  const cfg = influxConfigSchema.parse(config);
  const api = cfg.api === 'auto' ? await detectInfluxApi(cfg.url, cfg.timeoutMs) : cfg.api;
  const secrets = {
    token: readSecret(cfg.token, cfg.tokenFile, 'tokenFile'),
    password: readSecret(cfg.password, cfg.passwordFile, 'passwordFile'),
  };
  const writer = await getSinkFactory(`influx-${api}`)({ config: cfg, secrets });
  opts.logger?.info({ url: cfg.url, api, database: api === 'v1' ? cfg.database : cfg.bucket }, 'InfluxDB writer ready');
  return Object.assign(writer, { api });
}
