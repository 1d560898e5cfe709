import { HttpError, InfluxDB, setLogger } from '@influxdata/influxdb-client';
import { registerSink } from '../registry.js';
import { classifyStatus, SinkWriteError, type LineWriter, type SinkContext } from '../types.js';

// The client logs failed writes to the console itself; failures surface as SinkWriteError and
// are logged once by the processor with context instead.
setLogger({ error: () => {}, warn: () => {} });

/**
 * InfluxDB v2 API (2.x, 3.x, Cloud, 1.8+) through `@influxdata/influxdb-client`. Batching and
 * retries stay in the processor's sink (it must know which lines were accepted before it acks),
 * so each call is one request: its own WriteApi with client retries off.
 */
export async function createInfluxV2Writer(ctx: SinkContext): Promise<LineWriter> {
  const { config, secrets } = ctx;
  if (!config.org) throw new SinkWriteError('config', 'influx.org: required for the v2 API');
  const token = secrets.token ?? (config.username ? `${config.username}:${secrets.password ?? ''}` : undefined);
  const client = new InfluxDB({ url: config.url, token, timeout: config.timeoutMs });
  const org = config.org;
  return {
    kind: 'influx-v2',
    async write(lines) {
      if (lines.length === 0) return;
      const api = client.getWriteApi(org, config.bucket, 'ns', {
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
          throw new SinkWriteError(classifyStatus(err.statusCode), `InfluxDB /api/v2/write ${err.statusCode}: ${detail}`, err.statusCode, { cause: err });
        }
        throw new SinkWriteError('unavailable', `InfluxDB ${config.url} unreachable: ${(err as Error).message}`, undefined, { cause: err });
      }
    },
    async close() {},
  };
}

registerSink('influx-v2', createInfluxV2Writer);
