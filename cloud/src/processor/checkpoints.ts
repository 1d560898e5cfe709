import { promisify } from 'node:util';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { deflate, inflate } from 'node:zlib';
import { isWrongLastSequence } from '@fieldline/runtime/nats';
import type { KV, ObjectStore } from 'nats';

const deflateAsync = promisify(deflate);
const inflateAsync = promisify(inflate);
/** A zlib stream's first byte (deflate, 32 KiB window); a stored state starts with "FLPS" (0x46) instead. */
const ZLIB_CMF = 0x78;

/**
 * Where a partition stands (docs/architecture.md, "Partitions, leases and checkpoints"): the KV
 * key `{group}.commit.{p}` says up to which TELEMETRY sequence the partition's effects are
 * durable, which epoch wrote it, and which checkpoint (Object Store `{group}.{p}.{epoch}.{seq}`)
 * holds the state at or before that sequence. Every write is a compare-and-set on the revision the
 * writer last wrote or read, and a new owner's first act is one such write ("fencing"): from then
 * on a stale owner's commit fails, whatever it believes about its lease.
 *
 * The records form a chain: each covers `(from - 1, seq]`, `from` being the previous record's
 * `seq + 1`, so a reader of the key's history sees every message committed once, in order, and by
 * which epoch (the scale-out tests check exactly that).
 */
export interface CheckpointRef {
  /** Object name in the checkpoint bucket. */
  name: string;
  /** Stream sequence the state includes. */
  seq: number;
  /** Stored size (compressed). */
  bytes: number;
}

export interface CommitValue {
  v: 1;
  partition: number;
  epoch: number;
  owner: string;
  /** First sequence of this record's range: the previous record's `seq + 1`. */
  from: number;
  /** Effects of every message up to here are durable. */
  seq: number;
  checkpoint: CheckpointRef | null;
  /** The owner stopped cleanly right after this commit: it output nothing past `seq`. */
  closed: boolean;
}

export interface CommitRecord {
  value: CommitValue | null;
  rev: number;
  /** Server time of the write (when this owner's uncommitted outputs can have started). */
  created: Date | null;
}

/** A commit refused because another owner wrote the record: this owner lost the partition. */
export class FencedError extends Error {
  override name = 'FencedError';
}

function parseCommit(v: unknown, p: number): CommitValue | null {
  const c = v as Partial<CommitValue> | null;
  if (!c || c.v !== 1 || c.partition !== p || !Number.isSafeInteger(c.seq) || !Number.isSafeInteger(c.epoch)) return null;
  return c as CommitValue;
}

export class Commits {
  constructor(
    private readonly kv: KV,
    private readonly group: string,
  ) {}

  key(p: number): string {
    return `${this.group}.commit.${p}`;
  }

  async read(p: number): Promise<CommitRecord> {
    const e = await this.kv.get(this.key(p));
    if (!e || e.operation !== 'PUT') return { value: null, rev: e?.revision ?? 0, created: e?.created ?? null };
    let value: CommitValue | null = null;
    try {
      value = parseCommit(e.json(), p);
    } catch {
      value = null;
    }
    if (!value) throw new Error(`commit record ${this.key(p)} (revision ${e.revision}) is not a fieldline commit; refusing to guess where the partition stands`);
    return { value, rev: e.revision, created: e.created };
  }

  /**
   * The new owner's first write: the record, unchanged but for its epoch and owner. Returns what
   * it replaced (the state to resume from) and the revision to commit against.
   */
  async fence(p: number, epoch: number, owner: string): Promise<{ before: CommitRecord; rev: number }> {
    for (;;) {
      const before = await this.read(p);
      const prev = before.value;
      const next: CommitValue = { v: 1, partition: p, epoch, owner, from: (prev?.seq ?? 0) + 1, seq: prev?.seq ?? 0, checkpoint: prev?.checkpoint ?? null, closed: false };
      try {
        const rev = before.rev === 0 ? await this.kv.create(this.key(p), JSON.stringify(next)) : await this.kv.update(this.key(p), JSON.stringify(next), before.rev);
        return { before, rev };
      } catch (err) {
        // The previous owner committed between our read and write: read again.
        if (!isWrongLastSequence(err)) throw err;
      }
    }
  }

  /** Compare-and-set against `rev`; a FencedError when someone else wrote since. */
  async commit(value: CommitValue, rev: number): Promise<number> {
    try {
      return await this.kv.update(this.key(value.partition), JSON.stringify(value), rev);
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
      // A retry after a lost reply finds its own write: that is success, not a fence.
      const now = await this.read(value.partition).catch(() => null);
      const v = now?.value;
      if (v && v.epoch === value.epoch && v.owner === value.owner && v.seq === value.seq && v.checkpoint?.name === value.checkpoint?.name && v.closed === value.closed) return now.rev;
      throw new FencedError(`partition ${value.partition}: commit of epoch ${value.epoch} refused, another owner fenced it`, { cause: err });
    }
  }
}

/**
 * The Object Store's chunk for checkpoints, and so the most it hashes in one turn of the event
 * loop (see `paced`). @default 128 KiB in nats.js; 32 KiB here.
 */
export const CHECKPOINT_CHUNK_BYTES = 32 * 1024;

/**
 * `bytes` as a stream of `size`-byte slices, the next one only after the event loop has run
 * (`setImmediate`). nats.js's Object Store hashes each chunk with its JavaScript SHA-256 as it
 * drains its buffer: given the whole blob (`putBlob`) it hashed every chunk in one synchronous
 * turn, 43 ms for a bench partition's 0.49 MB checkpoint (8 partitions every 10 s), and every
 * alert publish and message of the process waited behind it.
 * A stream's read resolves in a microtask, which lets no I/O run, hence the explicit yield.
 * Measured storing a 0.86 MB checkpoint on a real nats-server (2-core EPYC, 1 ms timer beside
 * it): the longest turn of the event loop 14–24 ms with `putBlob`, 2–3 ms paced. The processor now
 * swaps that hash for node:crypto's (`useNativeObjectDigest`, runtime/src/nats-digest.ts: 0.5 ms
 * instead of 12–35 ms for 0.9 MB); the pacing stays for a nats.js the swap refuses, and because
 * each chunk is still copied and published on the event loop.
 */
export function paced(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        if (at > 0) await nextTurn();
        if (at >= bytes.length) return c.close();
        c.enqueue(bytes.subarray(at, at + size));
        at += size;
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Checkpoints in the Object Store, zlib-compressed (level 1) on libuv's thread pool. The Object
 * Store digests every byte on the event loop; with nats.js's own JavaScript SHA-256 a partition of
 * 600 bench sensors, a 3.7 MB state, took 330 ms of hashing (8 partitions every 10 s: a quarter of
 * a core on the loaded machine, a tenth in the quiet profile), hence the compression: 0.49 MB (33
 * ms of deflate, off the event loop) and 43 ms of hashing, in 32 KiB chunks with the event loop
 * running between them (`paced`). The processor digests with node:crypto now
 * (`useNativeObjectDigest`), which leaves the compression for the bytes stored and sent. A
 * checkpoint stored uncompressed by an earlier version is read as it is.
 */
export class Snapshots {
  constructor(
    private readonly os: ObjectStore,
    private readonly group: string,
  ) {}

  name(p: number, epoch: number, seq: number): string {
    return `${this.group}.${p}.${epoch}.${seq}`;
  }

  async put(p: number, epoch: number, seq: number, bytes: Uint8Array): Promise<CheckpointRef> {
    const name = this.name(p, epoch, seq);
    const stored = await deflateAsync(bytes, { level: 1 });
    await this.os.put({ name, options: { max_chunk_size: CHECKPOINT_CHUNK_BYTES } }, paced(stored, CHECKPOINT_CHUNK_BYTES));
    return { name, seq, bytes: stored.length };
  }

  /**
   * The checkpoint's state, or null when it is gone. The Object Store checks its SHA-256 digest
   * on the way, zlib its Adler-32, the state its own CRC (pipeline-state.ts); damaged bytes throw.
   */
  async get(ref: CheckpointRef): Promise<Uint8Array | null> {
    const stored = await this.os.getBlob(ref.name);
    if (!stored || stored[0] !== ZLIB_CMF) return stored;
    return new Uint8Array(await inflateAsync(stored));
  }

  async delete(name: string): Promise<void> {
    await this.os.delete(name).catch(() => undefined);
  }

  /** Removes the partition's checkpoints other than `keep` (left by owners that crashed or were fenced). */
  async prune(p: number, keep: string | null): Promise<number> {
    const prefix = `${this.group}.${p}.`;
    let n = 0;
    for (const info of await this.os.list()) {
      if (info.name.startsWith(prefix) && info.name !== keep && !info.deleted) {
        await this.delete(info.name);
        n++;
      }
    }
    return n;
  }
}
