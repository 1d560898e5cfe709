import { HttpError, InfluxDB, setLogger } from '@influxdata/influxdb-client';
import type { InfluxConnection } from './connection.js';
import { classifyStatus, InfluxWriteError } from './errors.js';
import type { StorageTarget } from './tiers.js';
import type { LineWriter } from './writer.js';

// The client logs failed writes to the console itself; failures surface as InfluxWriteError and
// are logged once by the processor with context instead.
setLogger({ error: () => {}, warn: () => {} });

/**
 * InfluxDB v2 API (2.x, 3.x, Cloud, 1.8+) through `@influxdata/influxdb-client`. Batching and
 * retries stay in the processor's sink (it must know which lines were accepted before it acks),
 * so each call is one request: its own WriteApi with client retries off.
 */
export async function createInfluxV2Writer(conn: InfluxConnection): Promise<LineWriter> {
  const { config } = conn;
  if (!config.org) throw new InfluxWriteError('config', 'influx.org: required for the v2 API');
  const client = new InfluxDB({ url: conn.url, token: conn.token, timeout: config.timeoutMs });
  const org = config.org;
  return {
    api: 'v2',
    async write(lines, target?: StorageTarget) {
      if (lines.length === 0) return;
      const api = client.getWriteApi(org, target?.bucket ?? config.bucket, 'ns', {
        batchSize: lines.length + 1,
        maxBatchBytes: Number.MAX_SAFE_INTEGER,
        flushInterval: 0,
        maxRetries: 0,
        gzipThreshold: 64 * 1024,
      });
      api.writeRecords(lines as string[]);
      try {
        await api.close();
      } catch (err) {
        if (err instanceof HttpError) {
          const detail = (err.json as { message?: string } | undefined)?.message ?? err.body ?? err.message;
          throw new InfluxWriteError(classifyStatus(err.statusCode), `InfluxDB /api/v2/write ${err.statusCode}: ${detail}`, err.statusCode, { cause: err });
        }
        throw new InfluxWriteError('unavailable', `InfluxDB ${config.url} unreachable: ${(err as Error).message}`, undefined, { cause: err });
      }
    },
    async close() {},
  };
}
