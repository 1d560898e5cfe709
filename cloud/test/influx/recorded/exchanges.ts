/**
 * Recorded InfluxDB HTTP exchanges, and the small data set and store calls the contract tests
 * (cloud/test/api/store-contract.test.ts) replay them for. README.md beside this file says where
 * each recording came from.
 *
 * - {@link ReplayServer} answers from a recording: `/ping` with its headers, every other request
 *   with the recorded answer to the same request (method, path and parameters, the query text
 *   included). A request nothing was recorded for gets a 500 naming it, and is kept in `misses`.
 * - {@link RecordingProxy} sits in front of a real server and records what passes through
 *   (record-v1.ts uses it on the real influxd 1.6.7).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { alertLine, readingLine, sessionLine } from '../../../src/influx/points.js';

/** A request, reduced to what identifies it: parameters from the query string, a form body or a JSON body (`query`, for Flux). */
export interface RecordedRequest {
  method: string;
  path: string;
  params: Record<string, string>;
}

export interface Exchange {
  request: RecordedRequest;
  response: { status: number; headers: Record<string, string>; body: string };
}

export interface Recording {
  /** Where it came from: "recorded from …" or "written by hand from …" (README.md). */
  source: string;
  /** The server the recording stands for, e.g. "InfluxDB 1.6.7 (Debian)". */
  server: string;
  ping: { status: number; headers: Record<string, string>; body?: string };
  exchanges: Exchange[];
}

/** The answer headers worth keeping (the rest are dates and request ids). */
const KEPT_HEADERS = ['content-type', 'x-influxdb-version', 'x-influxdb-build'];

async function readRequest(req: IncomingMessage): Promise<{ request: RecordedRequest; body: string; authorization?: string }> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  const u = new URL(req.url ?? '/', 'http://x');
  const params: Record<string, string> = Object.fromEntries(u.searchParams);
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('application/x-www-form-urlencoded')) Object.assign(params, Object.fromEntries(new URLSearchParams(body)));
  else if (type.startsWith('application/json') && body) Object.assign(params, { query: String((JSON.parse(body) as { query?: unknown }).query ?? '') });
  else if (body) params['(body)'] = body;
  return { request: { method: req.method ?? 'GET', path: u.pathname, params }, body, authorization: req.headers.authorization };
}

const sameRequest = (a: RecordedRequest, b: RecordedRequest): boolean =>
  a.method === b.method && a.path === b.path && JSON.stringify(Object.entries(a.params).sort()) === JSON.stringify(Object.entries(b.params).sort());

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export class ReplayServer {
  /** Requests with no recorded answer (a contract test fails on any). */
  readonly misses: RecordedRequest[] = [];
  /** Every request, with the Authorization header it carried. */
  readonly seen: (RecordedRequest & { authorization?: string })[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(rec: Recording): Promise<ReplayServer> {
    let self: ReplayServer | undefined;
    const server = createServer((req, res) => {
      void readRequest(req).then(({ request, authorization }) => {
        self!.seen.push({ ...request, authorization });
        if (request.path === '/ping') return void res.writeHead(rec.ping.status, rec.ping.headers).end(rec.ping.body);
        const hit = rec.exchanges.find((e) => sameRequest(e.request, request));
        if (!hit) {
          self!.misses.push(request);
          return void res.writeHead(500, { 'content-type': 'text/plain' }).end(`no recorded exchange for ${JSON.stringify(request)}`);
        }
        res.writeHead(hit.response.status, hit.response.headers).end(hit.response.body);
      });
    });
    self = new ReplayServer(server, await listen(server));
    return self;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Forwards everything to `target` and records each exchange except `/ping`, whose answer is kept apart. */
export class RecordingProxy {
  readonly exchanges: Exchange[] = [];
  ping: Recording['ping'] = { status: 0, headers: {} };

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<RecordingProxy> {
    let self: RecordingProxy | undefined;
    const server = createServer((req, res) => {
      void readRequest(req).then(async ({ request, body }) => {
        const headers: Record<string, string> = {};
        for (const h of ['content-type', 'authorization', 'accept']) if (req.headers[h]) headers[h] = String(req.headers[h]);
        const answer = await fetch(`${target}${req.url}`, { method: req.method, headers, ...(body ? { body } : {}) });
        const text = await answer.text();
        const kept = Object.fromEntries(KEPT_HEADERS.flatMap((h) => (answer.headers.get(h) ? [[h, answer.headers.get(h)!]] : [])));
        if (request.path === '/ping') self!.ping = { status: answer.status, headers: kept };
        else self!.exchanges.push({ request, response: { status: answer.status, headers: kept, body: text } });
        res.writeHead(answer.status, kept).end(text);
      });
    });
    self = new RecordingProxy(server, await listen(server));
    return self;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

// ---------------------------------------------------------------------------------------------
// The data every recording answers for, and the store calls that ask for it.

export const T = Date.parse('2026-01-01T00:00:00Z');
const S = 1000;

/** Line protocol, built by the processor's own line builders (docs/influxdb-schema.md). */
export function contractLines(): string[] {
  const temp = [20, 21, 22, 23].map((value, i) => readingLine('pump-1', { sensor: 'temp', ts: T + i * 10 * S, value, unit: 'C' }, 0.1));
  const vib = [0.4, 0.5].map((value, i) => readingLine('pump-1', { sensor: 'vib', ts: T + i * 10 * S, value, unit: 'g' }, 0.05));
  const alert = { v: 1, device: 'pump-1', sensor: 'temp', rule: 'zscore', severity: 'critical', id: `pump-1:temp:zscore:${T + 20 * S}`, start: T + 20 * S } as const;
  return [
    ...temp,
    ...vib,
    alertLine({ ...alert, state: 'firing', ts: T + 20 * S, value: 22, score: 0.9, message: 'hot' }),
    alertLine({ ...alert, state: 'resolved', end: T + 30 * S, ts: T + 30 * S, value: 23, score: 0.2, message: 'ok' }),
    sessionLine({ v: 1, device: 'pump-1', sensor: 'temp', start: T, end: T + 30 * S, count: 4, min: 20, max: 23, mean: 21.5, stddev: 1.29, anomalies: 0, closedBy: 'gap' }),
  ];
}
