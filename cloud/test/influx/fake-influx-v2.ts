import { createServer, type IncomingMessage, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { LineParseError, parseLine, type ParsedPoint, type ParsedValue } from './line-parser.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  contentEncoding: string | undefined;
  contentType: string | undefined;
  lines: number;
}

const INT64_MAX_NS = 9223372036854775807n;

/**
 * Just enough of InfluxDB 2.x's `/api/v2/write` (and `/ping`) to prove what a client sends:
 * token auth, org/bucket/precision parameters, gzip bodies, line protocol parsed back into points
 * stored by identity (measurement + tags + time, fields merged), and the server's answers:
 * 204; 400 for a partial write (parse error, field type conflict: the good lines are written);
 * 422 when points fall outside the bucket's retention; 401 and 404 for auth and unknown buckets.
 */
export class FakeInfluxV2 {
  readonly requests: RecordedRequest[] = [];
  readonly points = new Map<string, ParsedPoint>();
  private readonly fieldTypes = new Map<string, string>();
  private server: Server | undefined;
  url = '';
  /** Points older than this (ns) are outside the retention period. */
  retentionCutoffNs = 0n;

  /**
   * With `influx1Url`, the request is still checked as 2.x documents it, but the body then goes
   * unchanged to a real InfluxDB 1.x's `/write` (bucket = database): a real server parses, checks
   * and stores it, and its refusals come back in 2.x's error shape and status (400 `invalid`, 422
   * `unprocessable entity`). The nearest to a real 2.x write this machine has (none runs here);
   * what is not real is 2.x's own HTTP layer and storage engine.
   */
  constructor(
    readonly org: string,
    readonly bucket: string,
    readonly token: string,
    private readonly influx1Url?: string,
  ) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ({ status, body }) => {
          res.writeHead(status, { 'content-type': 'application/json', 'x-influxdb-version': 'v2.7.4', 'x-influxdb-build': 'OSS' });
          res.end(body === undefined ? undefined : JSON.stringify(body));
        },
        () => res.destroy(),
      );
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const addr = this.server.address();
    this.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** `influx1Url` set: the checked body to the real 1.x server, its answer in 2.x's shape. */
  private async forward(body: Buffer, precision: string): Promise<{ status: number; body?: unknown }> {
    const res = await fetch(`${this.influx1Url}/write?db=${encodeURIComponent(this.bucket)}&precision=${V1_PRECISION[precision]}`, { method: 'POST', body });
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

  private async handle(req: IncomingMessage): Promise<{ status: number; body?: unknown }> {
    const u = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (u.pathname === '/ping') return { status: 204 };
    if (u.pathname !== '/api/v2/write') return { status: 404, body: { code: 'not found', message: 'path not found' } };
    let raw = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
    const text = raw.toString('utf8');
    const lines = text.split('\n').filter((l) => l.length > 0 && !l.startsWith('#'));
    this.requests.push({
      method: req.method ?? '',
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      authorization: req.headers.authorization,
      contentEncoding: req.headers['content-encoding'],
      contentType: req.headers['content-type'],
      lines: lines.length,
    });
    if (req.method !== 'POST') return { status: 405, body: { code: 'method not allowed', message: req.method } };
    if (req.headers.authorization !== `Token ${this.token}` && req.headers.authorization !== `Bearer ${this.token}`) return { status: 401, body: { code: 'unauthorized', message: 'unauthorized access' } };
    if (u.searchParams.get('org') !== this.org) return { status: 404, body: { code: 'not found', message: `organization name "${u.searchParams.get('org')}" not found` } };
    if (u.searchParams.get('bucket') !== this.bucket) return { status: 404, body: { code: 'not found', message: `bucket "${u.searchParams.get('bucket')}" not found` } };
    const precision = u.searchParams.get('precision') ?? 'ns';
    const scale = { ns: 1n, us: 1000n, ms: 1_000_000n, s: 1_000_000_000n }[precision];
    if (!scale) return { status: 400, body: { code: 'invalid', message: `invalid precision ${precision}` } };
    if (this.influx1Url) return this.forward(raw, precision);

    const errors: string[] = [];
    let dropped = 0;
    lines.forEach((line, n) => {
      let p: ParsedPoint;
      try {
        p = parseLine(line);
      } catch (err) {
        if (!(err instanceof LineParseError)) throw err;
        errors.push(`line ${n + 1}: ${err.message}`);
        return;
      }
      const ns = BigInt(p.ts || '0') * scale;
      if (ns > INT64_MAX_NS || ns < -INT64_MAX_NS) {
        errors.push(`line ${n + 1}: value out of range: timestamp ${p.ts}`);
        return;
      }
      if (ns < this.retentionCutoffNs) {
        dropped++;
        return;
      }
      for (const [k, v] of Object.entries(p.fields)) {
        const type = typeName(v);
        const known = this.fieldTypes.get(`${p.measurement}\0${k}`);
        if (known && known !== type) {
          errors.push(`line ${n + 1}: failure writing points to database: partial write: field type conflict: input field "${k}" on measurement "${p.measurement}" is type ${type}, already exists as type ${known} dropped=1`);
          return;
        }
      }
      for (const [k, v] of Object.entries(p.fields)) this.fieldTypes.set(`${p.measurement}\0${k}`, typeName(v));
      const id = `${p.measurement}\0${Object.entries(p.tags).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join('\0')}\0${ns}`;
      const prev = this.points.get(id);
      this.points.set(id, { ...p, ts: String(ns), fields: { ...prev?.fields, ...p.fields } });
    });
    if (errors.length) return { status: 400, body: { code: 'invalid', message: `partial write has occurred, errors encountered on line(s): ${errors.join('; ')}` } };
    if (dropped) return { status: 422, body: { code: 'unprocessable entity', message: `failure writing points to database: partial write: points beyond retention policy dropped=${dropped}` } };
    return { status: 204 };
  }
}

/** 2.x precision names -> 1.x `/write` precision names. */
const V1_PRECISION: Record<string, string> = { ns: 'ns', us: 'u', ms: 'ms', s: 's' };

function typeName(v: ParsedValue): string {
  return typeof v === 'bigint' ? 'integer' : typeof v === 'number' ? 'float' : typeof v === 'boolean' ? 'boolean' : 'string';
}
