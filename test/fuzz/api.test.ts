// Hostile input at the query API: its parameters, its bodies, its login and its commands. Every
// request gets a 2xx or a 4xx with a JSON error naming what was wrong, quickly: never a 5xx, a
// hang or a crash; a token never appears in an answer; and a correct query answers the same after.
import fc from 'fast-check';
import { cleanupAll, InfluxServer, NatsServer } from '@fieldline/harness';
import { loadApiConfig, startApi, type ApiHandle } from '../../cloud/src/api/index.js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fcParams, TEST_TIMEOUT } from './profile.js';

const TOKEN = 'fuzz-token-0123456789abcdef';
const T0 = Date.UTC(2026, 0, 1);
let influx: InfluxServer;
let nats: NatsServer;
let api: ApiHandle;

async function request(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; text: string }> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 10_000);
  try {
    const res = await fetch(`${api.url}${path}`, { method, body: init.body, headers: init.headers, signal: ctl.signal, redirect: 'manual' });
    // /live is an event stream: its first bytes are enough.
    const text = path.startsWith('/api/v1/live') && res.status === 200 ? '' : await res.text();
    ctl.abort();
    return { status: res.status, text };
  } finally {
    clearTimeout(timer);
  }
}

/** A 4xx must be JSON `{error, message}`; nothing may be a 5xx or carry the token. */
function judge(r: { status: number; text: string }, what: string): void {
  expect(r.status, `${what}: ${r.text.slice(0, 300)}`).toBeLessThan(500);
  expect(r.text.includes(TOKEN), what).toBe(false);
  if (r.status >= 400) {
    const body = JSON.parse(r.text) as { error?: unknown; message?: unknown };
    expect(typeof body.message === 'string' || typeof body.error === 'string', `${what}: ${r.text.slice(0, 300)}`).toBe(true);
  }
}

beforeAll(async () => {
  [influx, nats] = await Promise.all([InfluxServer.start(), NatsServer.start()]);
  await influx.createDatabase('fieldline');
  const lines = Array.from({ length: 60 }, (_, i) => `readings,device=pump-1,sensor=temp value=${20 + i / 10},score=0 ${(T0 + i * 1000) * 1e6}`);
  await fetch(`${influx.url}/write?db=fieldline`, { method: 'POST', body: lines.join('\n') });
  api = await startApi(loadApiConfig({ port: 0, ops: { port: 0 }, influx: { url: influx.url }, tiers: { rollups: [] }, nats: { servers: nats.url }, auth: { tokens: [TOKEN] } }), { logger: pino({ level: 'silent' }) });
});

afterAll(async () => {
  await api?.close();
  await Promise.all([influx?.stop(), nats?.stop()]);
  cleanupAll();
});

const auth = { authorization: `Bearer ${TOKEN}` };
const hostileText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', '-1', '0', '1e309', 'NaN', 'Infinity', '9'.repeat(40), '2026-13-45T99:99:99Z', "'; DROP DATABASE fieldline; --", '" OR 1=1 --', '/.*/', '\\', '\u0000', '%00', '../../etc/passwd', '__proto__', 'a'.repeat(5000), 'now()', 'time > 0'),
  fc.integer().map(String),
  fc.double().map(String),
);
const params = ['device', 'sensor', 'from', 'to', 'points', 'limit', 'rule', 'severity', 'state', 'readings', 'constructor', '__proto__'];
const query = fc.array(fc.tuple(fc.constantFrom(...params), hostileText), { maxLength: 6 }).map((kv) => new URLSearchParams(kv).toString());

describe('hostile input at the query API', () => {
  it('query parameters: a 2xx or a 4xx naming the problem, never a 5xx or a hang', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/api/v1/devices', '/api/v1/series', '/api/v1/alerts', '/api/v1/sessions', '/api/v1/live'), query, fc.boolean(), async (path, q, withToken) => {
        const r = await request('GET', `${path}?${q}`, { headers: withToken ? auth : {} });
        judge(r, `GET ${path}?${q}`);
        if (!withToken) expect(r.status).toBeGreaterThanOrEqual(400);
      }),
      fcParams(1111, 150, 3000),
    );
  }, TEST_TIMEOUT);

  it('bodies, login and commands: JSON of any shape, broken JSON, wrong content types, hostile device ids', async () => {
    const body = fc.oneof(
      fc.json({ maxDepth: 4 }),
      fc.anything({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
      fc.string({ maxLength: 200 }),
      fc.constantFrom('{', '{"token":', `${'['.repeat(5000)}${']'.repeat(5000)}`, '{"__proto__":{"admin":true},"token":"x"}', '{"name":"reboot","args":{"__proto__":{"x":1}}}', `{"token":"${'a'.repeat(100_000)}"}`, '{"name":"set-interval","args":{"ms":1e309}}'),
    );
    const device = fc.oneof(fc.constantFrom('pump-1', '__proto__', '..', '%2e%2e', 'a'.repeat(300), '%00', 'x%2Fy', '*', '>'), fc.string({ maxLength: 20 }).map(encodeURIComponent));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('login', 'command', 'logout'), device, body, fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''), fc.boolean(), async (kind, dev, b, type, withToken) => {
        const headers: Record<string, string> = { ...(type ? { 'content-type': type } : {}), ...(withToken ? auth : {}) };
        const path = kind === 'login' ? '/api/v1/login' : kind === 'logout' ? '/api/v1/logout' : `/api/v1/devices/${dev}/commands`;
        const r = await request('POST', path, { body: b, headers });
        judge(r, `POST ${path} ${type} ${b.slice(0, 100)}`);
        if (kind === 'command' && !withToken) expect(r.status).toBeGreaterThanOrEqual(400); // 401, or 414 for an over-long id
        if (kind === 'login') expect(r.status === 204 ? b.includes(TOKEN) : true).toBe(true);
      }),
      fcParams(1112, 150, 3000),
    );
  }, TEST_TIMEOUT);

  it('after all of it, a correct query answers the stored readings', async () => {
    const r = await request('GET', `/api/v1/series?device=pump-1&sensor=temp&from=${T0}&to=${T0 + 60_000}&points=60`, { headers: auth });
    expect(r.status, r.text).toBe(200);
    expect(r.text).toContain('"points"');
  });
});
