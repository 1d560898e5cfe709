import {
  ContractError,
  DEADLETTER_HEADERS,
  parseEnvelope,
  partitionOf,
  subjects,
  type AlertEvent,
  type Envelope,
  type SessionSummary,
} from '@fieldline/contract';
import { headers, type Consumer, type ConsumerMessages, type JetStreamClient, type JsMsg } from 'nats';
import type { Logger } from 'pino';
import type { BatchingSink } from '../sinks/batching-sink.js';
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
  retryMaxMs: number;
  metrics: Metrics;
  logger: Logger;
}

interface Parsed {
  env: Envelope;
  values: (string | undefined)[] | undefined;
}

interface DeadLetter {
  subject: string;
  data: Uint8Array;
  error: string;
  device: string;
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
  lastError: Error | undefined;

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
          if (parsed && this.fx.lines.length > 0 && this.fx.lines.length + parsed.env.readings.length > this.o.batchLines) await this.cutBounded();
          this.apply(m, parsed);
          this.o.metrics.lag.set(label, m.info.pending);
          if (this.fx.lines.length >= this.o.batchLines) await this.cutBounded();
        }
      } catch (err) {
        this.lastError = err as Error;
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
    const message = (err as Error).message;
    this.o.metrics.badMessages.inc({ reason });
    if (err instanceof ContractError) this.o.logger.warn({ device, seq: m.seq, err: message }, 'invalid TELEMETRY message dead-lettered');
    else this.o.logger.error({ device, seq: m.seq, err }, 'processing failed; message dead-lettered');
    this.deadLetters.push({ subject: subjects.deadletter(reason, device), data: m.data, error: message, device });
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
    const lines = fx.lines.length;
    // Joined now, while the lines are young, and held as one string until InfluxDB accepts them:
    // thousands of small strings waiting behind a write cost the GC more than the join.
    if (lines > 1 && lines <= this.o.batchLines) fx.lines = [fx.lines.join('\n')];
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
        this.o.logger.warn({ err: (err as Error).message }, 'closing with effects not durable; JetStream will redeliver');
      } finally {
        this.queued--;
      }
    });
    return this.chain;
  }

  /** Makes the effects durable, retrying until it works (or the worker closes), then acks. */
  private async flush(fx: Effects, lines: number, dead: DeadLetter[], last: JsMsg): Promise<void> {
    const label = { partition: String(this.o.partition) };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.o.sink.write(fx.lines);
        await this.publish(fx.alerts, fx.sessions, dead);
        this.lastError = undefined;
        break;
      } catch (err) {
        this.lastError = err as Error;
        if (this.closing) throw err;
        this.o.logger.error({ err: (err as Error).message, attempt }, 'effects not durable yet; holding the ack and retrying');
        // Keep JetStream from redelivering what we still hold.
        last.working();
        await sleep(Math.min(this.o.retryMaxMs, 500 * 2 ** attempt));
      }
    }
    this.o.metrics.readings.inc(label, fx.readings);
    this.o.metrics.late.inc(label, fx.late);
    this.o.metrics.duplicates.inc(label, fx.duplicates);
    this.o.metrics.sinkLines.inc(lines);
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
    for (const d of dead) {
      const h = headers();
      h.set(DEADLETTER_HEADERS.reason, d.subject.split('.')[2]!);
      h.set(DEADLETTER_HEADERS.error, d.error.replace(/[\r\n]/g, ' '));
      h.set(DEADLETTER_HEADERS.device, d.device);
      h.set(DEADLETTER_HEADERS.source, `processor/partition-${this.o.partition}`);
      pending.push(js.publish(d.subject, d.data, { headers: h }));
    }
    await Promise.all(pending);
  }
}
