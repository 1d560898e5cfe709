import { setImmediate as nextTurn } from 'node:timers/promises';
import { ContractError, deadLetter, partitionOf, STREAMS, subjects, type AlertEvent, type DeadLetter } from '@fieldline/contract';
import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JsMsg } from 'nats';
import type { Logger } from 'pino';
import type { BatchingSink } from '../influx/batching.js';
import { BatchFlush, type Batch } from './batch-flush.js';
import { CheckpointKeeper } from './checkpoint-keeper.js';
import { FencedError, type Commits, type Snapshots } from './checkpoints.js';
import { FlushChain } from './flush-chain.js';
import type { RollupSink } from '../rollups/sink.js';
import { countCommitted, type Metrics } from './metrics.js';
import { LIVE_SUBJECTS, pendingOutputs, publishPending, type OutputSubjects, type PendingOutput } from './outputs.js';
import { SNAPSHOT_SLICE_MS, SnapshotCut } from './pipeline-state.js';
import { Effects, type PartitionPipeline } from './pipeline.js';
import type { TakeoverPlan } from './takeover.js';
import { envelopeBytes, readTelemetry, type Parsed } from './telemetry.js';
import { storedMs } from './clock-check.js';
import { LoopSlice } from './loop-slice.js';
import { PartitionLag, type PendingSource } from './partition-lag.js';

export interface WorkerOptions {
  partition: number;
  partitions: number;
  owner: string;
  js: JetStreamClient;
  sink: BatchingSink;
  commits: Commits;
  snapshots: Snapshots;
  plan: TakeoverPlan;
  /** False once the lease is no longer ours: checked before every write and commit (leases.ts). */
  leaseValid: () => boolean;
  /** The worker found itself fenced (a commit refused): the partition is someone else's. */
  onFenced: (err: Error) => void;
  /** State restored and replayed up to the last commit: live from here. */
  onLive: () => void;
  fetchBatch: number;
  batchLines: number;
  flushIntervalMs: number;
  checkpointMs: number;
  /** A snapshot lets the event loop run after writing for this long, ms (pipeline-state.ts). @default SNAPSHOT_SLICE_MS */
  checkpointSliceMs?: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long effects may stay not durable (a flush retrying) before `/healthz` reports the partition failing (it keeps retrying). */
  unhealthyAfterMs: number;
  /** Rollup lines and repairs, written after the raw lines (none without rollup tiers). */
  rollups?: RollupSink;
  metrics: Metrics;
  logger: Logger;
  subjects?: OutputSubjects;
}

/** Batches cut and not committed yet, at most (one committing, one writing, one waiting): the loop waits beyond. */
const MAX_PENDING_BATCHES = 3;
const deviceOf = (m: JsMsg): string => m.subject.slice(m.subject.lastIndexOf('.') + 1);
const readingsOf = (parsed: Parsed[]): number => {
  let n = 0;
  for (const p of parsed) n += p.env.readings.length;
  return n;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Owns one partition for one lease epoch: reads its TELEMETRY messages in stream order from the
 * takeover's start (an ordered consumer), runs the pipeline, and commits (checkpoints.ts) only
 * after every effect is durable: lines accepted by InfluxDB (or quarantined), alerts and sessions
 * stored by JetStream. Messages up to the takeover's commit only rebuild state. Every write and
 * commit first checks the lease; a refused commit stops the worker (it was fenced).
 */
export class PartitionWorker {
  readonly pipeline: PartitionPipeline;
  readonly epoch: number;
  private fx = new Effects();
  private readonly replayFx = new Effects();
  /** Alerts of the batch being built, each published as soon as it is raised (see `raise`). */
  private alertsOut: PendingOutput[] = [];
  private alertsInFlight: Promise<void>[] = [];
  private sessionSeqs: number[] = [];
  private last: JsMsg | undefined;
  private deadLetters: DeadLetter[] = [];
  private closing = false;
  private fenced = false;
  private loop: Promise<void> | undefined;
  private messages: ConsumerMessages | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Writes and commits in stream order, a batch's commit only after its writes (flush-chain.ts). */
  private readonly chain = new FlushChain<Batch>({
    write: (b) => this.flush.write(b),
    commit: (b) => this.flush.commit(b),
    onFailed: (err) => {
      if (err instanceof FencedError) {
        // Already fenced: abort() stopped it (the lease is gone), the processor knows.
        if (this.fenced) return;
        this.fenced = true;
        this.o.logger.warn({ err }, 'fenced: another owner took the partition; stopping');
        this.o.onFenced(err);
      } else this.o.logger.warn({ err }, 'closing with effects not durable; the next owner redoes them');
    },
  });
  private readonly stopping = new AbortController();
  /** The consume loop itself failed (it retries); reported at once. */
  private loopFailed = false;
  private consumer: PendingSource | undefined;
  /** The partition's backlog gauge (partition-lag.ts). */
  private readonly lag: PartitionLag;
  /** A message's envelopes are being processed (`apply` lets the event loop run between them). */
  private applying = false;
  /** When the loop lets the event loop run: a fetched batch is already in memory (loop-slice.ts says why and how long). */
  private readonly slice = new LoopSlice();
  private readonly checkpoints: CheckpointKeeper;
  /** Writes and commits a batch (batch-flush.ts); owns the committed sequence. */
  private readonly flush: BatchFlush;
  /** This partition's metric label. */
  private readonly label: { partition: string };
  /**
   * A checkpoint's snapshot being written beside the processing (`cut`, `SnapshotCut`): its bytes
   * are the state after the cut's `seq` though the loop goes on. No other snapshot starts meanwhile.
   */
  private snapshotting: SnapshotCut | undefined;
  /**
   * Batches cut after a batch whose snapshot is still being written wait here, so that batches
   * reach the chain in stream order: `held` of them, handed in when `handing` resolves.
   */
  private handing: Promise<void> = Promise.resolve();
  private held = 0;
  private published: Set<string> | undefined;
  private live = false;
  /** Last message processed (replayed or live). */
  private lastSeen = 0;
  /** Sequence of the newest batch handed to the flush chain. */
  private queuedSeq = 0;
  lastError: Error | undefined;

  /**
   * What `/healthz` reports: a failed consume loop at once, and effects not durable for longer
   * than `unhealthyAfterMs` (InfluxDB or JetStream refusing or not answering), saying why.
   */
  get problem(): Error | undefined {
    if (this.loopFailed) return this.lastError;
    const since = this.chain.oldest?.startedAt;
    if (since === undefined) return undefined;
    const ms = performance.now() - since;
    if (ms < this.o.unhealthyAfterMs) return undefined;
    const why = this.lastError ? this.lastError.message : 'the write has not answered';
    return new Error(`effects not durable for ${(ms / 1000).toFixed(1)} s (commit held, retrying): ${why}`, { cause: this.lastError });
  }

  get partition(): number {
    return this.o.partition;
  }

  /** Stream sequence up to which this partition's effects are committed. */
  get committedSeq(): number {
    return this.flush.committed;
  }

  /** A batch is committed: what it did is counted, and its messages leave the backlog. */
  private committedBatch(b: Batch): void {
    this.lastError = undefined;
    this.lag.committed(b.seq);
    this.o.metrics.committedSeq.set(this.label, b.seq);
    countCommitted(this.o.metrics, this.o.partition, b.fx, b.lines, this.pipeline.openSessions);
  }

  constructor(private readonly o: WorkerOptions) {
    const plan = o.plan;
    this.pipeline = plan.pipeline;
    this.epoch = plan.epoch;
    this.label = { partition: String(o.partition) };
    this.lag = new PartitionLag(o.metrics, o.partition, () => this.consumer);
    this.checkpoints = new CheckpointKeeper(
      { partition: o.partition, partitions: o.partitions, epoch: plan.epoch, periodMs: o.checkpointMs, snapshots: o.snapshots, metrics: o.metrics, logger: o.logger, fenced: () => this.fenced },
      plan.checkpoint,
    );
    this.flush = new BatchFlush({
      partition: o.partition,
      epoch: plan.epoch,
      owner: o.owner,
      js: o.js,
      sink: o.sink,
      ...(o.rollups ? { rollups: o.rollups } : {}),
      commits: o.commits,
      checkpoints: this.checkpoints,
      metrics: o.metrics,
      logger: o.logger,
      retryBaseMs: o.retryBaseMs,
      retryMaxMs: o.retryMaxMs,
      committed: plan.committed,
      commitRev: plan.commitRev,
      mayWrite: () => !this.fenced && o.leaseValid(),
      signal: this.stopping.signal,
      onRetry: (err) => (this.lastError = err),
      onCommitted: (b) => this.committedBatch(b),
    });
    this.published = plan.published.size ? plan.published : undefined;
    o.metrics.committedSeq.set(this.label, plan.committed);
  }

  start(): void {
    const { start, horizon } = this.o.plan;
    // Nothing to replay: nothing committed, no messages, or the checkpoint is at the commit.
    const from = start.deliver_policy === DeliverPolicy.StartSequence ? start.opt_start_seq : undefined;
    if (this.flush.committed === 0 || horizon === 0 || (from !== undefined && (from > this.flush.committed || from > horizon))) this.goLive();
    this.loop = this.run();
    // Bounds how long a line waits at a low message rate (wall time decides only *when* effects
    // are written and state is checkpointed, never *what* they are).
    this.timer = setInterval(() => void this.tickFlush(), this.o.flushIntervalMs);
    this.lag.start();
  }

  private goLive(): void {
    if (this.live) return;
    this.live = true;
    this.o.onLive();
  }

  /** Stops cleanly: what was processed is flushed and committed with a checkpoint, marked `closed`. */
  async close(): Promise<void> {
    if (this.closing) return this.chain.settled();
    this.closing = true;
    clearInterval(this.timer);
    this.lag.stop();
    this.messages?.stop();
    await this.loop;
    this.stopping.abort();
    // A checkpoint still being stored beside the batches: the closing one supersedes it (and deletes it once committed).
    await this.handing;
    await this.checkpoints.storing;
    if (!this.fenced && this.live) await this.cut({ checkpoint: true, closed: true });
    await this.chain.settled();
  }

  /** Stops at once (the lease is gone): nothing more is written or committed. */
  async abort(): Promise<void> {
    this.fenced = true;
    this.closing = true;
    clearInterval(this.timer);
    this.lag.stop();
    this.stopping.abort();
    this.messages?.stop();
    await this.loop;
  }

  private async run(): Promise<void> {
    const filterSubjects = subjects.telemetryPartition(this.o.partition);
    while (!this.closing) {
      try {
        // After a failed loop the consumer resumes after the last message seen.
        const start = this.lastSeen > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.lastSeen + 1 } : this.o.plan.start;
        const consumer = await this.o.js.consumers.get(STREAMS.TELEMETRY.name, { filterSubjects, ...start });
        this.consumer = consumer;
        this.messages = await consumer.consume({ max_messages: this.o.fetchBatch });
        if (this.closing) this.messages.stop();
        for await (const m of this.messages) {
          await (m.seq <= this.flush.committed ? this.replay(m) : this.applyLive(m));
          if (this.slice.spent) await this.slice.yield();
          if (this.closing) break;
        }
      } catch (err) {
        if (this.closing) break;
        this.lastError = err as Error;
        this.loopFailed = true;
        this.o.logger.error({ err }, 'partition loop failed; retrying');
        await sleep(1000);
      }
    }
  }

  /** A message past the last commit: its effects join the batch. */
  private async applyLive(m: JsMsg): Promise<void> {
    this.goLive();
    const parsed = this.parse(m);
    // Cut before a message that would overflow the batch, so a request stays within batchLines.
    if (parsed && this.fx.points.count > 0 && this.fx.points.count + readingsOf(parsed) > this.o.batchLines) await this.cutBounded();
    await this.apply(m, parsed);
    // Date.now() against the server's timestamp: a clock skew between the hosts adds to it.
    this.o.metrics.delay.observe(Math.max(0, Date.now() - storedMs(m)) / 1000);
    this.loopFailed = false;
    this.lag.read(m.seq, m.info.pending);
    if (this.fx.points.count >= this.o.batchLines) await this.cutBounded();
  }

  /**
   * Runs `step` on each of a message's envelopes. A bundle holds up to hundreds of them (bench: 60
   * and more at 100 readings each when a device is behind: tens of ms), so the loop's slice can
   * end between them too.
   */
  private async eachEnvelope(parsed: Parsed[], step: (p: Parsed) => void): Promise<void> {
    for (let i = 0; i < parsed.length; i++) {
      if (i > 0 && this.slice.spent) await this.slice.yield();
      step(parsed[i]!);
    }
  }

  /** A message whose effects are durable already: it only rebuilds state (nothing is cut before the partition is live). */
  private async replay(m: JsMsg): Promise<void> {
    this.lastSeen = m.seq;
    let parsed: Parsed[] = [];
    let at = 0;
    try {
      at = storedMs(m);
      parsed = readTelemetry(m.data, deviceOf(m), { values: false }).parsed;
    } catch (err) {
      // Dead-lettered when it was first processed.
      if (!(err instanceof ContractError)) this.o.logger.error({ err, seq: m.seq }, 'replay: processing failed');
    }
    await this.eachEnvelope(parsed, (p) => {
      try {
        this.pipeline.process(p.env, this.replayFx, undefined, at);
      } catch (err) {
        if (!(err instanceof ContractError)) this.o.logger.error({ err, seq: m.seq }, 'replay: processing failed');
      }
    });
    this.replayFx.clear();
    if (m.seq >= this.flush.committed || m.info.pending === 0) this.goLive();
  }

  /**
   * The message's envelopes (one, or a bundle's) with their value texts; undefined when the
   * message was dead-lettered whole. A bundle's invalid envelope is dead-lettered alone.
   */
  private parse(m: JsMsg): Parsed[] | undefined {
    const device = deviceOf(m);
    try {
      if (partitionOf(device, this.o.partitions) !== this.o.partition) {
        throw new ContractError('bad_topic', 'subject', `device "${device}" does not belong to partition ${this.o.partition}`);
      }
      const t = readTelemetry(m.data, device);
      for (const f of t.failed) this.deadLetter(m, device, f.error, f.payload);
      return t.parsed;
    } catch (err) {
      this.deadLetter(m, device, err);
      return undefined;
    }
  }

  /**
   * Runs the message's envelopes through the pipeline (`eachEnvelope`: the event loop may run
   * between them); meanwhile no flush cuts the batch (`applying`), so a cut always falls between
   * two messages.
   */
  private async apply(m: JsMsg, parsed: Parsed[] | undefined): Promise<void> {
    this.last = m;
    this.lastSeen = m.seq;
    if (this.published && m.seq > this.o.plan.horizon) this.published = undefined;
    if (!parsed) return;
    const fx = this.fx;
    const a0 = fx.alerts.length;
    const s0 = fx.sessions.length;
    const at = storedMs(m);
    this.applying = true;
    try {
      await this.eachEnvelope(parsed, (p) => {
        try {
          this.pipeline.process(p.env, fx, p.values, at);
        } catch (err) {
          this.deadLetter(m, p.env.device, err, parsed.length > 1 ? envelopeBytes(p.env) : undefined);
        }
      });
    } finally {
      this.applying = false;
    }
    if (fx.alerts.length > a0) this.raise(fx.alerts.slice(a0), m.seq);
    for (let i = s0; i < fx.sessions.length; i++) this.sessionSeqs.push(m.seq);
  }

  /**
   * Publishes alerts to ALERTS as soon as the pipeline raises them, not with the InfluxDB batch
   * (issue 16: an alert waited for the sink's flush interval). The commit, which is the ack,
   * still waits for them: `flush` settles these publishes and retries any that failed before it
   * commits, so a crash before the commit redoes them under the same msg ids (and a takeover
   * finds those already stored, takeover.ts). A fenced worker publishes nothing.
   */
  private raise(alerts: AlertEvent[], seq: number): void {
    const out = pendingOutputs({ alerts, alertSeqs: alerts.map(() => seq), sessions: [], sessionSeqs: [], dead: [] }, this.o.subjects ?? LIVE_SUBJECTS, { partition: this.o.partition, epoch: this.epoch }, this.published);
    if (out.skipped) this.o.metrics.republishSkipped.inc(out.skipped);
    this.alertsOut.push(...out.pending);
    if (this.fenced || !this.o.leaseValid()) return;
    this.alertsInFlight.push(publishPending(this.o.js, out.pending).catch(() => undefined));
  }

  /**
   * Files the message with its reason; it is committed with the batch: one message never blocks
   * its partition. A ContractError is bad input; anything else is a processor bug, kept for a replay once fixed.
   */
  private deadLetter(m: JsMsg, device: string, err: unknown, payload: Uint8Array = m.data): void {
    const reason = err instanceof ContractError ? err.reason : 'processing_failed';
    this.o.metrics.badMessages.inc({ reason });
    if (err instanceof ContractError) this.o.logger.warn({ device, seq: m.seq, err }, 'invalid TELEMETRY message dead-lettered');
    else this.o.logger.error({ device, seq: m.seq, err }, 'processing failed; message dead-lettered');
    // The contract's builder: a redelivered message files the same msgID, so JetStream drops the repeat.
    this.deadLetters.push(deadLetter({ reason, device, source: `processor/partition-${this.o.partition}`, error: err instanceof Error ? err : String(err), payload }));
  }

  /**
   * Backpressure: at most MAX_PENDING_BATCHES batches cut and not committed. The loop waits for
   * the oldest to commit, not for all of them, so a batch is being written while one commits.
   */
  private async cutBounded(): Promise<void> {
    const t0 = performance.now();
    let waited = false;
    // Batches held behind a snapshot being written count as pending: they are on their way.
    while (this.chain.pending + this.held >= MAX_PENDING_BATCHES) {
      waited = true;
      await (this.chain.pending > 0 ? this.chain.oldestSettled() : this.handing);
    }
    if (waited) this.o.metrics.loopWait.inc(this.label, (performance.now() - t0) / 1000);
    void this.cut();
  }

  /** The flush timer: pending effects, or a checkpoint of a partition whose input has stopped. */
  private tickFlush(): void {
    // Between two envelopes of one message (`apply`): the next tick cuts.
    if (this.closing || !this.live || this.applying) return;
    if (this.last) void this.cut();
    else if (this.chain.pending === 0 && this.held === 0 && this.checkpoints.due) {
      if (this.flush.committed > (this.checkpoints.current?.seq ?? 0)) void this.cut({ checkpoint: true });
      // Idle, its state checkpointed already: the next one at this partition's next point of the
      // period. Else every partition idle for a while would be due at once, and cut together
      // when input returns (the bench's fleets start after an idle spell).
      else this.checkpoints.schedule();
    }
  }

  /**
   * Hands the pending effects to the flush chain; resolves when they (and all before) are durable
   * and committed. Batches reach the chain in stream order: behind a batch whose snapshot is
   * still being written, the next ones are held (`handing`).
   */
  private cut(o: { checkpoint?: boolean; closed?: boolean } = {}): Promise<void> {
    const last = this.last;
    if (!last && !o.checkpoint && !o.closed) return this.chain.settled();
    const fx = this.fx;
    const seq = last?.seq ?? this.lastCommittedOrQueued();
    const points = fx.points;
    const lines = points.count;
    // Joined now, while the lines are young, and held as one string until InfluxDB accepts them.
    if (lines > 1 && lines <= this.o.batchLines) points.lines = [points.lines.join('\n')];
    const out = pendingOutputs({ alerts: [], alertSeqs: [], sessions: fx.sessions, sessionSeqs: this.sessionSeqs, dead: this.deadLetters }, this.o.subjects ?? LIVE_SUBJECTS, { partition: this.o.partition, epoch: this.epoch }, this.published);
    if (out.skipped) this.o.metrics.republishSkipped.inc(out.skipped);
    const batch: Batch = { fx, seq, lines, pending: [...this.alertsOut, ...out.pending], inFlight: this.alertsInFlight, written: lines === 0 && points.rollupCount === 0 && points.repairs.length === 0, closed: !!o.closed, inline: !!o.checkpoint, cutAt: performance.now() };
    const snapshot = !this.snapshotting && (o.checkpoint || (this.checkpoints.due && !this.checkpoints.storing)) && seq > this.checkpoints.newestSeq;
    this.fx = new Effects();
    this.deadLetters = [];
    this.alertsOut = [];
    this.alertsInFlight = [];
    this.sessionSeqs = [];
    this.last = undefined;
    this.queuedSeq = seq;
    if (!snapshot) {
      // Nothing held (a snapshot being written always holds its own batch): straight in.
      if (this.held === 0) {
        this.handIn(batch);
        return this.chain.settled();
      }
      return this.hold(batch);
    }
    // The state is exactly that after `seq` now, between two messages: the cut takes it as it is
    // and writes it in slices while the loop goes on (a device about to change is written first).
    this.checkpoints.schedule();
    const end = this.o.metrics.flushStage.startTimer({ stage: 'snapshot' });
    const cut = new SnapshotCut(this.pipeline, { partition: this.o.partition, partitions: this.o.partitions, seq });
    this.snapshotting = cut;
    const written = (async (): Promise<void> => {
      try {
        while (!cut.step(this.o.checkpointSliceMs ?? SNAPSHOT_SLICE_MS)) {
          // Fenced (the lease is gone): nothing of this partition is handed in any more.
          if (this.fenced) return cut.release();
          await nextTurn();
        }
        batch.snapshot = cut.finish();
      } catch (err) {
        // A checkpoint only speeds a restart up: without one the batch still commits (naming the previous one).
        cut.release();
        this.o.metrics.checkpoints.inc({ result: 'failed' });
        this.o.logger.error({ err }, 'snapshot failed; the batch commits without a new checkpoint');
      } finally {
        end();
        this.snapshotting = undefined;
      }
    })();
    return this.hold(batch, written);
  }

  /** Hands `batch` in after every batch held before it, once `ready` resolves. */
  private hold(batch: Batch, ready?: Promise<void>): Promise<void> {
    this.held++;
    const before = this.handing;
    this.handing = Promise.all([before, ready]).then(() => {
      this.held--;
      this.handIn(batch);
    });
    return this.handing.then(() => this.chain.settled());
  }

  /** A fenced worker hands nothing in; a failed chain drops what it is given. */
  private handIn(batch: Batch): void {
    if (!this.fenced) void this.chain.push(batch);
  }

  private lastCommittedOrQueued(): number {
    return Math.max(this.flush.committed, this.queuedSeq);
  }
}
