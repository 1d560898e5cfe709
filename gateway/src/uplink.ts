import { createHash } from 'node:crypto';
import {
  batchId,
  commandsTopic,
  ContractError,
  DEADLETTER_HEADERS,
  isValidId,
  parseEnvelope,
  partitionOf,
  subjects,
  type RejectionNotice,
  type RejectReason,
  type StatusMessage,
} from '@fieldline/contract';
import type { Aedes } from 'aedes';
import { headers } from 'nats';
import type { Logger } from 'pino';
import type { GatewayMetrics } from './metrics.js';
import type { NatsBridge } from './nats-bridge.js';

const MAX_HEADER_CHARS = 512;

/**
 * Error texts can echo device bytes (JSON.parse quotes its input); control characters would end
 * a NATS header line, so they are escaped, and the length is capped.
 */
function printable(s: string): string {
  const escaped = s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.slice(0, MAX_HEADER_CHARS);
}

/** The batch a rejected payload named, when it can be read at all (for the device's notice). */
function guessBatch(device: string, payload: Buffer): string | null {
  try {
    const o = JSON.parse(payload.toString('utf8')) as { epoch?: unknown; seq?: unknown };
    if (typeof o.epoch === 'string' && typeof o.seq === 'number') return `${device}:${o.epoch.slice(0, 64)}:${o.seq}`;
  } catch {
    // not JSON: the notice says batch null
  }
  return null;
}

/** Validates a status message (retained on `fl/v1/{device}/status`, also the Last Will). */
export function parseStatus(payload: Buffer, device: string): StatusMessage {
  let o: unknown;
  try {
    o = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new ContractError('bad_json', 'payload', `is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ContractError('bad_schema', 'status', 'must be a JSON object');
  const s = o as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!['v', 'device', 'state', 'ts'].includes(k)) throw new ContractError('bad_schema', k, 'unknown key');
  if (s.v !== 1) throw new ContractError('bad_schema', 'v', `must be 1, got ${JSON.stringify(s.v)}`);
  if (s.device !== device) throw new ContractError('device_mismatch', 'device', `status names "${String(s.device)}" but was sent by "${device}"`);
  if (s.state !== 'online' && s.state !== 'offline') throw new ContractError('bad_schema', 'state', 'must be "online" or "offline"');
  if (s.ts !== undefined && (typeof s.ts !== 'number' || !Number.isFinite(s.ts))) throw new ContractError('bad_schema', 'ts', 'must be a number (epoch ms)');
  return s as unknown as StatusMessage;
}

/** Turns device PUBLISHes into JetStream messages; each method resolves once it is safe to PUBACK. */
export class Uplink {
  constructor(
    private readonly broker: Aedes,
    private readonly bridge: NatsBridge,
    private readonly metrics: GatewayMetrics,
    private readonly partitions: number,
    private readonly statusBucket: string,
    private readonly log: Logger,
  ) {}

  /** Valid batch -> TELEMETRY (idempotent by batch id); invalid -> DEADLETTER + notice. */
  async telemetry(device: string, payload: Buffer): Promise<void> {
    let env;
    try {
      env = parseEnvelope(payload, device);
    } catch (err) {
      if (!(err instanceof ContractError)) throw err;
      await this.deadLetter(device, payload, err.reason, err.message, 'telemetry', guessBatch(device, payload));
      return;
    }
    const ack = await this.bridge.store({
      subject: subjects.telemetry(partitionOf(device, this.partitions), device),
      payload,
      msgID: batchId(env),
    });
    if (ack.duplicate) this.metrics.duplicates.inc();
    else this.metrics.readingsIn.inc(env.readings.length);
  }

  /** Valid status -> the device status KV bucket; invalid -> DEADLETTER + notice. */
  async status(device: string, payload: Buffer, source: 'status' | 'will'): Promise<boolean> {
    let status: StatusMessage;
    try {
      status = parseStatus(payload, device);
    } catch (err) {
      if (!(err instanceof ContractError)) throw err;
      await this.deadLetter(device, payload, err.reason, err.message, source, null);
      return false;
    }
    const view = { ...status, source, receivedAt: Date.now() };
    try {
      await this.bridge.store({ subject: `$KV.${this.statusBucket}.${device}`, payload: Buffer.from(JSON.stringify(view)) });
      this.metrics.statusUpdates.inc({ result: 'ok' });
    } catch (err) {
      this.metrics.statusUpdates.inc({ result: 'failed' });
      throw err;
    }
    return true;
  }

  /**
   * Files an invalid payload, byte for byte, under `fl.deadletter.{reason}.{device}` so nothing is
   * lost; it is then acknowledged so the device does not resend a batch that can never pass,
   * and the device is told on `fl/v1/{device}/commands/rejected`.
   */
  async deadLetter(device: string, payload: Buffer, reason: RejectReason, rawError: string, source: string, batch: string | null): Promise<void> {
    const error = printable(rawError);
    this.metrics.rejected.inc({ reason });
    const h = headers();
    h.set(DEADLETTER_HEADERS.reason, reason);
    h.set(DEADLETTER_HEADERS.error, error);
    h.set(DEADLETTER_HEADERS.device, device);
    h.set(DEADLETTER_HEADERS.source, `mqtt:${source}`);
    // Same bytes from the same device = same dead letter: a resend after a crash is a duplicate.
    const digest = createHash('sha256').update(payload).digest('hex').slice(0, 32);
    await this.bridge.store({ subject: subjects.deadletter(reason, device), payload, msgID: `dl:${device}:${digest}`, headers: h });
    this.metrics.deadLettered.inc({ reason });
    this.log.info({ device, reason, error, batch }, 'payload rejected and dead-lettered');
    if (source === 'will' || !isValidId(device)) return;
    const notice: RejectionNotice = { v: 1, name: 'rejected', args: { batch, reason, error } };
    await new Promise<void>((resolve) => {
      this.broker.publish(
        { cmd: 'publish', topic: commandsTopic(device, 'rejected'), payload: Buffer.from(JSON.stringify(notice)), qos: 1, retain: false, dup: false },
        () => resolve(),
      );
    });
  }
}
