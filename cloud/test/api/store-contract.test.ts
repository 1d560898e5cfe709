/**
 * Contract tests of the query API's store, one per InfluxDB API path, against recorded server
 * answers (cloud/test/influx/recorded/, README.md there says where each came from):
 * - v1 (InfluxQL, one POST per call): recorded from the real influxd 1.6.7; recorded again here
 *   on every run, so the file is checked against the real server;
 * - v2 (Flux, annotated CSV): written by hand from InfluxDB 2.x's documented formats;
 * - v3 (InfluxQL on 3.x's v1-compatible /query, one GET per statement, bearer token): written by
 *   hand, once in the documented schema (tags per series) and once as InfluxDB 3 Core's source
 *   builds it (GROUP BY tags as columns).
 * Every path must turn the same data into the same results, and `api: auto` must pick the path
 * from `/ping` alone. A request the recording has no answer for fails the test: the store's
 * queries and the recordings change together.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll } from '@fieldline/harness';
import { openStore } from '../../src/api/store.js';
import { createInfluxWriter } from '../../src/influx/writer.js';
import { CALLS, EXPECTED, runCalls } from '../influx/recorded/calls.js';
import { contractLines, ReplayServer, type Recording } from '../influx/recorded/exchanges.js';
import { recordV1 } from '../influx/recorded/record-v1.js';

const recording = (file: string): Recording => JSON.parse(readFileSync(new URL(`../influx/recorded/${file}`, import.meta.url), 'utf8')) as Recording;

afterAll(() => cleanupAll());

const PATHS = [
  { file: 'v1-influxdb-1.6.7.json', api: 'v1', config: {}, auth: undefined },
  { file: 'v2-influxdb-2.7.json', api: 'v2', config: { org: 'acme', token: 'v2-secret' }, auth: 'Token v2-secret' },
  { file: 'v3-documented-tags-as-series.json', api: 'v3', config: { token: 'apiv3_secret' }, auth: 'Bearer apiv3_secret' },
  { file: 'v3-core-tags-as-columns.json', api: 'v3', config: { token: 'apiv3_secret' }, auth: 'Bearer apiv3_secret' },
] as const;

describe.each(PATHS)('store contract: $file', ({ file, api, config, auth }) => {
  it(`api: auto detects ${api} from /ping, and every call reads the recorded answers as the same results`, async () => {
    const rec = recording(file);
    const server = await ReplayServer.start(rec);
    try {
      const store = await openStore({ url: server.url, ...config } as never);
      expect(store.api).toBe(api);
      const results = await runCalls(store);
      expect(server.misses, 'requests the recording has no answer for').toEqual([]);
      for (const name of Object.keys(CALLS) as (keyof typeof CALLS)[]) expect(results[name], name).toEqual(EXPECTED[name]);
      // Every recorded exchange was asked for (a recording with unused answers is stale).
      expect(server.seen.filter((r) => r.path !== '/ping' && r.path !== '/write')).toHaveLength(rec.exchanges.filter((e) => e.request.path !== '/write').length);
      for (const r of server.seen.filter((x) => x.path !== '/ping')) expect(r.authorization, `${r.method} ${r.path}`).toBe(auth);
      // Before it knows the version, /ping carries a configured token as a bearer token (3.x wants one there).
      expect(server.seen.find((r) => r.path === '/ping')?.authorization).toBe('token' in config ? `Bearer ${config.token}` : undefined);
    } finally {
      await server.close();
    }
  });
});

describe('v3 writes', () => {
  it('go to the v1-compatible /write with a bearer token and no CREATE DATABASE (3.x creates the database on first write)', async () => {
    for (const file of ['v3-documented-tags-as-series.json', 'v3-core-tags-as-columns.json']) {
      const server = await ReplayServer.start(recording(file));
      try {
        const writer = await createInfluxWriter({ url: server.url, token: 'apiv3_secret' });
        expect(writer.api).toBe('v3');
        await writer.write(contractLines());
        await writer.close();
        expect(server.misses).toEqual([]);
        expect(server.seen.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /ping', 'POST /write']);
        expect(server.seen.every((r) => r.authorization === 'Bearer apiv3_secret')).toBe(true);
      } finally {
        await server.close();
      }
    }
  });
});

describe('v1 recording', () => {
  it('is what the real influxd 1.6.7 answers today (recorded again and compared)', async () => {
    const fresh = await recordV1();
    const saved = recording('v1-influxdb-1.6.7.json');
    expect(fresh.ping).toEqual(saved.ping);
    expect(fresh.exchanges).toEqual(saved.exchanges);
  });
});

describe('api: auto against InfluxDB 3 that wants a token on /ping', () => {
  it('names influx.token when /ping answers 401 without a version', async () => {
    const server = await ReplayServer.start({ source: 'test', server: 'InfluxDB 3 Core with auth on /ping', ping: { status: 401, headers: {} }, exchanges: [] });
    try {
      await expect(openStore({ url: server.url } as never)).rejects.toThrow(/influx\.token: .*\/ping answered 401/);
    } finally {
      await server.close();
    }
  });
});
