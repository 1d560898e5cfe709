import { STREAMS, type StreamSpec } from '@fieldline/contract';
import { isAlreadyExists, isNotFound } from '@fieldline/runtime/nats';
import type { JetStreamManager } from 'nats';

/**
 * Creates the streams the processor reads or writes when they are missing; an existing stream is
 * left as its owner configured it (the gateway owns TELEMETRY's limits, ops the others').
 */
export async function ensureStreams(jsm: JetStreamManager, specs: StreamSpec[] = [STREAMS.TELEMETRY, STREAMS.ALERTS, STREAMS.SESSIONS, STREAMS.DEADLETTER], o: { replicas?: number } = {}): Promise<void> {
  for (const spec of specs) {
    try {
      await jsm.streams.info(spec.name);
      continue;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      await jsm.streams.add({ name: spec.name, subjects: [...spec.subjects], num_replicas: o.replicas ?? 1 });
    } catch (err) {
      // Another process created it between our check and add.
      if (!isAlreadyExists(err)) throw err;
    }
  }
}
