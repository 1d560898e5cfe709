import { join } from 'node:path';
import type { Logger } from 'pino';
import { MAX_ENVELOPE_BYTES, parseBatchId, type ClockState, type Envelope, type Reading } from '@fieldline/contract';
import { Timestamper, type ClockSource } from './clock.js';
import type { EdgeConfig, PortConfig } from './config.js';
import { newPortCounters, type PortCounters } from './counters.js';
import type { Frame } from './drivers/index.js';
import { openPort, type OpenPort } from './ports.js';
import { DiskFullError, DiskQueue, readingLine, type BatchInfo } from './queue.js';
import { EdgeStateError } from './errors.js';
import { mapFrame } from './readings.js';
import { badFrameReporter } from './serial-port.js';
import { EdgeState } from './state.js';
import { Uplink } from './uplink.js';

// Envelope overhead (device, epoch, seq, clock) stays well under this; readings fill the rest.
const MAX_BATCH_BYTES = MAX_ENVELOPE_BYTES - 4096;
// Unmapped channel names logged per port; a board sending ever new names is only counted past this.
const MAX_UNMAPPED_NAMES = 32;

export interface EdgeHealth {
  device: string;
  epoch: string;
  connected: boolean;
  clock: ClockState;
  queue: { depth: number; bytes: number; batches: number; dropped_overflow: number; dropped_overflow_in_doubt: number; dropped_disk_full: number; dropped_rejected: number; corrupt_records: number; disk_error?: string };
  readings_in: number;
  readings_acked: number;
  readings_held: number;
  uplink: Uplink['counters'];
  ports: Record<string, PortCounters>;
  uptime_s: number;
}

/** The running agent: serial ports in, disk queue, MQTT out. */
export class Agent {
  readonly state: EdgeState;
  readonly queue: DiskQueue;
  readonly uplink: Uplink;
  private readonly stamps = new Timestamper();
  private readonly ports: OpenPort[] = [];
  readonly portCounters: Record<string, PortCounters> = {};
  private readonly timers: NodeJS.Timeout[] = [];
  private delayTimer: NodeJS.Timeout | undefined;
  private wasSynced: boolean;
  private readingsIn = 0;
  private readingsAcked = 0;
  private readonly started: number;
  private readonly unmappedSeen = new Map<string, Set<string>>();

  constructor(
    private readonly cfg: EdgeConfig,
    private readonly clock: ClockSource,
    private readonly log: Logger,
  ) {
    this.started = clock.mono();
    this.state = EdgeState.open(cfg.stateDir);
    this.queue = new DiskQueue({ dir: join(cfg.stateDir, 'queue'), ...cfg.queue });
    this.state.atLeast(this.queue.highestSeq);
    // Starts as unsynced so that the first check releases readings held by a previous run.
    this.wasSynced = false;
    // A batch left open by a crash is closed now, so it is sent (or corrected) like any other.
    this.closeBatch();
    this.uplink = new Uplink(cfg, log.child({ component: 'mqtt' }), {
      connected: () => {
        this.closeBatch();
        this.pump();
      },
      acked: (seq) => this.acked(seq),
      rejected: (batch, reason, error) => this.rejected(batch, reason, error),
    }, () => clock.now());
    for (const p of cfg.ports) this.startPort(p);
    this.timers.push(setInterval(() => this.checkClock(), Math.min(cfg.clock.checkMs, 1000)));
    if (cfg.heartbeat.intervalMs > 0) this.timers.push(setInterval(() => this.heartbeat(), cfg.heartbeat.intervalMs));
    this.checkClock();
  }

  private startPort(p: PortConfig): void {
    const counters = newPortCounters();
    this.portCounters[p.id] = counters;
    const log = this.log.child({ component: 'port', port: p.id, driver: p.driver });
    const bad = badFrameReporter(counters, log, this.cfg.log.badFramesPerMinute);
    this.ports.push(openPort(p, counters, log, { frame: (f) => this.ingest(p, counters, log, f), bad }));
  }

  /** Event time is taken now, when the frame was read (or from the board); then it is queued. */
  private ingest(p: PortConfig, counters: PortCounters, log: Logger, frame: Frame): void {
    const synced = this.clock.synced();
    if (synced !== this.wasSynced) this.checkClock();
    const mono = this.clock.mono();
    const m = mapFrame(p, frame, { wall: this.clock.now(), synced, unsynced: this.cfg.clock.unsynced }, this.stamps);
    if (m.badValues.length) counters.bad_frames.bad_value = (counters.bad_frames.bad_value ?? 0) + m.badValues.length;
    if (m.unmapped.length) {
      counters.unmapped_channels += m.unmapped.length;
      this.reportUnmapped(p, log, m.unmapped);
    }
    if (log.isLevelEnabled('debug')) log.debug({ readings: m.readings, held: m.held || undefined, unmapped: m.unmapped.length ? m.unmapped : undefined }, 'frame parsed');
    const lines = m.readings.map((r) => readingLine(r, m.held ? { mono, boot: this.clock.bootId } : undefined));
    if (this.enqueue(lines, m.held ? this.clock.bootId : undefined)) {
      this.readingsIn += lines.length;
      if (this.diskTroubleSince) this.reportDiskTrouble();
    } else if (this.queue.diskError !== undefined) this.reportDiskTrouble();
  }

  private diskTroubleSince = 0;

  /** A full disk: said once per episode (and in every heartbeat: dropped_disk_full), never a crash. */
  private reportDiskTrouble(): void {
    const error = this.queue.diskError;
    if (error === undefined) {
      if (this.diskTroubleSince) this.log.info({ dropped_disk_full: this.queue.counters.dropped_disk_full }, 'disk writable again; queueing readings');
      this.diskTroubleSince = 0;
      return;
    }
    if (this.diskTroubleSince) return;
    this.diskTroubleSince = this.clock.mono();
    this.log.error({ error, stateDir: this.cfg.stateDir }, 'disk full: new readings are dropped and counted (dropped_disk_full) until there is room; queued ones are still sent');
  }

  /** The first time a port sends a channel its `channels` do not map, say so once (names are bounded). */
  private reportUnmapped(p: PortConfig, log: Logger, unmapped: Array<[string, number]>): void {
    let seen = this.unmappedSeen.get(p.id);
    if (!seen) this.unmappedSeen.set(p.id, (seen = new Set()));
    for (const [channel, raw] of unmapped) {
      if (seen.has(channel) || seen.size >= MAX_UNMAPPED_NAMES) continue;
      seen.add(channel);
      log.warn({ channel, raw }, `channel "${channel}" is not mapped under this port's channels: counted (unmapped_channels), not sent`);
    }
  }

  /** Appends to the open batch; false when the queue is full (drop-newest; counted by the queue). */
  private enqueue(lines: string[], heldBoot?: string): boolean {
    if (lines.length === 0) return true;
    const open = this.queue.openBatch;
    if (open && (open.heldBoot !== undefined) !== (heldBoot !== undefined)) this.closeBatch();
    if (!this.queue.append(lines, heldBoot)) return false;
    const now = this.queue.openBatch!;
    if (now.n >= this.cfg.batching.maxReadings || now.bytes >= MAX_BATCH_BYTES) {
      this.closeBatch();
      this.pump();
    } else if (!this.delayTimer && this.uplink.connected && heldBoot === undefined) {
      // Batches close on delay only while connected; offline they fill up, which drains faster.
      this.delayTimer = setTimeout(() => {
        this.delayTimer = undefined;
        this.closeBatch();
        this.pump();
      }, this.cfg.batching.maxDelayMs);
    }
    return true;
  }

  private closeBatch(): BatchInfo | undefined {
    clearTimeout(this.delayTimer);
    this.delayTimer = undefined;
    if (!this.queue.openBatch) return undefined;
    try {
      return this.queue.close(this.state.nextSeq(), { synced: this.clock.synced(), now: this.clock.now() });
    } catch (err) {
      // The marker (or the seq reservation) could not be written: the batch stays open and is
      // closed at the next attempt, once acks have freed room.
      if (!(err instanceof DiskFullError || err instanceof EdgeStateError)) throw err;
      this.reportDiskTrouble();
      return undefined;
    }
  }

  /** Sends queued batches, oldest first, up to the in-flight window. */
  private pump(): void {
    if (!this.uplink.connected) return;
    for (const info of this.queue.pending()) {
      if (this.uplink.inflightCount >= this.cfg.mqtt.inflight) return;
      if (info.heldBoot !== undefined || this.uplink.isInflight(info.seq)) continue;
      let payload: Buffer;
      try {
        payload = this.payload(info);
      } catch (err) {
        // A damaged segment must not stall the queue forever: count it and move on.
        this.log.error({ err, seq: info.seq }, 'queued batch unreadable; dropped');
        this.queue.remove(info.seq, 'corrupt');
        continue;
      }
      this.queue.markSent(info.seq);
      this.uplink.sendBatch(info.seq, payload);
    }
  }

  private payload(info: BatchInfo): Buffer {
    const head = JSON.stringify({ v: 1, device: this.cfg.device, epoch: this.state.epoch, seq: info.seq, clock: info.clock });
    // Readings are stored as their wire JSON, so a batch is spliced, not re-encoded. As bytes (the
    // UTF-8 the client would write anyway): a batch waits in the client until its PUBACK, and a
    // string of ~30 kB each would survive young-generation GCs and be promoted, where a Buffer's
    // bytes live outside the JS heap. Measured on a 1,000,000-reading drain (trace-gc): 375
    // scavenges instead of 437, ~30 % less time in them, and a JS heap of ~9 MB instead of ~17 MB
    // at each full GC (whose count is unchanged).
    return Buffer.from(`${head.slice(0, -1)},"readings":[${this.queue.read(info).join(',')}]}`);
  }

  private acked(seq: number): void {
    const info = this.queue.get(seq);
    if (info && this.queue.remove(seq)) this.readingsAcked += info.n;
    // Room again: an open batch a full disk kept open can close now.
    if (this.queue.openBatch && this.diskTroubleSince && !this.delayTimer) this.closeBatch();
    this.pump();
  }

  private rejected(batch: string, reason: string, error: string): void {
    const id = parseBatchId(batch);
    if (!id || id.device !== this.cfg.device || id.epoch !== this.state.epoch) {
      this.log.warn({ batch: batch.slice(0, 200) }, 'rejection notice for a batch that is not ours ignored');
      return;
    }
    const removed = this.queue.remove(id.seq, 'rejected');
    this.log.error({ batch, reason, error: error.slice(0, 200), removed }, 'gateway rejected a batch; dropped from the queue');
    this.pump();
  }

  /** On the unsynced -> synced transition, held readings get corrected times and are released. */
  private checkClock(): void {
    const synced = this.clock.synced();
    const was = this.wasSynced;
    this.wasSynced = synced;
    if (!synced || was) return;
    this.log.info('clock synced');
    if (this.queue.openBatch?.heldBoot !== undefined) this.closeBatch();
    const held = [...this.queue.pending()].filter((b) => b.heldBoot !== undefined);
    for (const info of held) {
      const sameBoot = info.heldBoot === this.clock.bootId;
      const lines = this.queue.read(info).map((line) => {
        const { mono, boot: _boot, ...r } = JSON.parse(line) as Reading & { mono: number; boot: string };
        // Same boot: the monotonic clock says how long ago it was read. Else the time stays uncertain.
        const ts = sameBoot ? this.clock.now() - (this.clock.mono() - mono) : r.ts;
        const out: Reading = { ...r, ts: this.stamps.stamp(r.sensor, ts) };
        if (sameBoot) delete out.quality;
        return readingLine(out);
      });
      for (let i = 0; i < lines.length; i += this.cfg.batching.maxReadings) {
        this.enqueue(lines.slice(i, i + this.cfg.batching.maxReadings));
      }
      this.closeBatch();
      this.queue.remove(info.seq, 'corrected');
    }
    this.pump();
  }

  private heartbeat(): void {
    if (!this.uplink.connected) return;
    let seq: number;
    try {
      seq = this.state.nextSeq();
    } catch (err) {
      if (!(err instanceof EdgeStateError)) throw err;
      this.reportDiskTrouble();
      return;
    }
    const env: Envelope = {
      v: 1,
      device: this.cfg.device,
      epoch: this.state.epoch,
      seq,
      clock: { synced: this.clock.synced(), now: this.clock.now() },
      readings: [],
      health: this.healthFigures(),
    };
    this.uplink.sendHeartbeat(JSON.stringify(env));
  }

  /** Flat numeric figures for `envelope.health` (contract: keys [a-z][a-z0-9_]*, numbers only). */
  healthFigures(): Record<string, number> {
    const h = this.health();
    const mem = process.memoryUsage();
    const bad: Record<string, number> = {};
    let badTotal = 0;
    for (const pc of Object.values(h.ports)) {
      for (const [reason, n] of Object.entries(pc.bad_frames)) {
        bad[`bad_frames_${reason}`] = (bad[`bad_frames_${reason}`] ?? 0) + n;
        badTotal += n;
      }
    }
    const ports = Object.values(h.ports);
    return {
      queue_depth: h.queue.depth,
      queue_bytes: h.queue.bytes,
      // The queue's bound, so the cloud can alert on how full it is (deploy/prometheus: EdgeQueueFilling).
      queue_max_bytes: this.cfg.queue.maxBytes,
      dropped_overflow: h.queue.dropped_overflow,
      dropped_overflow_in_doubt: h.queue.dropped_overflow_in_doubt,
      dropped_disk_full: h.queue.dropped_disk_full,
      disk_full: h.queue.disk_error === undefined ? 0 : 1,
      dropped_rejected: h.queue.dropped_rejected,
      bad_frames: badTotal,
      ...bad,
      unmapped_channels: ports.reduce((a, p) => a + p.unmapped_channels, 0),
      ports_open: ports.filter((p) => p.open).length,
      port_reopens: ports.reduce((a, p) => a + p.reopens, 0),
      readings_in: h.readings_in,
      readings_held: h.readings_held,
      clock_synced: h.clock.synced ? 1 : 0,
      uptime_s: h.uptime_s,
      rss_mb: Math.round((mem.rss / 1048576) * 10) / 10,
      heap_mb: Math.round((mem.heapUsed / 1048576) * 10) / 10,
    };
  }

  health(): EdgeHealth {
    let held = this.queue.openBatch?.heldBoot !== undefined ? this.queue.openBatch.n : 0;
    for (const b of this.queue.pending()) if (b.heldBoot !== undefined) held += b.n;
    return {
      device: this.cfg.device,
      epoch: this.state.epoch,
      connected: this.uplink.connected,
      clock: { synced: this.clock.synced(), now: this.clock.now() },
      queue: { depth: this.queue.depth, bytes: this.queue.bytes, batches: [...this.queue.pending()].length, ...this.queue.counters, ...(this.queue.diskError !== undefined ? { disk_error: this.queue.diskError } : {}) },
      readings_in: this.readingsIn,
      readings_acked: this.readingsAcked,
      readings_held: held,
      uplink: { ...this.uplink.counters },
      ports: structuredClone(this.portCounters),
      uptime_s: Math.round((this.clock.mono() - this.started) / 1000),
    };
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.delayTimer);
    await Promise.all(this.ports.map((p) => p.close()));
    // Readings still in the open batch stay on disk; the next start closes and sends them.
    await this.uplink.close();
    this.queue.shutdown();
  }
}
