import { batchId, bundleBytes, bundleId, encodeBundle, MAX_BUNDLE_ENVELOPES, type Envelope } from '@fieldline/contract';
import type { PubAck } from 'nats';
import { PayloadTooLargeError } from './errors.js';
import type { StoreJob } from './nats-bridge.js';

/** What a bundle needs of an envelope: its batch id's parts (not its readings, see `add`). */
type EnvelopeId = Pick<Envelope, 'device' | 'epoch' | 'seq'>;

interface Item {
  env: EnvelopeId;
  payload: Uint8Array;
  resolve: (ack: PubAck) => void;
  reject: (err: unknown) => void;
}

export interface BundlerOptions {
  /** Stores one TELEMETRY message: resolves once JetStream has acknowledged it (nats-bridge.ts). */
  store: (job: StoreJob) => Promise<PubAck>;
  /**
   * Largest bundle, bytes; 0 stores every envelope alone. Read at every cut: the limit follows the
   * connected server's `max_payload` (NatsBridge.bundleBytes), which a reconnect may lower.
   */
  maxBytes: () => number;
  /** A bundle of `envelopes` (two or more) was handed to the store. */
  onBundle?: (envelopes: number) => void;
}

/**
 * Stores the valid envelopes a device sent within one turn of the event loop as one JetStream
 * message, a bundle (contract/src/bundle.ts). aedes hands the gateway every PUBLISH of a socket
 * read in one go, so a device with many envelopes in flight has several per turn: bundled, they
 * cost one JetStream publish, one stored message and one delivery to the processor instead of one
 * each (bench: 1-reading envelopes were bound by that per-message cost, issue 16). Nothing waits
 * for a bundle to fill: it is cut when the turn ends (`setImmediate`), so a lone envelope goes as
 * soon as before, alone and unchanged. Each envelope's PUBACK still waits for its own bundle's
 * PubAck, and a device's bundles are stored in the order its envelopes came.
 */
export class Bundler {
  /** Envelopes of this turn, by subject (one subject per device). */
  private queues = new Map<string, Item[]>();
  private scheduled = false;

  constructor(private readonly o: BundlerOptions) {}

  /**
   * Stores `payload` (the valid envelope `env`) on `subject`; resolves with the PubAck of the
   * message that holds it. Only the envelope's id is kept until then: its parsed readings (~10 KB
   * of objects for 100 readings) would otherwise live until the PubAck, and a young-generation GC
   * copies every envelope in flight.
   */
  add(subject: string, env: EnvelopeId, payload: Uint8Array): Promise<PubAck> {
    const id: EnvelopeId = { device: env.device, epoch: env.epoch, seq: env.seq };
    if (this.o.maxBytes() === 0) return this.store(subject, { env: id, payload });
    return new Promise<PubAck>((resolve, reject) => {
      let q = this.queues.get(subject);
      if (!q) this.queues.set(subject, (q = []));
      q.push({ env: id, payload, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Cuts this turn's envelopes into bundles within the bounds, in arrival order, and stores them. */
  private flush(): void {
    this.scheduled = false;
    const queues = this.queues;
    this.queues = new Map();
    const maxBytes = this.o.maxBytes();
    for (const [subject, items] of queues) {
      let from = 0;
      while (from < items.length) {
        let to = from + 1;
        let bytes = items[from]!.payload.byteLength;
        while (to < items.length && to - from < MAX_BUNDLE_ENVELOPES && bundleBytes(bytes + items[to]!.payload.byteLength, to - from + 1) <= maxBytes) {
          bytes += items[to]!.payload.byteLength;
          to++;
        }
        this.send(subject, items.slice(from, to));
        from = to;
      }
    }
  }

  /** An envelope stored alone: its own bytes under its own batch id, as without bundles. */
  private store(subject: string, i: Pick<Item, 'env' | 'payload'>): Promise<PubAck> {
    return this.o.store({ subject, payload: i.payload, msgID: batchId(i.env) });
  }

  private send(subject: string, group: Item[]): void {
    if (group.length === 1) {
      const only = group[0]!;
      this.store(subject, only).then(only.resolve, only.reject);
      return;
    }
    const job = { subject, payload: encodeBundle(group.map((i) => i.payload)), msgID: bundleId(group[0]!.env, group[group.length - 1]!.env), envelopes: group.length };
    this.o.onBundle?.(group.length);
    this.o.store(job).then(
      (ack) => {
        for (const i of group) i.resolve(ack);
      },
      (err: unknown) => {
        // Cut for a server that took bigger messages (the gateway reconnected to a smaller one):
        // each envelope alone, in order. It was never sent, and had it been stored under another
        // cut before, the processor drops the repeat by batch id (contract bundle.ts).
        if (err instanceof PayloadTooLargeError) for (const i of group) this.store(subject, i).then(i.resolve, i.reject);
        else for (const i of group) i.reject(err);
      },
    );
  }
}
