import { subjects, type AlertEvent, type DeadLetter, type SessionSummary } from '@fieldline/contract';
import { toHeaders } from '@fieldline/runtime/nats';
import { headers as natsHeaders, type JetStreamClient, type MsgHdrs } from 'nats';

/** Where alerts and sessions go: the live subjects, or a replay's own prefix (replay.ts). */
export interface OutputSubjects {
  alert(a: AlertEvent): string;
  session(s: SessionSummary): string;
}

export const LIVE_SUBJECTS: OutputSubjects = {
  alert: (a) => subjects.alerts(a.severity, a.device),
  session: (s) => subjects.sessions(s.device),
};

/** Dedup ids from event data: a redelivered or reprocessed message re-publishes the same ids. */
export const alertMsgId = (a: AlertEvent): string => `${a.id}:${a.state}`;
export const sessionMsgId = (s: SessionSummary): string => `${s.device}:${s.sensor}:${s.start}`;

/** Who produced an output, carried as headers (the payload stays the contract message, byte for byte). */
export interface Stamp {
  partition: number;
  epoch: number;
}

/** One message to publish; `done` once JetStream stored it, so a retried flush does not send it again. */
export interface PendingOutput {
  subject: string;
  payload: string | Uint8Array;
  msgID: string;
  headers?: MsgHdrs;
  done: boolean;
}

function stamped(stamp: Stamp | undefined, seq: number): MsgHdrs | undefined {
  if (!stamp) return undefined;
  const h = natsHeaders();
  h.set('Fl-Partition', String(stamp.partition));
  h.set('Fl-Epoch', String(stamp.epoch));
  h.set('Fl-Seq', String(seq));
  return h;
}

/**
 * The messages of a batch's alerts, sessions and dead letters. `seqs` give the TELEMETRY sequence
 * each alert and session came from (`Fl-Seq`); those whose msg id is in `skip` (published by a
 * previous owner, see takeover.ts) are left out.
 */
export function pendingOutputs(
  o: { alerts: readonly AlertEvent[]; alertSeqs: readonly number[]; sessions: readonly SessionSummary[]; sessionSeqs: readonly number[]; dead: readonly DeadLetter[] },
  to: OutputSubjects,
  stamp: Stamp | undefined,
  skip: ReadonlySet<string> | undefined,
): { pending: PendingOutput[]; skipped: number } {
  const pending: PendingOutput[] = [];
  let skipped = 0;
  o.alerts.forEach((a, i) => {
    const msgID = alertMsgId(a);
    if (skip?.has(msgID)) return void skipped++;
    pending.push({ subject: to.alert(a), payload: JSON.stringify(a), msgID, headers: stamped(stamp, o.alertSeqs[i]!), done: false });
  });
  o.sessions.forEach((s, i) => {
    const msgID = sessionMsgId(s);
    if (skip?.has(msgID)) return void skipped++;
    pending.push({ subject: to.session(s), payload: JSON.stringify(s), msgID, headers: stamped(stamp, o.sessionSeqs[i]!), done: false });
  });
  for (const d of o.dead) pending.push({ subject: d.subject, payload: d.payload, msgID: d.msgID, headers: toHeaders(d.headers), done: false });
  return { pending, skipped };
}

/** Publishes what is not done yet, all at once; rejects with the first failure once every publish settled. */
export async function publishPending(js: JetStreamClient, pending: PendingOutput[], check?: () => void): Promise<void> {
  const todo = pending.filter((x) => !x.done);
  if (todo.length === 0) return;
  check?.();
  const results = await Promise.allSettled(
    todo.map(async (x) => {
      await js.publish(x.subject, x.payload, { msgID: x.msgID, ...(x.headers ? { headers: x.headers } : {}) });
      x.done = true;
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
