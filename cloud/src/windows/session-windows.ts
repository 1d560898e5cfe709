import { SessionAssigner, SessionTrigger, type CloseReason, type Session, type SessionTiming } from './session.js';

/** Per key (device + sensor) window state: open sessions and the newest reading's event time. */
export interface WindowKey {
  sessions: Session[];
  maxTs: number;
  /** This key's inactivity gap, when it differs from the configured one (see `gapFor`). */
  gapMs?: number;
}

export interface WindowConfig extends SessionTiming {
  /** A reading older than its device's newest event time minus this is late. */
  allowedLatenessMs: number;
  /**
   * A key's gap is at least this many of its own sample intervals (0: always `gapMs`), so a sensor
   * that reports every 5 minutes has sessions of many readings, not one session per reading. Capped
   * at `maxLengthMs`.
   */
  gapReadings?: number;
}

/**
 * Event-time session windows for keys that share a device clock. The caller keeps each device's
 * event time (newest reading or heartbeat); the watermark is that minus the allowed lateness,
 * per device, so one device replaying an old backlog is never late because of the others.
 */
export class SessionWindows {
  readonly assigner: SessionAssigner;
  readonly trigger: SessionTrigger;

  constructor(readonly config: WindowConfig) {
    this.assigner = new SessionAssigner(config);
    this.trigger = new SessionTrigger(config);
  }

  static newKey(): WindowKey {
    return { sessions: [], maxTs: -Infinity };
  }

  watermark(deviceTime: number): number {
    return deviceTime - this.config.allowedLatenessMs;
  }

  /** Late readings go to the side output instead of `add`. */
  isLate(ts: number, deviceTime: number): boolean {
    return ts < this.watermark(deviceTime);
  }

  add(key: WindowKey, ts: number, value: number, anomalous: boolean): void {
    this.assigner.assign(key.sessions, ts, value, anomalous, key.gapMs ?? this.config.gapMs);
    if (ts > key.maxTs) key.maxTs = ts;
  }

  /** The gap for a key whose typical sample interval is `intervalMs` (see `gapReadings`). */
  gapFor(intervalMs: number): number {
    const k = this.config.gapReadings ?? 0;
    const g = k * intervalMs;
    return g > this.config.gapMs ? Math.min(g, this.config.maxLengthMs) : this.config.gapMs;
  }

  /** Emits (in start order) and removes every session the watermark has made final. */
  collect(key: WindowKey, deviceTime: number, emit: (s: Session, reason: CloseReason) => void): void {
    const wm = this.watermark(deviceTime);
    let kept = 0;
    const all = key.sessions;
    for (let i = 0; i < all.length; i++) {
      const s = all[i]!;
      const reason = this.trigger.closeReason(s, wm, key.maxTs, key.gapMs ?? this.config.gapMs);
      if (reason) emit(s, reason);
      else all[kept++] = s;
    }
    // Setting an array's length is a call into the runtime even when nothing changes (once per
    // sensor and message).
    if (kept !== all.length) all.length = kept;
  }

  /** The whole device went silent: every open session ends as a dropout. */
  closeAll(key: WindowKey, emit: (s: Session, reason: CloseReason) => void): void {
    for (const s of key.sessions) emit(s, 'dropout');
    key.sessions.length = 0;
  }
}
