import { createServer, type Server } from 'node:http';
import { cleanupAll, waitFor } from '@fieldline/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcessor, type Processor } from '../../src/processor/index.js';
import { ensureStreams } from '../../src/processor/streams.js';
import { baseConfig, envelope, publish, queryRows, silentLogger, startServices, stopServices, type Services } from './helpers.js';

/** In front of influxd: forwards everything and records the lines of each `/write` request to the raw tier (rollup tiers' go to their retention policy, `rp=`). */
async function countingProxy(target: string): Promise<{ server: Server; url: string; writes: number[] }> {
  const writes: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url?.startsWith('/write') && !req.url.includes('rp=')) writes.push(body.toString('utf8').split('\n').filter(Boolean).length);
      void fetch(`${target}${req.url}`, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? 'text/plain' }, body: req.method === 'GET' ? undefined : body })
        .then(async (r) => {
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'text/plain' });
          res.end(Buffer.from(await r.arrayBuffer()));
        })
        .catch(() => res.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { server, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, writes };
}

describe('processor batches (real nats-server + influxd 1.6)', () => {
  let s: Services | undefined;
  let p: Processor | undefined;
  let proxy: Awaited<ReturnType<typeof countingProxy>> | undefined;

  beforeAll(async () => {
    s = await startServices();
    proxy = await countingProxy(s.influx.url);
  });
  afterAll(async () => {
    await p?.close();
    proxy?.server.close();
    await stopServices(s);
    cleanupAll();
  });

  it('cuts before a message that would overflow batchLines: each request holds whole messages, none over the limit', async () => {
    const t0 = Date.UTC(2026, 0, 5, 12);
    await ensureStreams(await s!.nc.jetstreamManager());
    // Published before the processor starts, so it pulls them in bulk. 20 messages of 37 readings; batchLines 100 fits two messages (74 lines), not three (111).
    for (let m = 0; m < 20; m++) {
      await publish(s!.js, envelope('dev-b', Array.from({ length: 37 }, (_, i) => ({ sensor: 'temp', ts: t0 + (m * 37 + i) * 100, value: i }))));
    }
    p = await startProcessor(baseConfig(s!, { influx: { url: proxy!.url, api: 'v1', database: 'fieldline' }, sink: { batchLines: 100, flushIntervalMs: 1000 } }), { logger: silentLogger });
    await waitFor(async () => (await queryRows(s!.influx, `SELECT count(value) FROM readings WHERE device='dev-b'`))[0]?.count === 740, {
      timeoutMs: 30_000,
      what: '740 readings in InfluxDB',
    });
    const writes = proxy!.writes;
    expect(writes.reduce((a, b) => a + b, 0)).toBe(740);
    expect(Math.max(...writes)).toBeLessThanOrEqual(100);
    // Whole messages per request (a request split at the limit would leave 100 + 11).
    expect(writes.filter((n) => n % 37 !== 0)).toEqual([]);
  });
});
