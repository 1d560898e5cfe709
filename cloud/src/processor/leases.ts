import { isWrongLastSequence } from '@fieldline/runtime/nats';
import type { KV, KvEntry } from 'nats';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

/**
 * Partition ownership by leases in NATS KV (docs/architecture.md, "Partitions, leases and
 * checkpoints"). Key `{group}.lease.{p}` holds `{ owner, epoch }`; every change is a
 * compare-and-set on the key's revision, so of two instances racing for a partition exactly one
 * wins. An owner renews (rewrites the same value) every `renewMs`; an observer counts a lease as
 * expired when its revision has not changed for `leaseMs` of the observer's own monotonic clock,
 * and takes it over by a compare-and-set against the revision it saw, with `epoch + 1`. Wall
 * clocks are never compared.
 *
 * Fencing: an owner's lease is valid until `sent + 0.8 × leaseMs`, where `sent` is when it sent
 * its last successful renewal. Any observer saw that revision after it was written, so after
 * `sent`, and waits `leaseMs` from then: the owner's validity ends before anyone else can take
 * the lease. The worker checks validity before each write and commit, and the commit itself is a
 * compare-and-set that fails once a new owner fenced it (checkpoints.ts).
 *
 * Balancing: members announce themselves under `{group}.member.{id}`; every instance computes the
 * same assignment from the live members (rendezvous hashing, capped at ⌈P/n⌉ each), takes the
 * free partitions assigned to it, and hands over (checkpoint, commit, release) those assigned to a
 * member that has been live for `leaseMs`. A partition free for `leaseMs` past its expiry is
 * taken by anyone, so a disagreement about membership can delay a partition, never strand it.
 */
export interface LeaseValue {
  v: 1;
  partition: number;
  /** Instance id of the owner; null once released. */
  owner: string | null;
  /** Increases with every change of owner; carried in commits and published outputs. */
  epoch: number;
}

interface Seen {
  rev: number;
  value: LeaseValue | null;
  /** performance.now() when this revision was first seen. */
  at: number;
}

interface Held {
  epoch: number;
  rev: number;
  /** Valid until this performance.now(). */
  until: number;
  /** Being handed over: kept renewed, never handed over twice. */
  leaving: boolean;
}

export interface LeaseEvents {
  /** The partition is ours at `epoch`; `previous` is the lease we took it from (null: never owned). */
  acquired(partition: number, epoch: number, previous: LeaseValue | null): void;
  /** The lease is gone (taken over, or expired before a renewal got through): stop at once. */
  lost(partition: number, epoch: number, why: 'taken' | 'expired'): void;
  /** Balancing wants the partition elsewhere: stop cleanly (checkpoint, commit), then `release`. */
  handOver(partition: number, epoch: number): void;
}

export interface LeaseOptions {
  kv: KV;
  group: string;
  id: string;
  partitions: number;
  leaseMs: number;
  renewMs: number;
  events: LeaseEvents;
  logger: Logger;
  metrics: Metrics;
}

const SAFETY = 0.8;
const enc = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));

function parseLease(e: KvEntry): LeaseValue | null {
  if (e.operation !== 'PUT') return null;
  try {
    const v = e.json<LeaseValue>();
    return typeof v.epoch === 'number' && (typeof v.owner === 'string' || v.owner === null) ? v : null;
  } catch {
    return null;
  }
}

/** 32-bit FNV-1a, for rendezvous hashing. */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The owner of each partition for a member set: highest rendezvous hash first, at most ⌈P/n⌉ each. */
export function assignPartitions(members: readonly string[], partitions: number): string[] {
  const sorted = [...members].sort();
  const cap = Math.ceil(partitions / Math.max(1, sorted.length));
  const load = new Map<string, number>();
  const out: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const ranked = sorted.map((m) => [fnv(`${m}/${p}`), m] as const).sort((a, b) => b[0] - a[0] || (a[1] < b[1] ? -1 : 1));
    const pick = ranked.find(([, m]) => (load.get(m) ?? 0) < cap)![1];
    load.set(pick, (load.get(pick) ?? 0) + 1);
    out.push(pick);
  }
  return out;
}

export class LeaseTable {
  private readonly seen = new Map<number, Seen>();
  private readonly held = new Map<number, Held>();
  /** Members by id: revision, when first seen, when its revision last changed. */
  private readonly members = new Map<string, { rev: number; first: number; at: number }>();
  /** Per partition, operations on its key one after another. */
  private readonly chains = new Map<number, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private closed = false;
  private stopWatches: (() => void)[] = [];
  private readonly started = performance.now();

  constructor(private readonly o: LeaseOptions) {}

  private leaseKey(p: number): string {
    return `${this.o.group}.lease.${p}`;
  }

  private memberKey(id: string): string {
    return `${this.o.group}.member.${id}`;
  }

  /** Watches leases and members, announces this member and runs the first round. */
  async start(): Promise<void> {
    await this.o.kv.put(this.memberKey(this.o.id), enc({ v: 1, id: this.o.id, pid: process.pid }));
    await Promise.all([this.watch(`${this.o.group}.lease.*`, (e) => this.onLease(e)), this.watch(`${this.o.group}.member.*`, (e) => this.onMember(e))]);
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.o.renewMs);
  }

  /** Resolves once the watch has delivered the current values. */
  private async watch(key: string, on: (e: KvEntry) => void): Promise<void> {
    let ready!: () => void;
    const initial = new Promise<void>((r) => (ready = r));
    const w = await this.o.kv.watch({ key, initializedFn: () => ready() });
    this.stopWatches.push(() => w.stop());
    void (async () => {
      for await (const e of w) on(e);
    })().catch((err: unknown) => this.o.logger.error({ err, key }, 'lease watch ended'));
    await initial;
  }

  private onLease(e: KvEntry): void {
    const p = Number(e.key.slice(e.key.lastIndexOf('.') + 1));
    if (!Number.isInteger(p) || p < 0 || p >= this.o.partitions) return;
    const prev = this.seen.get(p);
    if (prev && prev.rev >= e.revision) return;
    const value = parseLease(e);
    this.seen.set(p, { rev: e.revision, value, at: performance.now() });
    const h = this.held.get(p);
    // Someone else wrote our key: the lease is theirs now (our own writes come back too; the
    // instance id is unique per start, so only we write it).
    if (h && value?.owner !== this.o.id) this.lose(p, 'taken');
  }

  private onMember(e: KvEntry): void {
    const id = e.key.slice(`${this.o.group}.member.`.length);
    if (e.operation !== 'PUT') {
      this.members.delete(id);
      return;
    }
    const now = performance.now();
    const m = this.members.get(id);
    if (!m) this.members.set(id, { rev: e.revision, first: now, at: now });
    else if (e.revision > m.rev) Object.assign(m, { rev: e.revision, at: now });
  }

  /**
   * Members the assignment counts, sorted: this one, and those live (renewed within leaseMs) and
   * seen for leaseMs. A member that just joined gets partitions only once the others count it,
   * so a dead member's partitions go to the survivors as soon as its leases expire, not to a
   * newcomer that must first watch them expire by its own clock.
   */
  liveMembers(now = performance.now()): string[] {
    const out = new Set([this.o.id]);
    for (const [id, m] of this.members) if (now - m.at < this.o.leaseMs && now - m.first >= this.o.leaseMs) out.add(id);
    return [...out].sort();
  }

  /** Our epoch of partition `p` while the lease is valid, else undefined. */
  epochOf(p: number): number | undefined {
    const h = this.held.get(p);
    return h && performance.now() < h.until ? h.epoch : undefined;
  }

  /** True while the lease of `p` at `epoch` is ours and valid: the fence every write and commit passes. */
  valid(p: number, epoch: number): boolean {
    return this.epochOf(p) === epoch;
  }

  get owned(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  private serial(p: number, fn: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(p) ?? Promise.resolve()).then(fn, fn);
    this.chains.set(p, next.catch(() => undefined));
    return next;
  }

  /** One round: heartbeat, renewals, balancing. Resolves when the operations it started are done. */
  private async tick(): Promise<void> {
    if (this.ticking || this.closed) return;
    this.ticking = true;
    const ops: Promise<void>[] = [];
    try {
      this.o.kv.put(this.memberKey(this.o.id), enc({ v: 1, id: this.o.id, pid: process.pid })).catch((err: unknown) => this.o.logger.warn({ err }, 'member heartbeat failed'));
      const now = performance.now();
      for (const [p, h] of this.held) {
        if (now >= h.until) this.lose(p, 'expired');
        else ops.push(this.serial(p, () => this.renew(p)));
      }
      const live = this.liveMembers(now);
      this.o.metrics.members.set(live.length);
      const target = assignPartitions(live, this.o.partitions);
      for (let p = 0; p < this.o.partitions; p++) {
        const h = this.held.get(p);
        if (h) {
          const to = target[p]!;
          if (to !== this.o.id && !h.leaving) {
            h.leaving = true;
            this.o.logger.info({ partition: p, epoch: h.epoch, to }, 'handing partition over (balancing)');
            this.o.events.handOver(p, h.epoch);
          }
          continue;
        }
        const s = this.seen.get(p);
        const freeSince = !s ? this.started : !s.value || s.value.owner === null ? s.at : s.at + this.o.leaseMs;
        if (now < freeSince) continue;
        // Ours by the assignment, or free for long enough that whoever it is assigned to is not taking it.
        if (target[p] === this.o.id || now - freeSince >= this.o.leaseMs) ops.push(this.serial(p, () => this.acquire(p)));
      }
    } finally {
      this.ticking = false;
    }
    await Promise.allSettled(ops);
  }

  private async acquire(p: number): Promise<void> {
    if (this.closed || this.held.has(p)) return;
    const s = this.seen.get(p);
    const value: LeaseValue = { v: 1, partition: p, owner: this.o.id, epoch: (s?.value?.epoch ?? 0) + 1 };
    const sent = performance.now();
    try {
      const rev = s ? await this.o.kv.update(this.leaseKey(p), enc(value), s.rev) : await this.o.kv.create(this.leaseKey(p), enc(value));
      if (this.closed) return;
      this.held.set(p, { epoch: value.epoch, rev, until: sent + SAFETY * this.o.leaseMs, leaving: false });
      this.seen.set(p, { rev, value, at: performance.now() });
      this.o.metrics.owned.set({ partition: String(p) }, 1);
      this.o.metrics.leaseEpoch.set({ partition: String(p) }, value.epoch);
      this.o.logger.info({ partition: p, epoch: value.epoch, from: s?.value?.owner ?? null }, 'partition lease acquired');
      this.o.events.acquired(p, value.epoch, s?.value ?? null);
    } catch (err) {
      // Lost the race (someone else's revision is newer): the watch brings it.
      if (!isWrongLastSequence(err)) this.o.logger.warn({ err, partition: p }, 'lease acquisition failed');
    }
  }

  private async renew(p: number): Promise<void> {
    const h = this.held.get(p);
    if (!h) return;
    const value: LeaseValue = { v: 1, partition: p, owner: this.o.id, epoch: h.epoch };
    const sent = performance.now();
    try {
      const rev = await this.o.kv.update(this.leaseKey(p), enc(value), h.rev);
      if (this.held.get(p) !== h) return;
      h.rev = rev;
      h.until = sent + SAFETY * this.o.leaseMs;
    } catch (err) {
      if (!isWrongLastSequence(err)) return this.o.logger.warn({ err, partition: p }, 'lease renewal failed; retrying');
      // Our previous write may have landed without its reply reaching us.
      const e = await this.o.kv.get(this.leaseKey(p)).catch(() => null);
      const v = e && parseLease(e);
      if (this.held.get(p) === h && v && v.owner === this.o.id && v.epoch === h.epoch) h.rev = e!.revision;
      else this.lose(p, 'taken');
    }
  }

  /** Raises the epoch of a held lease above `min` (a commit carries a newer epoch than the lease: the key was purged). */
  async raiseEpoch(p: number, min: number): Promise<number> {
    let epoch = -1;
    await this.serial(p, async () => {
      const h = this.held.get(p);
      if (!h) throw new Error(`partition ${p} is not held`);
      const value: LeaseValue = { v: 1, partition: p, owner: this.o.id, epoch: min + 1 };
      const sent = performance.now();
      h.rev = await this.o.kv.update(this.leaseKey(p), enc(value), h.rev);
      h.epoch = epoch = value.epoch;
      h.until = sent + SAFETY * this.o.leaseMs;
      this.o.metrics.leaseEpoch.set({ partition: String(p) }, epoch);
    });
    return epoch;
  }

  private lose(p: number, why: 'taken' | 'expired'): void {
    const h = this.held.get(p);
    if (!h) return;
    this.held.delete(p);
    this.o.metrics.owned.set({ partition: String(p) }, 0);
    this.o.metrics.leasesLost.inc({ why });
    this.o.logger.warn({ partition: p, epoch: h.epoch, why }, 'partition lease lost; stopping its work');
    this.o.events.lost(p, h.epoch, why);
  }

  /** Gives a partition up (after a clean stop): anyone may take it at once. */
  release(p: number): Promise<void> {
    return this.serial(p, async () => {
      const h = this.held.get(p);
      if (!h) return;
      this.held.delete(p);
      this.o.metrics.owned.set({ partition: String(p) }, 0);
      try {
        await this.o.kv.update(this.leaseKey(p), enc({ v: 1, partition: p, owner: null, epoch: h.epoch } satisfies LeaseValue), h.rev);
        this.o.logger.info({ partition: p, epoch: h.epoch }, 'partition lease released');
      } catch (err) {
        this.o.logger.warn({ err, partition: p }, 'lease release failed; it expires instead');
      }
    });
  }

  /** Stops watching and renewing, and withdraws the member (leases not released expire). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const stop of this.stopWatches) stop();
    await this.o.kv.delete(this.memberKey(this.o.id)).catch(() => undefined);
  }

  /** No more balancing: held leases are only renewed until released or close() (the shutdown, while workers flush). */
  keepRenewing(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      const now = performance.now();
      for (const [p, h] of this.held) {
        if (now >= h.until) this.lose(p, 'expired');
        else void this.serial(p, () => this.renew(p));
      }
    }, this.o.renewMs);
  }
}
