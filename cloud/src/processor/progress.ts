import { STREAMS, subjects } from '@fieldline/contract';
import { isNotFound } from '@fieldline/runtime/nats';
import type { NatsConnection } from 'nats';
import type { CommitValue } from './checkpoints.js';

export interface PartitionProgress {
  partition: number;
  /** Last TELEMETRY sequence of the partition (0: none). */
  last: number;
  /** Sequence up to which its effects are committed (0: none). */
  committed: number;
  epoch: number;
  owner: string | null;
  /** The last owner stopped cleanly after its last commit. */
  closed: boolean;
}

/**
 * Where each partition of a processor group stands, from NATS alone (the commit records and the
 * stream): for ops, tests and benches. `committed >= last` means every message stored so far has
 * its effects durable.
 */
export async function partitionProgress(nc: NatsConnection, o: { partitions: number; group?: string; bucket?: string }): Promise<PartitionProgress[]> {
  const jsm = await nc.jetstreamManager();
  const kv = await nc
    .jetstream()
    .views.kv(o.bucket ?? 'fl_processor', { bindOnly: true })
    .catch(() => null);
  const out: PartitionProgress[] = [];
  for (let p = 0; p < o.partitions; p++) {
    let last = 0;
    try {
      last = (await jsm.streams.getMessage(STREAMS.TELEMETRY.name, { last_by_subj: subjects.telemetryPartition(p) })).seq;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const e = await kv?.get(`${o.group ?? 'processor'}.commit.${p}`);
    const c = e && e.operation === 'PUT' ? e.json<CommitValue>() : null;
    out.push({ partition: p, last, committed: c?.seq ?? 0, epoch: c?.epoch ?? 0, owner: c?.owner ?? null, closed: c?.closed ?? false });
  }
  return out;
}

/** True when every partition's stored messages are committed. */
export async function drained(nc: NatsConnection, o: { partitions: number; group?: string; bucket?: string }): Promise<boolean> {
  return (await partitionProgress(nc, o)).every((p) => p.committed >= p.last);
}
