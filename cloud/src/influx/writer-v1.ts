import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { InfluxConnection } from './connection.js';
import { classifyStatus, InfluxWriteError } from './errors.js';
import type { StorageTarget } from './tiers.js';
import type { LineWriter } from './writer.js';

interface Answer {
  status: number;
  text: string;
}

/**
 * InfluxDB 1.x `/write` (Debian's 1.6.7 has nothing else), also InfluxDB 1.8's. Precision ns; the database is
 * created idempotently at start (`CREATE DATABASE` is a no-op when it exists).
 * InfluxDB 3 (`api: v3`) takes the same request on its v1-compatible `/write` with a bearer token;
 * there InfluxQL `CREATE DATABASE` does not exist (the operator creates the databases, retention.ts
 * checks them), and a rollup tier is its own database (`tierUrl`).
 * Plain `node:http` with keep-alive rather than `fetch`: a batch body is ~0.5 MB, and fetch's
 * string -> Uint8Array encode and stream copies cost the processor about as much CPU as a detector.
 */
export async function createInfluxV1Writer(conn: InfluxConnection): Promise<LineWriter> {
  const { config } = conn;
  const base = conn.url;
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (conn.authorization) headers.authorization = conn.authorization;

  const urlFor = (db: string, rp: string | undefined): string => {
    const params = new URLSearchParams({ db, precision: 'ns' });
    if (rp) params.set('rp', rp);
    return `${base}/write?${params}`;
  };
  const writeUrl = urlFor(config.database, config.retentionPolicy);
  // A rollup tier: 1.x, the tier's retention policy in the database; 3.x (no retention policies),
  // the tier's own database (its `bucket` name, as on 2.x).
  const tierUrl = (t: StorageTarget): string => (conn.api === 'v3' ? urlFor(t.bucket, undefined) : urlFor(config.database, t.retentionPolicy));
  const targetUrls = new Map<string, string>();
  const https = base.startsWith('https:');
  const agent = https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const request = https ? httpsRequest : httpRequest;

  function post(url: string, body: string | Buffer, extra: Record<string, string>): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => reject(new InfluxWriteError('unavailable', `InfluxDB ${base} unreachable: ${err.message}`, undefined, { cause: err }));
      const req = request(url, { method: 'POST', agent, headers: { ...headers, ...extra, 'content-length': Buffer.byteLength(body) }, timeout: config.timeoutMs }, (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', fail);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${config.timeoutMs} ms`)));
      req.on('error', fail);
      req.end(body);
    });
  }

  async function createDatabase(): Promise<void> {
    const q = new URLSearchParams({ q: `CREATE DATABASE "${config.database.replace(/["\\]/g, '\\$&')}"` });
    const created = await post(`${base}/query`, q.toString(), { 'content-type': 'application/x-www-form-urlencoded' });
    if (created.status < 200 || created.status >= 300) {
      throw new InfluxWriteError(classifyStatus(created.status), `InfluxDB: could not create database "${config.database}": ${created.status} ${created.text}`, created.status);
    }
  }
  // 3.x: no CREATE DATABASE; the operator makes the databases, checked at start (retention.ts).
  const manageDatabase = conn.api === 'v1';
  if (manageDatabase) await createDatabase();

  return {
    api: conn.api,
    async write(lines, target?: StorageTarget) {
      if (lines.length === 0) return;
      let url = writeUrl;
      if (target) {
        const key = conn.api === 'v3' ? target.bucket : target.retentionPolicy;
        url = targetUrls.get(key) ?? tierUrl(target);
        targetUrls.set(key, url);
      }
      const text = lines.join('\n');
      // Lines are nearly always ASCII: then the bytes are a plain copy (latin1), not a UTF-8 encode.
      const body = Buffer.byteLength(text) === text.length ? Buffer.from(text, 'latin1') : Buffer.from(text);
      let res = await post(url, body, {});
      if (res.status === 404 && !target && manageDatabase) {
        // A server that lost its data (new volume) forgets the database: create it again once.
        // (A rollup tier's retention policy is made at start: see retention.ts.)
        await createDatabase();
        res = await post(url, body, {});
      }
      if (res.status === 204) return;
      let message = res.text;
      try {
        message = (JSON.parse(res.text) as { error?: string }).error ?? res.text;
      } catch {
        // not JSON: keep the text
      }
      throw new InfluxWriteError(classifyStatus(res.status), `InfluxDB /write ${res.status}: ${message}`, res.status);
    },
    async close() {
      agent.destroy();
    },
  };
}
