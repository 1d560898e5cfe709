/** Why a session closed (contract `SessionSummary.closedBy`). */
export type CloseReason = 'gap' | 'max_length' | 'dropout';

/**
 * One open session's aggregate: constant size whatever its length (Welford mean/variance), so
 * state per sensor stays small.
 */
export class Session {
  constructor(
    /** Max-length slot: sessions never span a multiple of `maxLengthMs` in event time. */
    readonly slot: number,
    public start: number,
    public end: number,
    public count = 0,
    public mean = 0,
    public m2 = 0,
    public min = Infinity,
    public max = -Infinity,
    public anomalies = 0,
  ) {}

  static of(slot: number, ts: number, value: number, anomalous: boolean): Session {
    const s = new Session(slot, ts, ts);
    s.add(ts, value, anomalous);
    return s;
  }

  add(ts: number, value: number, anomalous: boolean): void {
    if (ts < this.start) this.start = ts;
    if (ts > this.end) this.end = ts;
    this.count++;
    const d = value - this.mean;
    this.mean += d / this.count;
    this.m2 += d * (value - this.mean);
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (anomalous) this.anomalies++;
  }

  /** Population standard deviation. */
  get stddev(): number {
    return this.count > 0 ? Math.sqrt(Math.max(0, this.m2 / this.count)) : 0;
  }
}

/** Merges two sessions' aggregates (Chan et al. parallel variance) into `a`. */
export function mergeSessions(a: Session, b: Session): Session {
  const n = a.count + b.count;
  const d = b.mean - a.mean;
  a.mean += (d * b.count) / n;
  a.m2 += b.m2 + (d * d * a.count * b.count) / n;
  a.count = n;
  a.start = Math.min(a.start, b.start);
  a.end = Math.max(a.end, b.end);
  a.min = Math.min(a.min, b.min);
  a.max = Math.max(a.max, b.max);
  a.anomalies += b.anomalies;
  return a;
}

export interface SessionTiming {
  /** Inactivity gap: readings this far apart (or more) are in different sessions. */
  gapMs: number;
  /** Sessions are cut at multiples of this in event time, so the cut does not depend on arrival order. */
  maxLengthMs: number;
}

/**
 * Assigner: puts a reading into the open sessions of its key, creating a session and merging
 * every session it bridges (a late reading between two sessions joins them, as in Flink and
 * Kafka Streams). `sessions` stays sorted by start and pairwise more than a gap apart.
 */
export class SessionAssigner {
  constructor(private readonly t: SessionTiming) {}

  slotOf(ts: number): number {
    return Math.floor(ts / this.t.maxLengthMs);
  }

  /** `gap`: this key's inactivity gap (see `WindowKey.gapMs`). */
  assign(sessions: Session[], ts: number, value: number, anomalous: boolean, gap = this.t.gapMs): void {
    const slot = this.slotOf(ts);
    let first = -1;
    let last = -1;
    for (let i = 0; i < sessions.length; i++) {
      const s = sessions[i]!;
      if (s.slot === slot && ts > s.start - gap && ts < s.end + gap) {
        if (first < 0) first = i;
        last = i;
      }
    }
    if (first < 0) {
      let at = 0;
      while (at < sessions.length && sessions[at]!.start < ts) at++;
      sessions.splice(at, 0, Session.of(slot, ts, value, anomalous));
      return;
    }
    const target = sessions[first]!;
    target.add(ts, value, anomalous);
    for (let i = first + 1; i <= last; i++) mergeSessions(target, sessions[i]!);
    if (last > first) sessions.splice(first + 1, last - first);
  }
}

/**
 * Trigger: a session is final once the key's watermark (device event time − allowed lateness)
 * passes its end + gap or its slot's end, because any reading that could still change it would
 * be older than the watermark and so go to the late output instead.
 */
export class SessionTrigger {
  constructor(private readonly t: SessionTiming) {}

  /**
   * `sensorMaxTs` is the newest reading of this sensor: if it is past the gap the sensor itself
   * moved on (`gap`); if only its device's clock did, the sensor fell silent (`dropout`).
   */
  closeReason(s: Session, watermark: number, sensorMaxTs: number, gap = this.t.gapMs): CloseReason | null {
    const slotEnd = (s.slot + 1) * this.t.maxLengthMs;
    const gapEnd = s.end + gap;
    if (gapEnd > slotEnd) return watermark >= slotEnd ? 'max_length' : null;
    if (watermark < gapEnd) return null;
    return sensorMaxTs >= gapEnd ? 'gap' : 'dropout';
  }
}
