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
 * How long a sliced snapshot writes before it lets the event loop run, ms. A bench partition's
 * 3.7 MB (600 sensors) takes ~5 ms warm and 25–240 ms cold or on a loaded machine in one piece.
 * Not less: the partition waits a whole turn of the event loop after each slice (every other
 * partition's turn, 40+ ms on a busy processor), so slices of 5 ms held a partition's alerts for
 * up to 2.5 s in the loaded bench (half-load alert p99 712 and 2,743 ms, main beside them 387 and 423).
 * Slicing only caps the rare long cut; the stagger of the checkpoints (partition-worker.ts) keeps
 * them apart.
 */
export const SNAPSHOT_SLICE_MS = 50;
/** Sensors written between two looks at the clock. */
const SENSORS_PER_CHECK = 8;

/** The snapshot in one piece: the partition's state right now. */
export function snapshotPipeline(p: PartitionPipeline, meta: SnapshotMeta, fingerprint = configFingerprint(p.cfg)): Uint8Array {
  const steps = writeSnapshot(p, meta, fingerprint, Infinity);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * The same bytes as `snapshotPipeline`, written in slices of about `sliceMs` with `pause()` (a
 * turn of the event loop) between them, so other partitions' messages, acks and alerts are not
 * held behind one partition's whole state (issue 16: a one-piece cut stalled every partition for
 * 25–240 ms on the loaded machine). The clock is read every `sensorsPerCheck` sensors. The caller
 * must not change the pipeline until it resolves: the worker keeps the partition paused
 * meanwhile, so the bytes are still exactly the state after `meta.seq`.
 */
export async function snapshotPipelineSliced(p: PartitionPipeline, meta: SnapshotMeta, o: { sliceMs?: number; sensorsPerCheck?: number; pause?: () => Promise<void> } = {}): Promise<Uint8Array> {
  const pause = o.pause ?? ((): Promise<void> => new Promise((r) => setImmediate(r)));
  const sliceMs = o.sliceMs ?? SNAPSHOT_SLICE_MS;
  const steps = writeSnapshot(p, meta, configFingerprint(p.cfg), o.sensorsPerCheck ?? SENSORS_PER_CHECK);
  let since = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - since < sliceMs) continue;
    await pause();
    since = performance.now();
  }
}

/** Writes the snapshot, yielding after every `every` sensors; returns the bytes. */
function* writeSnapshot(p: PartitionPipeline, meta: SnapshotMeta, fingerprint: string, every: number): Generator<void, Uint8Array> {
  let sensors = 0;
  const w = new StateWriter(Math.max(64 * 1024, Math.ceil((lastBytes.get(p) ?? 0) * 1.125)));
  for (const b of MAGIC) w.u8(b);
  w.u8(SNAPSHOT_FORMAT).str(fingerprint).u32(meta.partition).u32(meta.partitions).f64(meta.seq);
  w.f64(p.time).f64(p.lastSilenceCheck);
  w.u32(p.devices.size);
  for (const d of p.devices.values()) {
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
        const a = s.alerts[i]!;
        w.f64(a.start).f64(a.clearSince).f64(a.clearCount);
      });
      // Open rollup windows, one key per tier (rollups/outputs.ts): none until the sensor's first reading.
      p.outputs.snapshot(s, w);
      if (++sensors % every === 0) yield;
    }
  }
  w.u32(0); // room for the CRC
  const out = w.written();
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
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
  const alerts: AlertState[] = [];
  for (const b of detectors) {
    const rule = r.text('rule');
    if (rule !== b.rule) throw new SnapshotError(`sensor ${device}/${id}: detector "${rule}" where the config has "${b.rule}"`);
    states.push(b.detector.restore(r));
    const a = new AlertState();
    a.start = r.f64('alert start');
    a.clearSince = r.f64('alert clearSince');
    a.clearCount = r.f64('alert clearCount');
    alerts.push(a);
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
