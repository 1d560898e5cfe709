/** Reads back what the pipeline kept, for the ledger: InfluxDB readings and the JetStream streams. */
import { readFileSync } from 'node:fs';
import { batchId, parseAlert, parseSession, STREAMS, telemetryEnvelopes, type AlertEvent, type SessionSummary } from '@fieldline/contract';
import type { NatsConnection } from 'nats';
import type { SentReading, StoredReading, TelemetryMessage } from './ledger.js';

/** firmware-sim's `--record` file. */
export function readSent(file: string): SentReading[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SentReading);
}

interface InfluxResult {
  results?: { series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[]; error?: string }[];
  error?: string;
}

/** Every `readings` point of `devices` (time in µs). */
export async function readStored(influxUrl: string, devices: readonly string[], db = 'fieldline'): Promise<StoredReading[]> {
  const out: StoredReading[] = [];
  for (const device of devices) {
    const q = `SELECT "value", "quality", "clock" FROM "readings" WHERE "device" = '${device}' GROUP BY "sensor"`;
    const res = await fetch(`${influxUrl}/query`, { method: 'POST', body: new URLSearchParams({ q, db, epoch: 'u' }) });
    const json = (await res.json()) as InfluxResult;
    const err = json.error ?? json.results?.[0]?.error;
    if (!res.ok || err) {
      if (/database not found/.test(err ?? '')) continue;
      throw new Error(`InfluxDB query failed (${res.status}): ${err ?? ''}`);
    }
    for (const s of json.results?.[0]?.series ?? []) {
      const col = (name: string): number => s.columns.indexOf(name);
      const [t, v, q2, c] = [col('time'), col('value'), col('quality'), col('clock')];
      for (const row of s.values) {
        out.push({
          device,
          sensor: s.tags!.sensor!,
          tsUs: Number(row[t]),
          value: Number(row[v]),
          ...(row[q2] != null ? { quality: String(row[q2]) } : {}),
          ...(c >= 0 && row[c] != null ? { clock: String(row[c]) } : {}),
        });
      }
    }
  }
  return out;
}

/** Every message of a stream in stream order, with its `Nats-Msg-Id`. */
export async function readStream(nc: NatsConnection, stream: string): Promise<{ seq: number; subject: string; msgId: string; data: Uint8Array }[]> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(stream).catch(() => null);
  if (!info || info.state.messages === 0) return [];
  const c = await nc.jetstream().consumers.get(stream);
  const out: { seq: number; subject: string; msgId: string; data: Uint8Array }[] = [];
  const last = info.state.last_seq;
  while (out.length === 0 || out[out.length - 1]!.seq < last) {
    let got = 0;
    for await (const m of await c.fetch({ max_messages: 1000, expires: 2000 })) {
      got++;
      out.push({ seq: m.seq, subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id') ?? '', data: m.data });
      if (m.seq >= last) break;
    }
    if (got === 0) break;
  }
  await c.delete().catch(() => undefined);
  return out;
}

/** The TELEMETRY log, one entry per envelope (a bundle's one by one). */
export async function readTelemetry(nc: NatsConnection): Promise<TelemetryMessage[]> {
  const out: TelemetryMessage[] = [];
  for (const m of await readStream(nc, STREAMS.TELEMETRY.name)) {
    const { envelopes } = telemetryEnvelopes(m.data);
    for (const env of envelopes) if (env) out.push({ seq: m.seq, msgId: m.msgId, env, bundled: envelopes.length > 1 });
  }
  return out;
}

/** One envelope of the TELEMETRY stream: its batch id, its readings' values, and whether it came in a bundle. */
export interface StoredBatch {
  id: string;
  values: number[];
  bundled: boolean;
}

/** Every envelope in the TELEMETRY stream (a bundle's one by one), in stream order; of one `device` when given. */
export async function telemetryBatches(nc: NatsConnection, device?: string): Promise<StoredBatch[]> {
  return (await readTelemetry(nc)).filter((m) => !device || m.env.device === device).map((m) => ({ id: batchId(m.env), values: m.env.readings.map((r) => r.value), bundled: !!m.bundled }));
}

/** Each batch once (its first copy), in stream order. */
export function distinctBatches(batches: readonly StoredBatch[]): StoredBatch[] {
  const seen = new Set<string>();
  return batches.filter((b) => !seen.has(b.id) && seen.add(b.id));
}

/**
 * Batch ids stored more than once with no copy in a bundle. Stored alone, a re-sent envelope
 * keeps its `Nats-Msg-Id` and JetStream drops the repeat: such a repeat is a gateway bug. A
 * bundle re-sent after a crash or a reconnect may be cut differently (another id): that repeat is
 * the processor's to drop, by batch id (contract bundle.ts), and is not listed.
 */
export function unexplainedRepeats(batches: readonly StoredBatch[]): string[] {
  const seen = new Map<string, { n: number; bundled: boolean }>();
  for (const b of batches) {
    const s = seen.get(b.id) ?? { n: 0, bundled: false };
    s.n++;
    s.bundled ||= b.bundled;
    seen.set(b.id, s);
  }
  return [...seen].filter(([, s]) => s.n > 1 && !s.bundled).map(([id]) => id);
}

export async function readAlerts(nc: NatsConnection): Promise<AlertEvent[]> {
  return (await readStream(nc, STREAMS.ALERTS.name)).map((m) => parseAlert(m.data));
}

export async function readSessions(nc: NatsConnection): Promise<SessionSummary[]> {
  return (await readStream(nc, STREAMS.SESSIONS.name)).map((m) => parseSession(m.data));
}
