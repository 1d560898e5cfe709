import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { AlertState } from '../alerts/alert-state.js';
import { SnapshotError, StateReader, StateWriter } from '../detectors/state-codec.js';
import { Session } from '../windows/session.js';
import { DeviceState, PartitionPipeline, SensorState, type PipelineConfig } from './pipeline.js';

/**
 * A partition's whole pipeline state as bytes (checkpoints, docs/architecture.md "Partitions,
 * leases and checkpoints"): per device its event time, interval, silence and batch-id window;
 * per sensor its open sessions, newest reading, gap, interval, silence mark, and each detector's
 * state (the detector's own `snapshot`) with its alert state, and its open rollup windows (one
 * key per tier: `WindowedOutputs.snapshot`, `windows/window-state.ts`). A restored pipeline computes bit for
 * bit what the original would have on the same messages.
 *
 * Not stored, because no output depends on it across envelopes: `mark` and each sensor's
 * `unitMark`/`lastUnit` (they decide only "first reading of the sensor in this envelope", and a
 * new envelope always has a new mark), and the reading series (rebuilt from the ids).
 *
 * Layout: "FLPS", format version, the fingerprint of the config the state was built under, the
 * partition, P, the stream sequence it covers, the state, then a CRC-32 of everything before it.
 * A snapshot whose format, config, partition or CRC does not match is refused with a
 * SnapshotError, which the takeover turns into a replay and a warning.
 */
export const SNAPSHOT_FORMAT = 3;
const MAGIC = [0x46, 0x4c, 0x50, 0x53]; // "FLPS"

export interface SnapshotMeta {
  partition: number;
  partitions: number;
  /** The TELEMETRY stream sequence of the last message the state includes. */
  seq: number;
}

/** Which config a state belongs to: windows, detectors and alert policy decide what it means. */
export function configFingerprint(cfg: PipelineConfig): string {
  return createHash('sha256').update(JSON.stringify({ windows: cfg.windows, detectors: cfg.detectors, alerts: cfg.alerts, clock: cfg.clock, rollups: cfg.tiers?.rollups.map((t) => t.every) ?? [] })).digest('hex').slice(0, 32);
}

/** Each pipeline's last snapshot size: the next one starts with room for it (no doubling copies of megabytes). */
const lastBytes = new WeakMap<PartitionPipeline, number>();

/**
 * How long a concurrent snapshot (`SnapshotCut`) writes before it lets the event loop run, ms.
 * The partition is not paused meanwhile, so this only bounds the stall of every other partition's
 * messages, acks and alerts (a bench partition's 3.7 MB is ~5 ms warm in one piece and 25–240 ms
 * cold or on a loaded machine).
 */
export const SNAPSHOT_SLICE_MS = 5;

/** The snapshot in one piece: the partition's state right now. */
export function snapshotPipeline(p: PartitionPipeline, meta: SnapshotMeta, fingerprint = configFingerprint(p.cfg)): Uint8Array {
  const w = new StateWriter(Math.max(64 * 1024, Math.ceil((lastBytes.get(p) ?? 0) * 1.125)));
  writeHeader(w, p, meta, fingerprint);
  for (const d of p.devices.values()) writeDevice(w, p, d);
  w.u32(0); // room for the CRC
  return sealed(p, w.written());
}

/**
 * The snapshot of the state at the moment it is constructed, written while the partition goes on
 * processing: the same bytes as `snapshotPipeline` called at that moment. The header and the list
 * of devices are taken at once; the devices are written by `step` a slice at a time, and a device
 * the pipeline is about to change is written first (copy on write, through the pipeline's
 * `beforeChange` hook; the silence check calls it for each device it marks silent). Devices that
 * appear after the cut are not in it. So nothing waits for a checkpoint but the event loop's
 * slices (issue 16: a partition paused for a sliced cut held its alerts for whole turns of the
 * loop, and a cut in one piece stalled every partition).
 */
export class SnapshotCut {
  private readonly order: DeviceState[];
  /** Index in `order` of each device not written yet. */
  private readonly unwritten = new Map<DeviceState, number>();
  /** Where each device's bytes are in `w` (start, end), in the order they were written. */
  private readonly spans: Float64Array;
  /** The header, then the devices as they were written. */
  private readonly w: StateWriter;
  private readonly headBytes: number;
  private next = 0;
  /** A device was written ahead of its turn (copy on write): the bytes need putting in order. */
  private early = false;
  /** Assembly, once every device is written: the bytes in cut order, and how far they are copied and CRC'd. */
  private out: Uint8Array | undefined;
  private copied = 0;
  private crcAt = 0;
  private crc = 0;
  private done: Uint8Array | undefined;

  constructor(private readonly p: PartitionPipeline, meta: SnapshotMeta) {
    if (p.beforeChange) throw new Error('SnapshotCut: a snapshot of this pipeline is being cut already');
    this.w = new StateWriter(Math.max(64 * 1024, Math.ceil((lastBytes.get(p) ?? 0) * 1.125)));
    writeHeader(this.w, p, meta, configFingerprint(p.cfg));
    this.headBytes = this.w.length;
    this.order = [...p.devices.values()];
    this.order.forEach((d, i) => this.unwritten.set(d, i));
    this.spans = new Float64Array(this.order.length * 2);
    p.beforeChange = this.onChange;
  }

  private readonly onChange = (d: DeviceState): void => {
    if (this.unwritten.has(d)) this.early = true;
    this.write(d);
  };

  private write(d: DeviceState): void {
    const i = this.unwritten.get(d);
    if (i === undefined) return;
    this.unwritten.delete(d);
    this.spans[2 * i] = this.w.length;
    writeDevice(this.w, this.p, d);
    this.spans[2 * i + 1] = this.w.length;
  }

  /**
   * Writes devices, then puts the bytes in cut order and runs the CRC over them, for about
   * `budgetMs` (at least one device, and the last device with a 256 KiB piece of the assembly);
   * true once the snapshot is complete.
   * The assembly is sliced too: in one piece, copying and checking a bench partition's 3.7 MB was
   * 3–5 ms warm and ~45 ms under load (a tenth of the bench load: the longest turns of the loop
   * beside the checkpoint's hashing).
   */
  step(budgetMs: number): boolean {
    const t0 = performance.now();
    while (this.next < this.order.length) {
      this.write(this.order[this.next++]!);
      if (this.next < this.order.length && performance.now() - t0 >= budgetMs) return false;
    }
    this.release();
    while (!this.assemble(ASSEMBLY_PIECE)) if (performance.now() - t0 >= budgetMs) return false;
    return true;
  }

  /** The snapshot's bytes (writing and assembling what is left); the pipeline's hook is released. */
  finish(): Uint8Array {
    this.release();
    if (this.done) return this.done;
    while (this.next < this.order.length) this.write(this.order[this.next++]!);
    while (!this.assemble(Infinity));
    return this.done!;
  }

  /**
   * One piece of the assembly (at most `bytes` copied or CRC'd); true when done. Devices all
   * written in their turn are in order in `w` already, after the header: then the bytes are `w`'s
   * own, with no copy. Else they are copied, device by device, in the order of the list taken at
   * the cut, whatever order they were written in.
   */
  private assemble(bytes: number): boolean {
    if (this.done) return true;
    if (!this.out) {
      this.w.u32(0); // room for the CRC
      const all = this.w.written();
      if (!this.early) {
        this.out = all;
        this.copied = this.order.length;
      } else {
        this.out = new Uint8Array(all.length);
        this.out.set(all.subarray(0, this.headBytes));
        this.crcAt = this.headBytes;
        this.crc = crc32(this.out.subarray(0, this.headBytes));
      }
    }
    const out = this.out;
    const all = this.w.written();
    let budget = bytes;
    if (this.copied < this.order.length) {
      // Copying: the CRC follows each device as it lands.
      let at = this.crcAt;
      while (this.copied < this.order.length && budget > 0) {
        const i = this.copied++;
        const piece = all.subarray(this.spans[2 * i], this.spans[2 * i + 1]);
        out.set(piece, at);
        this.crc = crc32(piece, this.crc);
        at += piece.length;
        budget -= piece.length;
      }
      this.crcAt = at;
      if (this.copied < this.order.length) return false;
    }
    const body = out.length - 4;
    while (this.crcAt < body && budget > 0) {
      const to = Math.min(body, this.crcAt + Math.min(budget, ASSEMBLY_PIECE));
      this.crc = crc32(out.subarray(this.crcAt, to), this.crc);
      budget -= to - this.crcAt;
      this.crcAt = to;
    }
    if (this.crcAt < body) return false;
    this.done = seal(this.p, out, this.crc);
    return true;
  }

  /** Gives the cut up (the worker stops): the pipeline no longer writes devices for it. */
  release(): void {
    if (this.p.beforeChange === this.onChange) this.p.beforeChange = undefined;
  }
}

/** The most a sliced snapshot copies or CRCs between two looks at the clock. */
export const ASSEMBLY_PIECE = 256 * 1024;

function writeHeader(w: StateWriter, p: PartitionPipeline, meta: SnapshotMeta, fingerprint: string): void {
  for (const b of MAGIC) w.u8(b);
  w.u8(SNAPSHOT_FORMAT).str(fingerprint).u32(meta.partition).u32(meta.partitions).f64(meta.seq);
  w.f64(p.time).f64(p.lastSilenceCheck);
  w.u32(p.devices.size);
}

function writeDevice(w: StateWriter, p: PartitionPipeline, d: DeviceState): void {
  w.str(d.id).f64(d.time).f64(d.interval).bool(d.silent);
  d.seqs.write(w);
  w.u32(d.sensors.size);
  for (const s of d.sensors.values()) {
    w.str(s.id).str(s.unit).f64(s.maxTs).bool(s.gapMs !== undefined).f64(s.gapMs ?? 0).f64(s.interval).f64(s.silencedAt).f64(s.clockSince);
    w.u32(s.sessions.length);
    for (const x of s.sessions) w.f64(x.slot).f64(x.start).f64(x.end).f64(x.count).f64(x.mean).f64(x.m2).f64(x.min).f64(x.max).f64(x.anomalies);
    w.u32(s.detectors.length);
    s.detectors.forEach((b, i) => {
      w.str(b.rule);
      b.detector.snapshot(s.states[i], w);
      // A detector that never fired has no state: written as the idle one (the same bytes as before).
      const a = s.alerts[i];
      w.f64(a ? a.start : NaN).f64(a ? a.clearSince : NaN).f64(a ? a.clearCount : 0);
    });
    // Open rollup windows, one key per tier (rollups/outputs.ts): none until the sensor's first reading.
    p.outputs.snapshot(s, w);
  }
}

/** `out` with its last 4 bytes set to the CRC-32 of the rest. */
function sealed(p: PartitionPipeline, out: Uint8Array): Uint8Array {
  return seal(p, out, crc32(out.subarray(0, out.length - 4)));
}

/** `out` with its last 4 bytes set to `crc` (of the rest); its size kept to size the next snapshot's buffer. */
function seal(p: PartitionPipeline, out: Uint8Array, crc: number): Uint8Array {
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(out.length - 4, crc, true);
  lastBytes.set(p, out.length);
  return out;
}

/** The header of a snapshot, without reading the state (for logs and checks). */
export function readSnapshotHeader(bytes: Uint8Array): SnapshotMeta & { format: number; fingerprint: string } {
  return readHeader(new StateReader(bytes));
}

function readHeader(r: StateReader): SnapshotMeta & { format: number; fingerprint: string } {
  for (const b of MAGIC) if (r.u8('magic') !== b) throw new SnapshotError('not a fieldline pipeline snapshot (bad magic)');
  const format = r.u8('format');
  if (format !== SNAPSHOT_FORMAT) throw new SnapshotError(`snapshot format ${format} is unknown (this build reads ${SNAPSHOT_FORMAT})`);
  const fingerprint = r.text('config fingerprint');
  return { format, fingerprint, partition: r.u32('partition'), partitions: r.u32('partitions'), seq: r.f64('seq') };
}

/**
 * Rebuilds a pipeline from `bytes`. Throws SnapshotError (never anything else) when the bytes are
 * corrupt, of another format or config, or of another partition.
 */
export function restorePipeline(cfg: PipelineConfig, bytes: Uint8Array, expect: { partition: number; partitions: number }): { pipeline: PartitionPipeline; seq: number } {
  try {
    return restore(cfg, bytes, expect);
  } catch (err) {
    if (err instanceof SnapshotError) throw err;
    // A detector's restore or a constructor choking on bytes that passed the CRC: still just a bad snapshot.
    throw new SnapshotError(`snapshot unreadable: ${(err as Error).message}`, { cause: err });
  }
}

function restore(cfg: PipelineConfig, bytes: Uint8Array, expect: { partition: number; partitions: number }): { pipeline: PartitionPipeline; seq: number } {
  if (bytes.length < 8) throw new SnapshotError(`snapshot of ${bytes.length} bytes is too short`);
  const body = bytes.subarray(0, bytes.length - 4);
  const crc = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bytes.length - 4, true);
  const r = new StateReader(body);
  const head = readHeader(r);
  if (crc32(body) !== crc) throw new SnapshotError('snapshot corrupt (CRC mismatch)');
  const fingerprint = configFingerprint(cfg);
  if (head.fingerprint !== fingerprint) throw new SnapshotError('snapshot was taken under another windows/detectors/alerts config');
  if (head.partition !== expect.partition || head.partitions !== expect.partitions) {
    throw new SnapshotError(`snapshot is of partition ${head.partition}/${head.partitions}, not ${expect.partition}/${expect.partitions}`);
  }
  if (!Number.isSafeInteger(head.seq) || head.seq < 0) throw new SnapshotError(`snapshot seq ${head.seq} is not a stream sequence`);
  const p = new PartitionPipeline(cfg);
  p.time = r.f64('time');
  p.lastSilenceCheck = r.f64('lastSilenceCheck');
  const devices = r.count('devices', 8);
  for (let i = 0; i < devices; i++) {
    const id = r.text('device id');
    const d = new DeviceState(id);
    d.time = r.f64('device time');
    d.interval = r.f64('device interval');
    d.silent = r.bool('device silent');
    d.seqs.read(r);
    const sensors = r.count('sensors', 8);
    for (let j = 0; j < sensors; j++) d.sensors.set(...readSensor(p, id, r));
    p.devices.set(id, d);
  }
  if (r.remaining !== 0) throw new SnapshotError(`snapshot has ${r.remaining} bytes after the state`);
  return { pipeline: p, seq: head.seq };
}

function readSensor(p: PartitionPipeline, device: string, r: StateReader): [string, SensorState] {
  const id = r.text('sensor id');
  const unit = r.str('sensor unit');
  const maxTs = r.f64('maxTs');
  const hasGap = r.bool('gap present');
  const gap = r.f64('gapMs');
  const interval = r.f64('interval');
  const silencedAt = r.f64('silencedAt');
  const clockSince = r.f64('clockSince');
  const sessions: Session[] = [];
  const n = r.count('sessions', 72);
  for (let k = 0; k < n; k++) {
    const f = Array.from({ length: 9 }, () => r.f64('session'));
    sessions.push(new Session(f[0]!, f[1]!, f[2]!, f[3], f[4], f[5], f[6], f[7], f[8]));
  }
  const detectors = p.detectorsFor(device, id, unit);
  const count = r.count('detectors', 5);
  if (count !== detectors.length) throw new SnapshotError(`sensor ${device}/${id} had ${count} detectors, the config gives it ${detectors.length}`);
  const states: unknown[] = [];
  const alerts: (AlertState | undefined)[] = [];
  for (const b of detectors) {
    const rule = r.text('rule');
    if (rule !== b.rule) throw new SnapshotError(`sensor ${device}/${id}: detector "${rule}" where the config has "${b.rule}"`);
    states.push(b.detector.restore(r));
    const start = r.f64('alert start');
    const clearSince = r.f64('alert clearSince');
    const clearCount = r.f64('alert clearCount');
    if (Number.isNaN(start) && Number.isNaN(clearSince) && clearCount === 0) alerts.push(undefined);
    else {
      const a = new AlertState();
      a.start = start;
      a.clearSince = clearSince;
      a.clearCount = clearCount;
      alerts.push(a);
    }
  }
  const s = new SensorState(device, id, detectors, unit, states, alerts);
  p.outputs.restore(s, r);
  s.sessions = sessions;
  s.maxTs = maxTs;
  s.gapMs = hasGap ? gap : undefined;
  s.interval = interval;
  s.silencedAt = silencedAt;
  s.clockSince = clockSince;
  return [id, s];
}
