import { existsSync, readFileSync } from 'node:fs';

/** Where the agent gets time from. Injectable so tests can step the wall clock and toggle sync. */
export interface ClockSource {
  /** Wall clock, epoch ms. */
  now(): number;
  /** Monotonic ms; comparable across processes of one boot (CLOCK_MONOTONIC). */
  mono(): number;
  /** True when the wall clock is known good (NTP synced). */
  synced(): boolean;
  /** Identifies the boot: monotonic times compare only within one boot. */
  readonly bootId: string;
}

// A Raspberry Pi without RTC boots at 1970 or a stale fake-hwclock time: anything before this is unsynced.
const EARLIEST_PLAUSIBLE_MS = Date.UTC(2024, 0, 1);

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/[^a-z0-9]/g, '') || 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface SystemClockOptions {
  /** Exists while NTP is synced (systemd-timesyncd writes it). */
  syncedFile: string;
  assumeSynced: boolean;
  /** How often the file is checked. */
  checkMs: number;
}

/** The real clock: `Date.now()`, `process.hrtime` (CLOCK_MONOTONIC), sync from systemd-timesyncd. */
export class SystemClock implements ClockSource {
  readonly bootId = readBootId();
  private syncedCache = false;
  private checkedAt = -Infinity;

  constructor(private readonly opts: SystemClockOptions) {}

  now(): number {
    return Date.now();
  }

  mono(): number {
    return Number(process.hrtime.bigint()) / 1e6;
  }

  synced(): boolean {
    const m = this.mono();
    if (m - this.checkedAt >= this.opts.checkMs) {
      this.checkedAt = m;
      this.syncedCache = this.opts.assumeSynced || existsSync(this.opts.syncedFile);
    }
    return this.syncedCache && this.now() >= EARLIEST_PLAUSIBLE_MS;
  }
}

/** A clock tests drive by hand: `step()` moves the wall clock (either way), `advance()` both. */
export class ManualClock implements ClockSource {
  readonly bootId: string;
  private wall: number;
  private monoMs = 1000;
  isSynced: boolean;

  constructor(opts: { now?: number; synced?: boolean; bootId?: string } = {}) {
    this.wall = opts.now ?? Date.UTC(2026, 0, 1);
    this.isSynced = opts.synced ?? true;
    this.bootId = opts.bootId ?? 'manualboot';
  }

  now(): number {
    return this.wall;
  }

  mono(): number {
    return this.monoMs;
  }

  synced(): boolean {
    return this.isSynced;
  }

  /** Time passes: wall and monotonic clocks both move forward. */
  advance(ms: number): void {
    this.wall += ms;
    this.monoMs += ms;
  }

  /** The wall clock is set (NTP step, manual date): the monotonic clock does not move. */
  step(ms: number): void {
    this.wall += ms;
  }
}

/** Rounds to the contract's finest resolution (1 µs). */
const toMicros = (ms: number): number => Math.round(ms * 1000) / 1000;

/**
 * Largest step back (ms) that is smoothed over. An NTP correction or two frames in one read step
 * back by less; a clock that jumps back further (an hour, or from 2100 to now) is broken on one
 * side of the jump, and smoothing it would stamp every later reading just after the wrong time
 * (after a jump to 2100, forever). Equal to the processor's default `clock.maxAheadMs`.
 */
export const MAX_SMOOTHED_STEP_MS = 60_000;

/**
 * Makes event times strictly increasing per sensor across small steps: a time at or up to
 * {@link MAX_SMOOTHED_STEP_MS} before the sensor's last one (clock stepped back a little, two
 * frames in one read) becomes last + 1 µs, so no two readings collide. A bigger step back is kept
 * as it is: the processor judges it (late readings, or a clock that had run ahead).
 */
export class Timestamper {
  private readonly last = new Map<string, number>();

  stamp(sensor: string, ts: number): number {
    const prev = this.last.get(sensor);
    let t = toMicros(ts);
    if (prev !== undefined && t <= prev && prev - t <= MAX_SMOOTHED_STEP_MS) t = toMicros(prev + 0.001);
    this.last.set(sensor, t);
    return t;
  }
}
