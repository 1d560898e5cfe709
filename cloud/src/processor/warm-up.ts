import { ContractError, parseEnvelope, STREAMS } from '@fieldline/contract';
import { isNotFound } from '@fieldline/runtime/nats';
import { AckPolicy, DeliverPolicy, type ConsumerConfig, type JetStreamClient, type JetStreamManager } from 'nats';
import type { Logger } from 'pino';
import { Effects, type PartitionPipeline } from './pipeline.js';

const STREAM = STREAMS.TELEMETRY.name;

/**
 * Takes over a partition. State is not checkpointed; it is re-derived by replay:
 * 1. The durable consumer is recreated to deliver from just after its ack floor, so messages a
 *    previous owner held unacked come again at once and in stream order (not after ack_wait,
 *    behind newer ones).
 * 2. The messages up to the ack floor within `replayMs` of it (JetStream time) are run through
 *    the pipeline with their effects discarded: those effects were made durable before the ack.
 * When the window covers the partition's whole history, the state, and so every later output,
 * is exactly what an uninterrupted run would have; a shorter window bounds start-up time at the
 * cost of sessions and baselines older than it.
 */
export async function takeOverPartition(o: {
  jsm: JetStreamManager;
  js: JetStreamClient;
  config: Partial<ConsumerConfig> & { durable_name: string; filter_subject: string };
  pipeline: PartitionPipeline;
  replayMs: number;
  logger: Logger;
}): Promise<{ replayed: number; ackFloor: number }> {
  const { jsm, js, config, pipeline, logger } = o;
  const info = await jsm.consumers.info(STREAM, config.durable_name).catch((err: unknown) => {
    if (isNotFound(err)) return null;
    throw err;
  });
  const floor = info?.ack_floor.stream_seq ?? 0;
  if (info) await jsm.consumers.delete(STREAM, config.durable_name);
  await jsm.consumers.add(STREAM, {
    ...config,
    ack_policy: AckPolicy.All,
    ...(floor > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: floor + 1 } : { deliver_policy: DeliverPolicy.All }),
  });
  if (floor === 0 || o.replayMs <= 0) return { replayed: 0, ackFloor: floor };

  let start: { deliver_policy: DeliverPolicy; opt_start_time?: string } = { deliver_policy: DeliverPolicy.All };
  try {
    const last = await jsm.streams.getMessage(STREAM, { seq: floor });
    start = { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(last.time.getTime() - o.replayMs).toISOString() };
  } catch (err) {
    logger.warn({ err, floor }, 'ack floor message gone; replaying what the stream still holds');
  }
  const oc = await js.consumers.get(STREAM, { filterSubjects: config.filter_subject, ...start });
  const fx = new Effects();
  let replayed = 0;
  for (let done = false; !done; ) {
    let got = 0;
    for await (const m of await oc.fetch({ max_messages: 512, expires: 1000 })) {
      got++;
      if (m.seq > floor) {
        done = true;
        break;
      }
      try {
        pipeline.process(parseEnvelope(m.data, m.subject.slice(m.subject.lastIndexOf('.') + 1)), fx);
      } catch (err) {
        // Dead-lettered by the live run already.
        if (!(err instanceof ContractError)) logger.error({ err, seq: m.seq }, 'replay: processing failed');
      }
      fx.clear();
      replayed++;
      if (m.seq === floor || m.info.pending === 0) done = true;
      if (done) break;
    }
    if (got === 0) done = true;
  }
  await oc.delete().catch(() => {});
  logger.info({ replayed, ackFloor: floor }, 'state re-derived by replay');
  return { replayed, ackFloor: floor };
}
