import { AckPolicy, DeliverPolicy, nanos, nuid, type JetStreamClient, type JetStreamManager, type JsMsg } from 'nats';

/** Where a read starts: a stream sequence, or the first message stored at or after a time. */
export type ReadFrom = { seq: number } | { time: Date };

/**
 * Reads a stream in order from `from` until nothing is left (as of each message's `pending`), or
 * until the caller stops iterating. A plain pull consumer without acks (memory, one replica,
 * removed afterwards): nats.js 2.29's ordered consumer drops messages between two `fetch`es when
 * they are read slowly, so it is used only with `consume` (the partition workers).
 */
export async function* readStream(jsm: JetStreamManager, js: JetStreamClient, stream: string, o: { filter?: string; from: ReadFrom; headersOnly?: boolean; batch?: number }): AsyncGenerator<JsMsg> {
  const name = `fl-read-${nuid.next()}`;
  const info = await jsm.consumers.add(stream, {
    name,
    ack_policy: AckPolicy.None,
    ...(o.filter ? { filter_subject: o.filter } : {}),
    ...('seq' in o.from ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, o.from.seq) } : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: o.from.time.toISOString() }),
    ...(o.headersOnly ? { headers_only: true } : {}),
    mem_storage: true,
    num_replicas: 1,
    inactive_threshold: nanos(60_000),
  });
  try {
    if (info.num_pending === 0) return;
    const c = await js.consumers.get(stream, name);
    for (;;) {
      let got = 0;
      for await (const m of await c.fetch({ max_messages: o.batch ?? 1000, expires: 5000 })) {
        got++;
        yield m;
        if (m.info.pending === 0) return;
      }
      if (got === 0) return;
    }
  } finally {
    await jsm.consumers.delete(stream, name).catch(() => undefined);
  }
}
