import type { Logger } from 'pino';
import type { InfluxConfig } from './config.js';
import { connectInflux, type InfluxApi, type InfluxConnection } from './connection.js';
import type { StorageTarget } from './tiers.js';
import { createInfluxV1Writer } from './writer-v1.js';
import { createInfluxV2Writer } from './writer-v2.js';

/** Writes line protocol; resolves only when the server accepted every line. */
export interface LineWriter {
  readonly api: InfluxApi;
  /** To the configured database/retention policy or bucket, or to `target` (a rollup tier's). */
  write(lines: readonly string[], target?: StorageTarget): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens a line-protocol writer for the configured server (`api: auto` asks `/ping`). Accepts a
 * raw config object too (defaults applied, unknown keys rejected), or an open connection.
 */
export async function createInfluxWriter(config: InfluxConfig | Record<string, unknown> | InfluxConnection, opts: { logger?: Logger } = {}): Promise<LineWriter> {
  const conn = 'authorization' in config && 'api' in config && 'url' in config && 'config' in config ? (config as InfluxConnection) : await connectInflux(config);
  // v3 writes line protocol on its v1-compatible /write (writer-v1.ts), which every 3.x edition has.
  const writer = conn.api === 'v2' ? await createInfluxV2Writer(conn) : await createInfluxV1Writer(conn);
  opts.logger?.info({ url: conn.url, api: conn.api, database: conn.api === 'v2' ? conn.config.bucket : conn.config.database }, 'InfluxDB writer ready');
  return writer;
}
