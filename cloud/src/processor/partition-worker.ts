import {
  ContractError,
  deadLetter,
  parseEnvelope,
  partitionOf,
  subjects,
  type AlertEvent,
  type DeadLetter,
  type Envelope,
  type SessionSummary,
} from '@fieldline/contract';
import { retry } from '@fieldline/runtime';
import { toHeaders } from '@fieldline/runtime/nats';
import type { Consumer, ConsumerMessages, JetStreamClient, JsMsg } from 'nats';
import type { Logger } from 'pino';
import type { BatchingSink } from '../influx/batching.js';
import type { RollupSink } from '../rollups/sink.js';
import type { Metrics } from './metrics.js';
import { Effects, PartitionPipeline, type PipelineConfig } from './pipeline.js';
import { valueTexts } from './value-texts.js';

export interface WorkerOptions {
  partition: number;
  partitions: number;
  js: JetStreamClient;
  sink: BatchingSink;
  pipeline: PipelineConfig;
  fetchBatch: number;
  batchLines: number;
  flushIntervalMs: number;
  /** Backoff of the flush retry (InfluxDB or JetStream unavailable). */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Failed flushes in a row before `/healthz` reports the partition failing (it keeps retrying). */
  unhealthyAfter: number;
  /** Rollup lines and repairs, written after the raw lines (none without rollup tiers). */
  rollups?: RollupSink;
  metrics: Metrics;
  logger: Logger;
}

interface Parsed {
  env: Envelope;
  values: (string | undefined)[] | undefined;
}

const deviceOf = (m: JsMsg): string => m.subject.slice(m.subject.lastIndexOf('.') + 1);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Owns one partition: pulls its TELEMETRY messages in stream order, runs the pipeline, and acks
 * (AckAll, so one ack covers the batch) only after every effect is durable: lines accepted by
 * InfluxDB (or quarantined), alerts and sessions stored by JetStream.
 */
export class PartitionWorker {
  readonly pipeline: PartitionPipeline;
  private fx = new Effects();
  private last: JsMsg | undefined;
  private deadLetters: DeadLetter[] = [];
  private closing = false;
  private loop: Promise<void> | undefined;
  private messages: ConsumerMessages | undefined;
  private consumer: Consumer | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Flushes run one after another: with AckAll an ack must never overtake an earlier batch. */
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private failed = false;
  private readonly stopping = new AbortController();
  /** Failed flush attempts in a row. */
  private failures = 0;
  lastError: Error | undefined;

  /** The error `/healthz` reports: set once `unhealthyAfter` flushes in a row failed. */
  get problem(): Error | undefined {
    return this.failures >= this.o.unhealthyAfter ? this.lastError : undefined;
  }

  get partition(): number {
    return this.o.partition;
  }

  constructor(private readonly o: WorkerOptions) {
    this.pipeline = new PartitionPipeline(o.pipeline);
  }

  /** The durable consumer, once the partition was taken over (see warm-up.ts). */
  attach(consumer: Consumer): void {
    this.consumer = consumer;
  }

  start(): void {
    this.loop = this.run();
    // Bounds how long a line waits at a low message rate (wall time decides only *when* effects
    // are written, never *what* they are).
    this.timer = setInterval(() => void this.cut(), this.o.flushIntervalMs);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.stopping.abort();
    clearInterval(this.timer);
    this.messages?.stop();
    await this.loop;
    await this.cut();
  }

  private async run(): Promise<void> {
    const label = { partition: String(this.o.partition) };
    while (!this.closing) {
      try {
        this.messages = await this.consumer!.consume({ max_messages: this.o.fetchBatch });
        if (this.closing) this.messages.stop();
        for await (const m of this.messages) {
          const parsed = this.parse(m);
          // Cut before a message that would overflow the batch, so a request stays within
          // batchLines (instead of a full request plus a tiny one for the overflow).
          if (parsed && this.fx.points.count > 0 && this.fx.points.count + parsed.env.readings.length > this.o.batchLines) await this.cutBounded();
          this.apply(m, parsed);
          this.o.metrics.lag.set(label, m.info.pending);
          if (this.fx.points.count >= this.o.batchLines) await this.cutBounded();
        }
      } catch (err) {
        this.lastError = err as Error;
        this.failures = Math.max(this.failures, this.o.unhealthyAfter);
        this.o.logger.error({ err }, 'partition loop failed; retrying');
        if (!this.closing) await sleep(1000);
      }
    }
  }

  /** The message's envelope (and its value texts), or undefined when it was dead-lettered as bad input. */
  private parse(m: JsMsg): Parsed | undefined {
    const device = deviceOf(m);
    try {
      const text = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).toString('utf8');
      const env = parseEnvelope(text, device);
      if (partitionOf(env.device, this.o.partitions) !== this.o.partition) {
        throw new ContractError('bad_topic', 'subject', `device "${env.device}" does not belong to partition ${this.o.partition}`);
      }
      return { env, values: valueTexts(text, env.readings.length) };
    } catch (err) {
      this.deadLetter(m, device, err);
      return undefined;
    }
  }

  private apply(m: JsMsg, parsed: Parsed | undefined): void {
    this.last = m;
    if (!parsed) return;
    try {
      this.pipeline.process(parsed.env, this.fx, parsed.values);
    } catch (err) {
      this.deadLetter(m, parsed.env.device, err);
    }
  }

  /**
   * Files the message with its reason; it is acked with the batch: one message never blocks its
   * partition. A ContractError is bad input; anything else is a processor bug, kept for a replay once fixed.
   */
  private deadLetter(m: JsMsg, device: string, err: unknown): void {
    const reason = err instanceof ContractError ? err.reason : 'processing_failed';
    this.o.metrics.badMessages.inc({ reason });
    if (err instanceof ContractError) this.o.logger.warn({ device, seq: m.seq, err }, 'invalid TELEMETRY message dead-lettered');
    else this.o.logger.error({ device, seq: m.seq, err }, 'processing failed; message dead-lettered');
    // The contract's builder: a redelivered message files the same msgID, so JetStream drops the repeat.
    this.deadLetters.push(deadLetter({ reason, device, source: `processor/partition-${this.o.partition}`, error: err instanceof Error ? err : String(err), payload: m.data }));
  }

  /** Backpressure: at most one batch waits behind the one being written. */
  private async cutBounded(): Promise<void> {
    if (this.queued > 1) await this.chain;
    void this.cut();
  }

  /** Hands the pending effects to the flush chain; resolves when they (and all before) are durable. */
  private cut(): Promise<void> {
    const last = this.last;
    if (!last) return this.chain;
    const fx = this.fx;
    const dead = this.deadLetters;
    const points = fx.points;
    const lines = points.count;
    // Joined now, while the lines are young, and held as one string until InfluxDB accepts them:
    // thousands of small strings waiting behind a write cost the GC more than the join.
    if (lines > 1 && lines <= this.o.batchLines) points.lines = [points.lines.join('\n')];
    this.fx = new Effects();
    this.deadLetters = [];
    this.last = undefined;
    this.queued++;
    this.chain = this.chain.then(async () => {
      try {
        if (!this.failed) await this.flush(fx, lines, dead, last);
      } catch (err) {
        // Only when closing: nothing after this batch may be acked either (AckAll).
        this.failed = true;
        this.o.logger.warn({ err }, 'closing with effects not durable; JetStream will redeliver');
      } finally {
        this.queued--;
      }
    });
    return this.chain;
  }

  /**
   * Makes the effects durable, then acks. The one retry loop of the processor's writes: the sink
   * and the publishes do not retry themselves, so a failure here (InfluxDB or JetStream
   * unavailable) retries the whole flush with backoff until it works or the worker closes.
   */
  private async flush(fx: Effects, lines: number, dead: DeadLetter[], last: JsMsg): Promise<void> {
    const label = { partition: String(this.o.partition) };
    await retry(
      async () => {
        await this.o.sink.write(fx.points.lines);
        await this.o.rollups?.write(fx.points);
        await this.publish(fx.alerts, fx.sessions, dead);
      },
      {
        baseMs: this.o.retryBaseMs,
        maxMs: this.o.retryMaxMs,
        jitter: false,
        signal: this.stopping.signal,
        onRetry: (err, attempt, delayMs) => {
          this.lastError = err as Error;
          this.failures++;
          this.o.metrics.sinkRetries.inc();
          this.o.logger.error({ err, attempt, delayMs }, 'effects not durable yet; holding the ack and retrying');
          // Keep JetStream from redelivering what we still hold.
          last.working();
        },
      },
    );
    this.lastError = undefined;
    this.failures = 0;
    this.o.metrics.readings.inc(label, fx.readings);
    this.o.metrics.late.inc(label, fx.late);
    this.o.metrics.duplicates.inc(label, fx.duplicates);
    this.o.metrics.sinkLines.inc(lines);
    this.o.metrics.rollupLines.inc(fx.points.rollupCount);
    this.o.metrics.rollupRepairs.inc(fx.points.repairs.length);
    for (const a of fx.alerts) this.o.metrics.alerts.inc({ severity: a.severity, state: a.state });
    for (const s of fx.sessions) this.o.metrics.sessions.inc({ closed_by: s.closedBy });
    this.o.metrics.sessionsOpen.set(label, this.pipeline.openSessions);
    last.ack();
  }

  private async publish(alerts: AlertEvent[], sessions: SessionSummary[], dead: DeadLetter[]): Promise<void> {
    const js = this.o.js;
    const pending: Promise<unknown>[] = [];
    // Dedup ids from event data: a redelivered batch re-publishes the same ids.
    for (const a of alerts) pending.push(js.publish(subjects.alerts(a.severity, a.device), JSON.stringify(a), { msgID: `${a.id}:${a.state}` }));
    for (const s of sessions) pending.push(js.publish(subjects.sessions(s.device), JSON.stringify(s), { msgID: `${s.device}:${s.sensor}:${s.start}` }));
    for (const d of dead) pending.push(js.publish(d.subject, d.payload, { headers: toHeaders(d.headers), msgID: d.msgID }));
    await Promise.all(pending);
  }
}
