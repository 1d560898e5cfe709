import { batchId, encodeEnvelope, partitionOf, STREAMS, subjects, type Envelope } from '@fieldline/contract';
import type { InfluxServer } from '@fieldline/harness';
import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type NatsConnection } from 'nats';
import { expect } from 'vitest';
import type { CommitValue } from '../../src/processor/checkpoints.js';
import { loadProcessorConfig, type ProcessorConfigInput } from '../../src/processor/config.js';
import { readStream } from '../../src/processor/stream-reader.js';
import { Effects, PartitionPipeline } from '../../src/processor/pipeline.js';

/**
 * Tools of the scale-out and restart tests: the reference (one uninterrupted pipeline per
 * partition over the messages in stream order), exact dumps of InfluxDB and of the ALERTS and
 * SESSIONS streams, and the audit of the commit records and lease epochs.
 */

/** Publishes like the gateway: subject by partition, `Nats-Msg-Id` = batch id. */
export async function publishAll(js: JetStreamClient, envs: readonly Envelope[], partitions: number, concurrency = 64): Promise<void> {
  for (let i = 0; i < envs.length; i += concurrency) {
    await Promise.all(envs.slice(i, i + concurrency).map((e) => js.publish(subjects.telemetry(partitionOf(e.device, partitions), e.device), encodeEnvelope(e), { msgID: batchId(e) })));
  }
}

/** What one uninterrupted processor makes of `envs` (published in this order). */
export function reference(config: ProcessorConfigInput, envs: readonly Envelope[]): Effects {
  const cfg = loadProcessorConfig(config);
  const fx = new Effects();
  const pipelines = new Map<number, PartitionPipeline>();
  for (const e of envs) {
    const p = partitionOf(e.device, cfg.partitions.count);
    if (!pipelines.has(p)) pipelines.set(p, new PartitionPipeline(cfg));
    pipelines.get(p)!.process(e, fx);
  }
  return fx;
}

/** Writes lines to a database of their own (the reference run's InfluxDB). */
export async function writeLines(influx: InfluxServer, db: string, lines: readonly string[]): Promise<void> {
  await influx.createDatabase(db);
  for (let i = 0; i < lines.length; i += 5000) {
    const res = await fetch(`${influx.url}/write?db=${db}&precision=ns`, { method: 'POST', body: lines.slice(i, i + 5000).join('\n') });
    if (res.status !== 204) throw new Error(`write to ${db}: ${res.status} ${await res.text()}`);
  }
}

/** Every point of every fieldline measurement, exactly as InfluxDB returns it (time in ns); with `rollups`, the 1m and 1h tiers too. */
export async function influxDump(influx: InfluxServer, db: string, o: { rollups?: boolean } = {}): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  // The rollup tiers (issue 14) live in retention policies of their own.
  const rollups = o.rollups ? ['"rollup_1m"."readings_1m"', '"rollup_1h"."readings_1h"'] : [];
  for (const m of ['"readings"', '"late_readings"', '"sessions"', '"alerts"', ...rollups]) {
    const body = new URLSearchParams({ q: `SELECT * FROM ${m} GROUP BY *`, db, epoch: 'ns' });
    const json = (await (await fetch(`${influx.url}/query`, { method: 'POST', body })).json()) as { results: { series?: { tags?: object; columns: string[]; values: unknown[][] }[] }[] };
    const rows: string[] = [];
    for (const s of json.results[0]?.series ?? []) for (const v of s.values) rows.push(JSON.stringify([s.tags, Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))]));
    out[m.replace(/"/g, '').replace(/^rollup_1[mh]\./, '')] = rows.sort();
  }
  return out;
}

export interface StoredMessage {
  subject: string;
  data: string;
  msgId: string;
  partition: number;
  epoch: number;
  seq: number;
  /** JetStream store time, ns. */
  time: number;
}

/** Every message of a stream, in stream order, with the processor's headers. */
export async function streamDump(nc: NatsConnection, stream: string): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  for await (const m of readStream(await nc.jetstreamManager(), nc.jetstream(), stream, { from: { seq: 1 } })) {
    const h = m.headers;
    out.push({ subject: m.subject, data: m.string(), msgId: h?.get('Nats-Msg-Id') ?? '', partition: Number(h?.get('Fl-Partition') ?? -1), epoch: Number(h?.get('Fl-Epoch') ?? -1), seq: Number(h?.get('Fl-Seq') ?? -1), time: m.info.timestampNanos });
  }
  return out;
}

export interface CommitEntry extends CommitValue {
  /** KV store time, ns. */
  time: number;
}

/**
 * Records every commit record write of a group as JetStream stored it (not what was attempted: a
 * refused compare-and-set is not in the stream). Start it before the processors.
 */
export async function recordCommits(nc: NatsConnection, o: { group?: string; bucket?: string; replicas?: number } = {}): Promise<{ entries: CommitEntry[]; stop(): void }> {
  const bucket = o.bucket ?? 'fl_processor';
  const js = nc.jetstream();
  // Created here, before the processors, with history: a record is never rolled up before it is read.
  await js.views.kv(bucket, { history: 64, replicas: o.replicas ?? 1 });
  const entries: CommitEntry[] = [];
  const oc = await js.consumers.get(`KV_${bucket}`, { filterSubjects: `$KV.${bucket}.${o.group ?? 'processor'}.commit.*`, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1 });
  const msgs: ConsumerMessages = await oc.consume({ max_messages: 1000 });
  void (async () => {
    for await (const m of msgs) if (m.data.length) entries.push({ ...m.json<CommitValue>(), time: m.info.timestampNanos });
  })();
  return { entries, stop: () => msgs.stop() };
}

/**
 * The audit of ownership: per partition the commits form one chain (each starts where the last
 * ended), epochs only grow and change only by a fence (an empty range); every alert and session is
 * stored once, carries the epoch and partition of an owner that had taken the partition over
 * before the message it came from, and was stored before the next epoch's fence, so no two owners
 * ever wrote at the same time.
 */
export function auditOwnership(commits: readonly CommitEntry[], outputs: readonly StoredMessage[], partitions: number): { epochs: number; takeovers: number } {
  const byPartition = new Map<number, CommitEntry[]>();
  for (const c of commits) {
    if (!byPartition.has(c.partition)) byPartition.set(c.partition, []);
    byPartition.get(c.partition)!.push(c);
  }
  let epochs = 0;
  for (const [p, chain] of byPartition) {
    let prev: CommitEntry | undefined;
    for (const c of chain) {
      const where = `partition ${p}, commit ${JSON.stringify(c)} after ${JSON.stringify(prev ?? null)}`;
      expect(c.from, where).toBe((prev?.seq ?? 0) + 1);
      expect(c.seq, where).toBeGreaterThanOrEqual(prev?.seq ?? 0);
      if (prev && c.epoch !== prev.epoch) {
        expect(c.epoch, where).toBeGreaterThan(prev.epoch);
        // A new owner's first record is its fence: nothing committed in it.
        expect(c.seq, where).toBe(prev.seq);
      }
      if (!prev || c.epoch !== prev.epoch) epochs++;
      prev = c;
    }
  }
  const ids = new Set<string>();
  for (const m of outputs) {
    expect(ids.has(m.msgId), `${m.msgId} stored twice`).toBe(false);
    ids.add(m.msgId);
    expect(m.partition, `${m.subject} ${m.msgId}: no Fl-Partition`).toBeGreaterThanOrEqual(0);
    expect(m.partition).toBeLessThan(partitions);
    const chain = byPartition.get(m.partition) ?? [];
    const fence = chain.find((c) => c.epoch === m.epoch);
    expect(fence, `${m.msgId}: epoch ${m.epoch} of partition ${m.partition} never took over`).toBeDefined();
    // Its owner processed the message live: after the point it took over from.
    expect(m.seq, `${m.msgId}: from seq ${m.seq}, but epoch ${m.epoch} took over at ${fence!.seq}`).toBeGreaterThan(fence!.seq);
    const next = chain.find((c) => c.epoch > m.epoch);
    if (next) expect(m.time, `${m.msgId}: stored by epoch ${m.epoch} after epoch ${next.epoch} fenced it`).toBeLessThan(next.time);
  }
  return { epochs, takeovers: epochs - byPartition.size };
}

/** The reference's alerts and sessions as the payloads the streams must hold (order within a stream may differ across partitions). */
export function expectOutputs(stored: { alerts: StoredMessage[]; sessions: StoredMessage[] }, ref: Effects): void {
  const canon = (xs: string[]): string[] => [...xs].sort();
  expect(canon(stored.alerts.map((m) => m.data))).toEqual(canon(ref.alerts.map((a) => JSON.stringify(a))));
  expect(canon(stored.sessions.map((m) => m.data))).toEqual(canon(ref.sessions.map((s) => JSON.stringify(s))));
}

export const OUTPUT_STREAMS = [STREAMS.ALERTS.name, STREAMS.SESSIONS.name] as const;
