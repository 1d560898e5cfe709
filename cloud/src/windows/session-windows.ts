import { SessionAssigner, SessionTrigger, type CloseReason, type Session, type SessionTiming } from './session.js';

/** Per key (device + sensor) window state: open sessions and the newest reading's event time. */
export interface WindowKey {
  sessions: Session[];
  maxTs: number;
}

export interface WindowConfig extends SessionTiming {
  /** A reading older than its device's newest event time minus this is late. */
  allowedLatenessMs: number;
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
    this.assigner.assign(key.sessions, ts, value, anomalous);
    if (ts > key.maxTs) key.maxTs = ts;
  }

  /** Emits (in start order) and removes every session the watermark has made final. */
  collect(key: WindowKey, deviceTime: number, emit: (s: Session, reason: CloseReason) => void): void {
    const wm = this.watermark(deviceTime);
    let kept = 0;
    const all = key.sessions;
    for (let i = 0; i < all.length; i++) {
      const s = all[i]!;
      const reason = this.trigger.closeReason(s, wm, key.maxTs);
      if (reason) emit(s, reason);
      else all[kept++] = s;
    }
    all.length = kept;
  }

  /** The whole device went silent: every open session ends as a dropout. */
  closeAll(key: WindowKey, emit: (s: Session, reason: CloseReason) => void): void {
    for (const s of key.sessions) emit(s, 'dropout');
    key.sessions.length = 0;
  }
}
