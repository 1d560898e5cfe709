import {
  batchId,
  commandsTopic,
  ContractError,
  deadLetter,
  guessBatchId,
  isValidId,
  parseEnvelope,
  parseStatus,
  partitionOf,
  rejectionNotice,
  subjects,
  type RejectReason,
  type StatusMessage,
} from '@fieldline/contract';
import { toHeaders } from '@fieldline/runtime/nats';
import type { Aedes } from 'aedes';
import type { Logger } from 'pino';
import { Bundler } from './bundler.js';
import type { DeviceStatusWriter } from './device-status.js';
import type { GatewayMetrics } from './metrics.js';
import type { NatsBridge } from './nats-bridge.js';
import type { SensorLimit } from './sensor-limit.js';

/** Turns device PUBLISHes into JetStream messages; each method resolves once it is safe to PUBACK. */
export class Uplink {
  private readonly bundler: Bundler;

  constructor(
    private readonly broker: Aedes,
    private readonly bridge: NatsBridge,
    private readonly metrics: GatewayMetrics,
    private readonly partitions: number,
    private readonly statuses: DeviceStatusWriter,
    private readonly log: Logger,
    private readonly sensors: SensorLimit,
  ) {
    // Bundles up to `nats.bundleBytes` (0: every envelope alone), within the connected server's max_payload.
    this.bundler = new Bundler({ store: (job) => bridge.store(job), maxBytes: () => bridge.bundleBytes, onBundle: (n) => metrics.bundledEnvelopes.observe(n) });
  }

  /** Valid batch -> TELEMETRY, bundled with the device's others of this turn (idempotent by batch id); invalid -> DEADLETTER + notice. */
  async telemetry(device: string, payload: Buffer): Promise<void> {
    let env;
    try {
      env = parseEnvelope(payload, device);
    } catch (err) {
      if (!(err instanceof ContractError)) throw err;
      await this.deadLetter(device, payload, err.reason, err.message, 'telemetry', guessBatchId(device, payload));
      return;
    }
    const tooMany = this.sensors.admit(device, env.readings);
    if (tooMany) {
      await this.deadLetter(device, payload, 'sensor_limit', tooMany, 'telemetry', batchId(env));
      return;
    }
    // Nothing of the parsed envelope is held across the wait for its PubAck but these (bundler.ts `add`).
    const { health } = env;
    const readings = env.readings.length;
    const ack = await this.bundler.add(subjects.telemetry(partitionOf(device, this.partitions), device), env, payload);
    this.metrics.edge.heartbeat(device, health);
    if (ack.duplicate) this.metrics.duplicates.inc();
    else this.metrics.readingsIn.inc(readings);
  }

  /**
   * Valid status -> the device status KV bucket, unless a newer connection's status is there
   * (device-status.ts); invalid -> DEADLETTER + notice. `conn`: the connection's epoch.
   */
  async status(device: string, payload: Buffer, source: 'status' | 'will', conn: Promise<number>): Promise<boolean> {
    let status: StatusMessage;
    try {
      status = parseStatus(payload, device);
    } catch (err) {
      if (!(err instanceof ContractError)) throw err;
      await this.deadLetter(device, payload, err.reason, err.message, source, null);
      return false;
    }
    try {
      await this.statuses.write(status, source, await conn);
    } catch (err) {
      this.metrics.statusUpdates.inc({ result: 'failed' });
      throw err;
    }
    return true;
  }

  /**
   * Files an invalid payload, byte for byte, under `fl.deadletter.{reason}.{device}` (the
   * contract's dead-letter builder: same bytes from the same device = same msgID, so a resend
   * after a crash is a duplicate) so nothing is lost; it is then acknowledged so the device does not resend a batch that can never pass,
   * and the device is told on `fl/v1/{device}/commands/rejected`.
   */
  async deadLetter(device: string, payload: Buffer, reason: RejectReason, rawError: string, source: string, batch: string | null): Promise<void> {
    this.metrics.rejected.inc({ reason });
    const dl = deadLetter({ reason, device, source: `mqtt:${source}`, error: rawError, payload });
    await this.bridge.store({ subject: dl.subject, payload: dl.payload, msgID: dl.msgID, headers: toHeaders(dl.headers) });
    this.metrics.deadLettered.inc({ reason });
    const error = dl.headers['Fl-Error'];
    this.log.info({ device, reason, error, batch }, 'payload rejected and dead-lettered');
    if (source === 'will' || !isValidId(device)) return;
    const notice = rejectionNotice.encode({ v: 1, name: 'rejected', args: { batch, reason, error } });
    await new Promise<void>((resolve) => {
      this.broker.publish(
        { cmd: 'publish', topic: commandsTopic(device, 'rejected'), payload: Buffer.from(notice), qos: 1, retain: false, dup: false },
        () => resolve(),
      );
    });
  }
}
