import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** 2.x precision names -> 1.x `/write` precision names. */
const PRECISION: Record<string, string> = { ns: 'ns', us: 'u', ms: 'ms', s: 's' };

/**
 * InfluxDB 2.x's `/api/v2/write` in front of a real InfluxDB 1.x's storage: the nearest to a real
 * 2.x write this machine has (no 2.x server runs here). The request is checked as 2.x documents
 * it (`Authorization: Token`, `org` and `bucket` required, precision ns/us/ms/s, gzip bodies);
 * the body then goes unchanged to the real influxd's `/write` (bucket = database), so its line
 * protocol is parsed, type-checked and stored by a real InfluxDB, and its refusals (partial
 * writes, field type conflicts, points beyond retention) come back in 2.x's error shape and
 * status (400 `invalid`, 422 `unprocessable entity`). What is still not real: 2.x's own HTTP
 * layer and storage engine (TSM in 2.x too, with the same line-protocol parser lineage).
 */
export class InfluxV2Front {
  private server: Server | undefined;
  url = '';
  readonly requests: { path: string; query: Record<string, string>; authorization?: string; contentEncoding?: string }[] = [];

  constructor(
    private readonly influx1Url: string,
    readonly org: string,
    readonly bucket: string,
    readonly token: string,
  ) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ({ status, body }) => {
          res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-influxdb-version': 'v2.7.11', 'x-influxdb-build': 'OSS' });
          res.end(body === undefined ? undefined : JSON.stringify(body));
        },
        () => res.destroy(),
      );
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body?: unknown }> {
    const u = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (u.pathname === '/ping') return { status: 204 };
    if (u.pathname !== '/api/v2/write') return { status: 404, body: { code: 'not found', message: 'path not found' } };
    this.requests.push({ path: u.pathname, query: Object.fromEntries(u.searchParams), authorization: req.headers.authorization, contentEncoding: req.headers['content-encoding'] });
    if (req.method !== 'POST') return { status: 405, body: { code: 'method not allowed', message: `allow: POST` } };
    const auth = req.headers.authorization ?? '';
    if (auth !== `Token ${this.token}` && auth !== `Bearer ${this.token}`) return { status: 401, body: { code: 'unauthorized', message: 'unauthorized access' } };
    if (u.searchParams.get('org') !== this.org) return { status: 404, body: { code: 'not found', message: `organization name "${u.searchParams.get('org')}" not found` } };
    if (u.searchParams.get('bucket') !== this.bucket) return { status: 404, body: { code: 'not found', message: `bucket "${u.searchParams.get('bucket')}" not found` } };
    const precision = PRECISION[u.searchParams.get('precision') ?? 'ns'];
    if (!precision) return { status: 400, body: { code: 'invalid', message: `invalid precision; valid precision units are ns, us, ms, and s` } };
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    const res = await fetch(`${this.influx1Url}/write?db=${encodeURIComponent(this.bucket)}&precision=${precision}`, { method: 'POST', body });
    if (res.status === 204) return { status: 204 };
    const text = await res.text();
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      // not JSON
    }
    if (/points beyond retention policy/.test(message)) return { status: 422, body: { code: 'unprocessable entity', message: `failure writing points to database: ${message}` } };
    if (res.status === 400) return { status: 400, body: { code: 'invalid', message: `partial write has occurred, errors encountered on line(s): ${message}` } };
    return { status: res.status >= 500 ? 503 : res.status, body: { code: 'internal error', message } };
  }
}
