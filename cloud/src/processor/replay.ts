import { ContractError, STREAMS } from '@fieldline/contract';
import { drainOrClose, isNotFound } from '@fieldline/runtime/nats';
import { connect, credsAuthenticator, StorageType, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { BatchingSink } from '../influx/batching.js';
import { connectInflux } from '../influx/connection.js';
import { ensureRetention } from '../influx/retention.js';
import { RollupRepairer } from '../influx/rollup-repair.js';
import { resolveTiers } from '../influx/tiers.js';
import { createInfluxWriter } from '../influx/writer.js';
import { RollupSink } from '../rollups/sink.js';
import type { ProcessorConfig } from './config.js';
import { pendingOutputs, publishPending, type OutputSubjects } from './outputs.js';
import { Effects, PartitionPipeline } from './pipeline.js';
import { readStream } from './stream-reader.js';
import { storedMs } from './clock-check.js';
import { readTelemetry } from './telemetry.js';

/** A point of the TELEMETRY stream: a sequence, or the first message stored at or after a time. */
export type StreamPoint = { seq: number } | { time: Date };

export interface ReplayOptions {
  config: ProcessorConfig;
  from: StreamPoint;
  /** Inclusive. @default the stream's last message when the replay starts */
  to?: StreamPoint;
  /** Target database (InfluxDB 1.x) or bucket (2.x/3.x); never the live one. */
  into: string;
  /** Subject prefix of the replay's alerts and sessions. @default `fl.replay.{into}` */
  prefix?: string;
  /** Called every few hundred messages with messages done and the range's size. */
  progress?: (done: number, total: number) => void;
  logger: Logger;
}

export interface ReplayResult {
  fromSeq: number;
  toSeq: number;
  messages: number;
  readings: number;
  late: number;
  duplicates: number;
  /** Messages that are not valid envelopes (the live run dead-lettered them). */
  invalid: number;
  alerts: number;
  sessions: number;
  lines: number;
  /** The stream holding the replay's alerts and sessions. */
  stream: string;
  subjects: string;
}

/** A replay target refused (the live database, a bad name): exit 64 from the CLI. */
export class ReplayTargetError extends Error {
  override name = 'ReplayTargetError';
  readonly exitCode = 64;
}

const token = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');

/**
 * Kappa replay: reprocesses a range of TELEMETRY through the processor's pipeline (one per
 * partition, fresh state at `from`, messages in stream order) into a target of its own: the
 * readings, rollup tiers, sessions and alerts into the database or bucket `into`, the alert and session
 * events onto `{prefix}.alerts.{severity}.{device}` and `{prefix}.sessions.{device}`, stored in a
 * stream of their own (`REPLAY_{into}`, recreated at each run). A pure function of the range: run
 * twice it writes the same bytes; from the start of the stream it writes what the live
 * processor wrote.
 */
export async function replay(o: ReplayOptions): Promise<ReplayResult> {
  const cfg = o.config;
  const live = cfg.influx.api === 'v2' ? [cfg.influx.bucket] : cfg.influx.api === 'v1' ? [cfg.influx.database] : [cfg.influx.database, cfg.influx.bucket];
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(o.into)) throw new ReplayTargetError(`--into: a database or bucket name of letters, digits, _ and - (got "${o.into}")`);
  if (live.includes(o.into)) throw new ReplayTargetError(`--into ${o.into} is the live processor's target; a replay writes to a database or bucket of its own`);
  const prefix = o.prefix ?? `fl.replay.${token(o.into)}`;
  if (/^fl\.(telemetry|alerts|sessions|deadletter|commands)(\.|$)/.test(prefix)) throw new ReplayTargetError(`--subjects ${prefix} overlaps the live subjects`);
  const n = cfg.nats;
  const nc: NatsConnection = await connect({ servers: n.servers, name: `${n.name}-replay`, user: n.user, pass: n.pass, token: n.token, authenticator: n.credsFile ? credsAuthenticator(readFileSync(n.credsFile)) : undefined });
  // The target's rollup tiers as the live processor's (retention policies in `into`, or buckets `into_{tier}`).
  const target = await (async () => {
    const conn = await connectInflux({ ...cfg.influx, database: o.into, bucket: o.into });
    const tiers = resolveTiers(cfg.tiers, conn.config);
    await ensureRetention(conn, tiers, { logger: o.logger });
    return { conn, tiers, writer: await createInfluxWriter(conn, { logger: o.logger }) };
  })().catch(async (err: unknown) => {
    await nc.close();
    throw err;
  });
  const writer = target.writer;
  try {
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    const fromSeq = await seqAt(jsm, js, o.from, 'from');
    const toSeq = o.to ? await seqAt(jsm, js, o.to, 'to') : (await jsm.streams.info(STREAMS.TELEMETRY.name)).state.last_seq;
    const stream = `REPLAY_${token(o.into)}`;
    // Recreated, so that a rerun leaves exactly its own messages (and JetStream's dedup window
    // does not remember the previous run's ids).
    await jsm.streams.delete(stream).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], storage: StorageType.File, num_replicas: n.replicas });
    const to: OutputSubjects = { alert: (a) => `${prefix}.alerts.${a.severity}.${a.device}`, session: (s) => `${prefix}.sessions.${s.device}` };
    const sink = new BatchingSink(writer, { batchLines: cfg.sink.batchLines, logger: o.logger, quarantine: async () => undefined });
    const rollups = target.tiers.rollups.length ? new RollupSink(sink, target.tiers.rollups, new RollupRepairer(target.conn), o.logger) : undefined;
    const r: ReplayResult = { fromSeq, toSeq, messages: 0, readings: 0, late: 0, duplicates: 0, invalid: 0, alerts: 0, sessions: 0, lines: 0, stream, subjects: `${prefix}.>` };
    const total = Math.max(0, toSeq - fromSeq + 1);
    if (total === 0 || fromSeq === 0) return r;
    const pipelines = new Map<number, PartitionPipeline>();
    let fx = new Effects();
    const flush = async (): Promise<void> => {
      const raw = (): Promise<void> => sink.write(fx.points.lines);
      await (rollups ? rollups.write(fx.points, raw) : raw());
      const out = pendingOutputs({ alerts: fx.alerts, alertSeqs: [], sessions: fx.sessions, sessionSeqs: [], dead: [] }, to, undefined, undefined);
      await publishPending(js, out.pending);
      r.readings += fx.readings;
      r.late += fx.late;
      r.duplicates += fx.duplicates;
      r.alerts += fx.alerts.length;
      r.sessions += fx.sessions.length;
      r.lines += fx.points.count;
      fx = new Effects();
    };
    for await (const m of readStream(jsm, js, STREAMS.TELEMETRY.name, { from: { seq: fromSeq } })) {
      if (m.seq > toSeq) break;
      r.messages++;
      const parts = m.subject.split('.');
      const p = Number(parts[2]);
      const device = parts[3] ?? '';
      let pipeline = pipelines.get(p);
      if (!pipeline) pipelines.set(p, (pipeline = new PartitionPipeline(cfg)));
      try {
        const t = readTelemetry(m.data, device);
        r.invalid += t.failed.length;
        const at = storedMs(m);
        for (const e of t.parsed) pipeline.process(e.env, fx, e.values, at);
      } catch (err) {
        if (!(err instanceof ContractError)) throw err;
        r.invalid++;
      }
      if (fx.points.count >= cfg.sink.batchLines) await flush();
      if (r.messages % 500 === 0) o.progress?.(m.seq - fromSeq + 1, total);
      if (m.seq >= toSeq) break;
    }
    await flush();
    o.progress?.(total, total);
    return r;
  } finally {
    await writer.close();
    await drainOrClose(nc);
  }
}

/** The stream sequence of a point: a sequence as is; a time as the first message stored at or after it (`from`), or the last stored at or before it (`to`). */
async function seqAt(jsm: JetStreamManager, js: JetStreamClient, p: StreamPoint, what: 'from' | 'to'): Promise<number> {
  const { state } = await jsm.streams.info(STREAMS.TELEMETRY.name);
  if ('seq' in p) return what === 'from' ? Math.max(p.seq, state.first_seq) : Math.min(p.seq, state.last_seq);
  let first: { seq: number; time: number } | null = null;
  if (state.messages > 0 && new Date(state.last_ts).getTime() >= p.time.getTime()) {
    for await (const m of readStream(jsm, js, STREAMS.TELEMETRY.name, { from: p, headersOnly: true, batch: 1 })) {
      first = { seq: m.seq, time: Math.floor(m.info.timestampNanos / 1e6) };
      break;
    }
  }
  if (what === 'from') return first ? first.seq : state.last_seq + 1;
  if (!first) return state.last_seq;
  return first.time === p.time.getTime() ? first.seq : first.seq - 1;
}
