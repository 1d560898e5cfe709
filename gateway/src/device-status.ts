import { deviceStatusEntry, parseStatusEntry, type StatusMessage } from '@fieldline/contract';
import { backoffDelay } from '@fieldline/runtime';
import { headers as natsHeaders, type KV, type KvEntry } from 'nats';
import type { GatewayMetrics } from './metrics.js';
import { isConflict, type NatsBridge } from './nats-bridge.js';

/**
 * The device status view (KV `fl_device_status`) when a device's connections overlap, on one
 * gateway or several: a device that reconnects (to this gateway or another) before its old
 * connection timed out leaves a Last Will behind that fires late, after the new connection said
 * "online". Connections are therefore numbered: each new one writes its device's key in the
 * connection bucket, and the revision of that write is its epoch, increasing across every gateway
 * on the same NATS. A status is stored with its connection's epoch, by compare-and-set on the
 * status key's revision, and only when no newer connection's status is stored; a will is dropped
 * as well when a newer connection exists at all.
 */
export class DeviceStatusWriter {
  constructor(
    private readonly bridge: NatsBridge,
    private readonly statusBucket: string,
    private readonly connectionBucket: string,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** Numbers a new connection of `device` (waits for NATS like any store). */
  async connect(device: string, gateway: string): Promise<number> {
    const ack = await this.bridge.store({ subject: `$KV.${this.connectionBucket}.${device}`, payload: Buffer.from(JSON.stringify({ gateway, at: Date.now() })) });
    return ack.seq;
  }

  /** Stores the status unless a newer connection's is stored; `superseded` then (counted). */
  async write(status: StatusMessage, source: 'status' | 'will', conn: number): Promise<'ok' | 'superseded'> {
    const device = status.device;
    for (let attempt = 0; ; attempt++) {
      const current = await get(this.bridge.statusKv, device);
      if (connOf(current) > conn || (source === 'will' && ((await get(this.bridge.connectionKv, device))?.revision ?? 0) > conn)) {
        this.metrics.statusUpdates.inc({ result: 'superseded' });
        return 'superseded';
      }
      const h = natsHeaders();
      h.set('Nats-Expected-Last-Subject-Sequence', String(current?.revision ?? 0));
      const entry = deviceStatusEntry.encode({ ...status, source, receivedAt: Date.now(), conn });
      try {
        await this.bridge.store({ subject: `$KV.${this.statusBucket}.${device}`, payload: Buffer.from(entry), headers: h });
        this.metrics.statusUpdates.inc({ result: 'ok' });
        return 'ok';
      } catch (err) {
        // Another connection's status landed between our read and write: judge again.
        if (!isConflict(err) || attempt >= 20) throw err;
      }
    }
  }
}

function connOf(e: KvEntry | null): number {
  if (!e || e.operation !== 'PUT') return 0;
  try {
    return parseStatusEntry(e.value).conn ?? 0;
  } catch {
    return 0;
  }
}

/** A KV read, retried briefly through a NATS hiccup. */
async function get(kv: KV, key: string): Promise<KvEntry | null> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await kv.get(key);
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, backoffDelay(attempt, { baseMs: 100, maxMs: 2000 })));
    }
  }
}
