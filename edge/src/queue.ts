import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ClockState, Reading } from '@fieldline/contract';
import { EdgeStateError } from './errors.js';

/**
 * Disk queue: append-only segment files of newline-terminated records.
 *   `{…}`                  a reading (its wire JSON; held readings carry an extra `mono`)
 *   `B seq n synced now [H bootId]`  closes a batch: the n readings just before it in this segment
 *   `A seq` / `D seq reason`         the batch was acknowledged / dropped
 * A batch never spans segments (segments roll over right after a `B`), and segments are deleted
 * from the head only, so recovery needs nothing but the surviving files. A torn last line
 * (power loss mid-write) is cut off at recovery.
 */
export interface BatchInfo {
  seq: number;
  seg: number;
  /** Byte range of its readings (ack records may be interleaved). */
  start: number;
  end: number;
  n: number;
  clock: ClockState;
  /** Readings held while the clock was unsynced; `bootId` of their monotonic times. */
  heldBoot?: string;
  /** Published at least once (since this start): if it is dropped now, it may have arrived all the same. */
  sent?: boolean;
}

export interface QueueOptions {
  dir: string;
  maxBytes: number;
  segmentBytes: number;
  overflow: 'drop-oldest' | 'drop-newest';
  fsync: 'batch' | 'always' | 'never';
}

export interface QueueCounters {
  /** Readings dropped by the overflow policy (`maxBytes`)… */
  dropped_overflow: number;
  /** …of which this many were in batches already sent once, whose PUBACK never came: they may have arrived. */
  dropped_overflow_in_doubt: number;
  /** Readings not queued because the disk was full (or refused the write): lost, and counted here. */
  dropped_disk_full: number;
  dropped_rejected: number;
  corrupt_records: number;
}

/** A write the file system refused: the disk is full (or over quota, or failing). */
export class DiskFullError extends Error {
  override readonly name = 'DiskFullError';
}

interface Segment {
  no: number;
  size: number;
  live: number;
}

interface OpenBatch {
  start: number;
  n: number;
  bytes: number;
  heldBoot?: string;
}

function heldBootOf(line: string): { heldBoot?: string } {
  if (!line.includes('"mono":')) return {};
  try {
    return { heldBoot: String((JSON.parse(line) as { boot?: unknown }).boot ?? '') };
  } catch {
    return { heldBoot: '' };
  }
}

const segName = (no: number): string => `${String(no).padStart(10, '0')}.log`;

export class DiskQueue {
  readonly counters: QueueCounters = { dropped_overflow: 0, dropped_overflow_in_doubt: 0, dropped_disk_full: 0, dropped_rejected: 0, corrupt_records: 0 };
  /** The last write the disk refused, until one succeeds again (for health and logs). */
  diskError: string | undefined;
  private readonly segments: Segment[] = [];
  private readonly batches = new Map<number, BatchInfo>();
  private fd = -1;
  private open: OpenBatch | undefined;
  private liveReadings = 0;
  private totalBytes = 0;
  private maxSeq = 0;

  constructor(private readonly opts: QueueOptions) {
    // A segment must stay well below the bound so that dropping the head frees room.
    this.opts = { ...opts, segmentBytes: Math.min(opts.segmentBytes, Math.floor(opts.maxBytes / 4)) };
    try {
      mkdirSync(opts.dir, { recursive: true });
      this.recover();
    } catch (err) {
      if (err instanceof EdgeStateError) throw err;
      throw new EdgeStateError(`cannot open queue in ${opts.dir}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Highest batch seq found on disk (the state's seq must stay above it). */
  get highestSeq(): number {
    return this.maxSeq;
  }

  /** Readings waiting for a PUBACK (in closed batches and the open one). */
  get depth(): number {
    return this.liveReadings + (this.open?.n ?? 0);
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Readings in the batch being filled; `heldBoot` tells whether it holds unsynced readings. */
  get openBatch(): Readonly<OpenBatch> | undefined {
    return this.open;
  }

  /** Closed batches in seq order (oldest first). */
  pending(): IterableIterator<BatchInfo> {
    return this.batches.values();
  }

  get(seq: number): BatchInfo | undefined {
    return this.batches.get(seq);
  }

  /**
   * Appends readings to the open batch. `heldBoot` marks readings held for clock correction (their
   * JSON carries `mono`). Returns false when the queue is full and the policy is drop-newest, or
   * when the disk refused the write (the readings are counted as `dropped_disk_full`, the segment
   * is left as it was).
   */
  append(lines: string[], heldBoot?: string): boolean {
    if (lines.length === 0) return true;
    const data = Buffer.from(lines.join('\n') + '\n');
    if (!this.makeRoom(data.length, lines.length)) return false;
    try {
      this.writeOrCompact(data);
      if (this.opts.fsync === 'always') fsyncSync(this.fd);
    } catch (err) {
      if (!(err instanceof DiskFullError)) throw err;
      this.counters.dropped_disk_full += lines.length;
      return false;
    }
    if (!this.open) this.open = { start: this.tail.size - data.length, n: 0, bytes: 0, ...(heldBoot ? { heldBoot } : {}) };
    this.open.n += lines.length;
    this.open.bytes += data.length;
    return true;
  }

  /** Marks a batch published (it may arrive even if it is dropped before its PUBACK). */
  markSent(seq: number): void {
    const info = this.batches.get(seq);
    if (info) info.sent = true;
  }

  /**
   * Closes the open batch under `seq`; written (and fsynced unless `never`) before anyone sends it.
   * Throws {@link DiskFullError} (the batch stays open, the file as it was) when the disk refuses the marker.
   */
  close(seq: number, clock: ClockState): BatchInfo | undefined {
    const open = this.open;
    if (!open) return undefined;
    const held = open.heldBoot ? ` H ${open.heldBoot}` : '';
    const end = this.tail.size;
    // Written before the batch is taken as closed; a compaction may move the open batch first.
    const moved = this.writeOrCompact(Buffer.from(`B ${seq} ${open.n} ${clock.synced ? 1 : 0} ${clock.now}${held}\n`));
    if (this.opts.fsync !== 'never') fsyncSync(this.fd);
    const seg = this.tail;
    const info: BatchInfo = { seq, seg: seg.no, start: open.start, end: end - moved, n: open.n, clock, ...(open.heldBoot ? { heldBoot: open.heldBoot } : {}) };
    this.open = undefined;
    this.batches.set(seq, info);
    seg.live += 1;
    this.liveReadings += info.n;
    this.maxSeq = Math.max(this.maxSeq, seq);
    if (seg.size >= this.opts.segmentBytes) this.rollover();
    return info;
  }

  /** The reading lines of a closed batch, as stored. */
  read(info: BatchInfo): string[] {
    const fd = openSync(join(this.opts.dir, segName(info.seg)), 'r');
    try {
      const buf = Buffer.allocUnsafe(info.end - info.start);
      const got = readSync(fd, buf, 0, buf.length, info.start);
      const lines = buf.subarray(0, got).toString('utf8').split('\n');
      const readings = lines.filter((l) => l.startsWith('{'));
      if (readings.length !== info.n) throw new EdgeStateError(`batch ${info.seq}: expected ${info.n} readings on disk, found ${readings.length}`);
      return readings;
    } finally {
      closeSync(fd);
    }
  }

  /** The broker acknowledged the batch (or it was `rejected`/superseded): it leaves the queue. */
  remove(seq: number, reason?: string): boolean {
    const info = this.batches.get(seq);
    if (!info) return false;
    this.batches.delete(seq);
    this.liveReadings -= info.n;
    try {
      this.write(Buffer.from(reason ? `D ${seq} ${reason}\n` : `A ${seq}\n`));
    } catch (err) {
      // A full disk cannot record the ack: after a restart the batch is sent again, a duplicate
      // the gateway and processor drop. Its segment is freed below all the same.
      if (!(err instanceof DiskFullError)) throw err;
    }
    if (reason === 'rejected') this.counters.dropped_rejected += info.n;
    if (reason === 'corrupt') this.counters.corrupt_records += info.n;
    const seg = this.segments.find((s) => s.no === info.seg);
    if (seg) seg.live -= 1;
    this.trimHead();
    // On a full disk the tail segment is never rolled over, so acks alone would never free it.
    if (this.diskError !== undefined) this.compactTail();
    return true;
  }

  /** Writes; when the disk is full, compacts the tail and tries once more. Returns the bytes the compaction cut off the front. */
  private writeOrCompact(data: Buffer): number {
    try {
      this.write(data);
      return 0;
    } catch (err) {
      if (!(err instanceof DiskFullError)) throw err;
      const cut = this.compactTail();
      if (cut === 0) throw err;
      this.write(data);
      return cut;
    }
  }

  /**
   * The tail segment holds only finished batches (and the open one): cuts them off, so that a full
   * disk gets room back once everything sent is acked. The open batch's readings are written
   * again at the front (they were not fsynced yet either way: no weaker than before). Returns the
   * bytes cut (0 when there was nothing to cut).
   */
  private compactTail(): number {
    const seg = this.tail;
    const keepFrom = this.open?.start ?? seg.size;
    if (seg.live > 0 || keepFrom === 0) return 0;
    let keep = Buffer.alloc(0);
    if (seg.size > keepFrom) {
      keep = Buffer.allocUnsafe(seg.size - keepFrom);
      const fd = openSync(join(this.opts.dir, segName(seg.no)), 'r');
      try {
        readSync(fd, keep, 0, keep.length, keepFrom);
      } finally {
        closeSync(fd);
      }
    }
    ftruncateSync(this.fd, 0);
    this.totalBytes -= seg.size;
    seg.size = 0;
    if (this.open) this.open.start = 0;
    if (keep.length) this.write(keep);
    return keepFrom;
  }

  /** Closes the file; the queue is reopened by constructing a new one on the same dir. */
  shutdown(): void {
    if (this.fd >= 0) {
      if (this.opts.fsync !== 'never') fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  private get tail(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /** Writes a whole record or nothing: a refused (partial) write is cut back off, and thrown as {@link DiskFullError}. */
  private write(data: Buffer): void {
    let off = 0;
    try {
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
    } catch (err) {
      if (off > 0) {
        try {
          ftruncateSync(this.fd, this.tail.size);
        } catch {
          // the torn record is cut off at the next recovery
        }
      }
      this.diskError = `${(err as NodeJS.ErrnoException).code ?? 'write failed'}: ${(err as Error).message}`;
      throw new DiskFullError(this.diskError, { cause: err });
    }
    this.diskError = undefined;
    this.tail.size += data.length;
    this.totalBytes += data.length;
  }

  private makeRoom(bytes: number, readings: number): boolean {
    while (this.totalBytes + bytes > this.opts.maxBytes) {
      if (this.opts.overflow === 'drop-newest' || this.segments.length < 2) {
        this.counters.dropped_overflow += readings;
        return false;
      }
      this.dropHead();
    }
    return true;
  }

  /** drop-oldest: the whole head segment goes; its readings are counted as dropped. */
  private dropHead(): void {
    const head = this.segments.shift()!;
    for (const info of [...this.batches.values()]) {
      if (info.seg !== head.no) continue;
      this.batches.delete(info.seq);
      this.liveReadings -= info.n;
      this.counters.dropped_overflow += info.n;
      if (info.sent) this.counters.dropped_overflow_in_doubt += info.n;
    }
    this.totalBytes -= head.size;
    unlinkSync(join(this.opts.dir, segName(head.no)));
  }

  private trimHead(): void {
    while (this.segments.length > 1 && this.segments[0]!.live === 0) {
      const head = this.segments.shift()!;
      this.totalBytes -= head.size;
      unlinkSync(join(this.opts.dir, segName(head.no)));
    }
  }

  private rollover(): void {
    const no = this.tail.no + 1;
    let fd: number;
    try {
      fd = openSync(join(this.opts.dir, segName(no)), 'a');
    } catch {
      return; // no room for a new file: the current segment goes on (rolled over at the next batch)
    }
    if (this.opts.fsync !== 'never') fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = fd;
    this.segments.push({ no, size: 0, live: 0 });
  }

  private recover(): void {
    const files = readdirSync(this.opts.dir).filter((f) => /^\d{10}\.log$/.test(f)).sort();
    const acked = new Set<number>();
    for (const [i, file] of files.entries()) {
      const no = Number(file.slice(0, 10));
      const path = join(this.opts.dir, file);
      const fd = openSync(path, 'r+');
      const size = fstatSync(fd).size;
      const buf = Buffer.allocUnsafe(size);
      let got = 0;
      while (got < size) got += readSync(fd, buf, got, size - got, got);
      const seg: Segment = { no, size, live: 0 };
      this.segments.push(seg);
      let pos = 0;
      let open: OpenBatch | undefined;
      for (;;) {
        const nl = buf.indexOf(0x0a, pos);
        if (nl < 0) break;
        const first = buf[pos];
        if (first === 0x7b) {
          if (!open) open = { start: pos, n: 0, bytes: 0, ...heldBootOf(buf.toString('utf8', pos, nl)) };
          open.bytes += nl + 1 - pos;
          open.n += 1;
        } else {
          const f = buf.toString('latin1', pos, nl).split(' ');
          const seq = Number(f[1]);
          if (f[0] === 'B' && open && Number(f[2]) === open.n && Number.isSafeInteger(seq)) {
            const info: BatchInfo = { seq, seg: no, start: open.start, end: pos, n: open.n, clock: { synced: f[3] === '1', now: Number(f[4]) } };
            if (f[5] === 'H') info.heldBoot = f[6] ?? '';
            this.batches.set(seq, info);
            this.maxSeq = Math.max(this.maxSeq, seq);
            open = undefined;
          } else if ((f[0] === 'A' || f[0] === 'D') && Number.isSafeInteger(seq)) {
            acked.add(seq);
          } else {
            this.counters.corrupt_records += 1;
          }
        }
        pos = nl + 1;
      }
      if (pos < size) {
        // A torn last record (power loss mid-write): it was never acknowledged to anyone.
        ftruncateSync(fd, pos);
        seg.size = pos;
        this.counters.corrupt_records += 1;
      }
      if (open && i === files.length - 1) this.open = open;
      else if (open) this.counters.corrupt_records += open.n;
      closeSync(fd);
    }
    for (const seq of acked) this.batches.delete(seq);
    for (const info of this.batches.values()) {
      this.liveReadings += info.n;
      this.segments.find((s) => s.no === info.seg)!.live += 1;
    }
    if (this.segments.length === 0) this.segments.push({ no: 1, size: 0, live: 0 });
    this.totalBytes = this.segments.reduce((a, s) => a + s.size, 0);
    this.fd = openSync(join(this.opts.dir, segName(this.tail.no)), 'a');
    this.trimHead();
  }
}

/** The wire JSON of a reading (what a queue line holds); a held one also keeps its monotonic time. */
export function readingLine(r: Reading, held?: { mono: number; boot: string }): string {
  return JSON.stringify(held ? { ...r, ...held } : r);
}
