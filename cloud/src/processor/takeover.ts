import { partitionOf, STREAMS, subjects } from '@fieldline/contract';
import { isNotFound } from '@fieldline/runtime/nats';
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from 'nats';
import type { Logger } from 'pino';
import { SnapshotError } from '../detectors/state-codec.js';
import type { CheckpointRef, Commits, CommitRecord, Snapshots } from './checkpoints.js';
import type { Metrics } from './metrics.js';
import { restorePipeline } from './pipeline-state.js';
import { readStream } from './stream-reader.js';
import { PartitionPipeline, type PipelineConfig } from './pipeline.js';

const STREAM = STREAMS.TELEMETRY.name;
/** How far before the last commit's server time the takeover looks for outputs of the previous owner (clock skew between the nodes of a cluster). */
const SCAN_SLACK_MS = 60_000;

/** Where the partition's consumer starts (an ordered consumer: never `DeliverPolicy.All`, which nats.js 2.29 sends with an `opt_start_seq` the server refuses). */
export type ConsumerStart = { deliver_policy: DeliverPolicy.StartSequence; opt_start_seq: number } | { deliver_policy: DeliverPolicy.StartTime; opt_start_time: string };

const FROM_START: ConsumerStart = { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1 };

/** What a new owner of a partition starts from (see {@link planTakeover}). */
export interface TakeoverPlan {
  epoch: number;
  pipeline: PartitionPipeline;
  start: ConsumerStart;
  /** Effects of messages up to here are durable: those messages only rebuild state. */
  committed: number;
  /** Revision of the commit record after the fence: the next commit's compare-and-set. */
  commitRev: number;
  checkpoint: CheckpointRef | null;
  /** Alert and session msg ids the previous owner published after its last commit: not published again. */
  published: Set<string>;
  /** The partition's last stream sequence at takeover: no owner can have output anything past it. */
  horizon: number;
  state: 'checkpoint' | 'replay' | 'fresh';
}

export interface TakeoverOptions {
  partition: number;
  partitions: number;
  epoch: number;
  owner: string;
  pipeline: PipelineConfig;
  commits: Commits;
  snapshots: Snapshots;
  jsm: JetStreamManager;
  js: JetStreamClient;
  /** History replayed when there is no usable checkpoint. */
  replayMs: number;
  /** Raises our lease epoch above `min` (the commit record is ahead of the lease). */
  raiseEpoch(min: number): Promise<number>;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Takes over a partition (docs/architecture.md, "Partitions, leases and checkpoints"):
 * 1. fence: rewrite the commit record with our epoch, so the previous owner's commits fail;
 * 2. load the checkpoint it names and restore the pipeline (state at sequence C); an unknown,
 *    corrupt or missing one is a warning and a replay of `replayMs` of history instead;
 * 3. the consumer starts at C + 1; messages up to the commit (A ≥ C) only rebuild state, since
 *    their effects are durable; live effects start at A + 1, so no committed message is ever
 *    output twice, whatever the consumers' ack floors say;
 * 4. unless the previous owner stopped cleanly, the alerts and sessions of this partition's
 *    devices stored since its last commit are looked up: it may have published some of the
 *    batch it never committed, and those are not published again.
 */
export async function planTakeover(o: TakeoverOptions): Promise<TakeoverPlan> {
  const { partition: p, commits, logger } = o;
  let epoch = o.epoch;
  const peek = await commits.read(p);
  if (peek.value && peek.value.epoch >= epoch) {
    logger.warn({ partition: p, lease: epoch, commit: peek.value.epoch }, 'commit record has a newer epoch than the lease (lease key purged?); raising the lease epoch');
    epoch = await o.raiseEpoch(peek.value.epoch);
  }
  const { before, rev } = await commits.fence(p, epoch, o.owner);
  const prev = before.value;
  const committed = prev?.seq ?? 0;
  const horizon = await lastSeq(o.jsm, p);
  const published = prev && !prev.closed && horizon > committed ? await scanPublished(o, before) : new Set<string>();
  if (published.size) logger.info({ partition: p, found: published.size }, 'outputs of the previous owner past its last commit found; they will not be published again');

  let pipeline: PartitionPipeline | undefined;
  let start: ConsumerStart = FROM_START;
  let state: TakeoverPlan['state'] = 'fresh';
  let checkpoint = prev?.checkpoint ?? null;
  if (checkpoint) {
    try {
      const bytes = await o.snapshots.get(checkpoint);
      if (!bytes) throw new SnapshotError(`checkpoint ${checkpoint.name} is gone from the object store`);
      const restored = restorePipeline(o.pipeline, bytes, { partition: p, partitions: o.partitions });
      if (restored.seq !== checkpoint.seq || restored.seq > committed) throw new SnapshotError(`checkpoint covers seq ${restored.seq}, the commit names ${checkpoint.seq} (committed ${committed})`);
      pipeline = restored.pipeline;
      start = { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: restored.seq + 1 };
      state = 'checkpoint';
    } catch (err) {
      // Bad bytes never stop a partition: the state is re-derived instead (less exactly, see replayMs).
      o.metrics.checkpointsRefused.inc();
      logger.warn({ partition: p, checkpoint: checkpoint.name, err }, 'checkpoint unusable; re-deriving the state by replay');
      checkpoint = null;
    }
  }
  if (!pipeline) {
    pipeline = new PartitionPipeline(o.pipeline);
    if (committed > 0) {
      state = 'replay';
      start = await replayStart(o, committed);
    }
  }
  void o.snapshots.prune(p, checkpoint?.name ?? null).catch((err: unknown) => logger.warn({ err, partition: p }, 'pruning old checkpoints failed'));
  return { epoch, pipeline, start, committed, commitRev: rev, checkpoint, published, horizon, state };
}

/** Where a replay without checkpoint starts: `replayMs` (JetStream time) before the committed message. */
async function replayStart(o: TakeoverOptions, committed: number): Promise<ConsumerStart> {
  if (o.replayMs <= 0) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: committed + 1 };
  try {
    const last = await o.jsm.streams.getMessage(STREAM, { seq: committed });
    return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(last.time.getTime() - o.replayMs).toISOString() };
  } catch (err) {
    if (!isNotFound(err)) throw err;
    o.logger.warn({ partition: o.partition, committed }, 'committed message gone from the stream; replaying what it still holds');
    return FROM_START;
  }
}

/** The partition's last TELEMETRY sequence (0 when it has none). */
async function lastSeq(jsm: JetStreamManager, p: number): Promise<number> {
  try {
    return (await jsm.streams.getMessage(STREAM, { last_by_subj: subjects.telemetryPartition(p) })).seq;
  } catch (err) {
    if (isNotFound(err)) return 0;
    throw err;
  }
}

/** Msg ids of the alerts and sessions of partition `p`'s devices stored since the commit `since` was written. */
async function scanPublished(o: TakeoverOptions, since: CommitRecord): Promise<Set<string>> {
  const out = new Set<string>();
  const from = new Date((since.created?.getTime() ?? 0) - SCAN_SLACK_MS);
  for (const spec of [STREAMS.ALERTS, STREAMS.SESSIONS]) {
    const info = await o.jsm.streams.info(spec.name).catch((err: unknown) => {
      if (isNotFound(err)) return null;
      throw err;
    });
    if (!info || info.state.messages === 0 || new Date(info.state.last_ts) < from) continue;
    for await (const m of readStream(o.jsm, o.js, spec.name, { from: { time: from }, headersOnly: true })) {
      const device = m.subject.slice(m.subject.lastIndexOf('.') + 1);
      const id = m.headers?.get('Nats-Msg-Id');
      if (id && partitionOf(device, o.partitions) === o.partition) out.add(id);
    }
  }
  return out;
}
