/**
 * Records v1-influxdb-1.6.7.json from the real influxd 1.6.7 (Debian's `influxdb` package):
 * writes {@link contractLines}, then runs every contract call through the query API's store
 * behind a recording proxy. Run it when the store's InfluxQL changes:
 *   node --conditions=fieldline-src --import tsx cloud/test/influx/recorded/record-v1.ts
 * store-contract.test.ts records again on every run and checks the file still matches.
 */
import { writeFileSync } from 'node:fs';
import { cleanupAll, InfluxServer } from '@fieldline/harness';
import { openStore } from '../../../src/api/store.js';
import { runCalls } from './calls.js';
import { contractLines, RecordingProxy, type Recording } from './exchanges.js';

export async function recordV1(): Promise<Recording> {
  const influx = await InfluxServer.start();
  try {
    await influx.createDatabase('fieldline');
    const res = await fetch(`${influx.url}/write?db=fieldline&precision=ns`, { method: 'POST', body: contractLines().join('\n') });
    if (res.status !== 204) throw new Error(`write failed: ${res.status} ${await res.text()}`);
    const proxy = await RecordingProxy.start(influx.url);
    try {
      await runCalls(await openStore({ url: proxy.url, database: 'fieldline' } as never));
    } finally {
      await proxy.close();
    }
    return {
      source: 'recorded from the real server by cloud/test/influx/recorded/record-v1.ts',
      server: `InfluxDB ${proxy.ping.headers['x-influxdb-version']} (Debian's influxdb package)`,
      ping: proxy.ping,
      exchanges: proxy.exchanges,
    };
  } finally {
    await influx.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rec = await recordV1();
  writeFileSync(new URL('./v1-influxdb-1.6.7.json', import.meta.url), `${JSON.stringify(rec, null, 2)}\n`);
  console.log(`recorded ${rec.exchanges.length} exchanges from ${rec.server}`);
  cleanupAll();
}
