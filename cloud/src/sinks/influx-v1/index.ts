import { registerSink } from '../registry.js';
import { classifyStatus, SinkWriteError, type LineWriter, type SinkContext } from '../types.js';

/**
 * InfluxDB 1.x `/write` (Debian's 1.6.7 has nothing else). Precision ns; the database is
 * created idempotently at start (`CREATE DATABASE` is a no-op when it exists).
 */
export async function createInfluxV1Writer(ctx: SinkContext): Promise<LineWriter> {
  const { config, secrets } = ctx;
  const base = config.url.replace(/\/+$/, '');
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  const user = config.username ?? (secrets.token?.includes(':') ? secrets.token.split(':', 1)[0] : undefined);
  const pass = config.username ? secrets.password : secrets.token?.includes(':') ? secrets.token.slice(secrets.token.indexOf(':') + 1) : undefined;
  if (user !== undefined) headers.authorization = `Basic ${Buffer.from(`${user}:${pass ?? ''}`).toString('base64')}`;
  else if (secrets.token) headers.authorization = `Token ${secrets.token}`;

  const params = new URLSearchParams({ db: config.database, precision: 'ns' });
  if (config.retentionPolicy) params.set('rp', config.retentionPolicy);
  const writeUrl = `${base}/write?${params}`;

  async function post(url: string, body: string | URLSearchParams, extra: Record<string, string>): Promise<Response> {
    try {
      return await fetch(url, { method: 'POST', body, headers: { ...headers, ...extra }, signal: AbortSignal.timeout(config.timeoutMs) });
    } catch (err) {
      throw new SinkWriteError('unavailable', `InfluxDB ${base} unreachable: ${(err as Error).message}`, undefined, { cause: err });
    }
  }

  async function createDatabase(): Promise<void> {
    const q = new URLSearchParams({ q: `CREATE DATABASE "${config.database.replace(/["\\]/g, '\\$&')}"` });
    const created = await post(`${base}/query`, q, { 'content-type': 'application/x-www-form-urlencoded' });
    if (!created.ok) {
      throw new SinkWriteError(classifyStatus(created.status), `InfluxDB: could not create database "${config.database}": ${created.status} ${await created.text()}`, created.status);
    }
  }
  await createDatabase();

  return {
    kind: 'influx-v1',
    async write(lines) {
      if (lines.length === 0) return;
      const body = lines.join('\n');
      let res = await post(writeUrl, body, {});
      if (res.status === 404) {
        // A server that lost its data (new volume) forgets the database: create it again once.
        await res.arrayBuffer();
        await createDatabase();
        res = await post(writeUrl, body, {});
      }
      if (res.status === 204) return;
      const text = await res.text();
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        // not JSON: keep the text
      }
      throw new SinkWriteError(classifyStatus(res.status), `InfluxDB /write ${res.status}: ${message}`, res.status);
    },
    async close() {},
  };
}

registerSink('influx-v1', createInfluxV1Writer);
