/**
 * The ledger: what firmware-sim sent (device, sensor, ts, value) against what the pipeline kept
 * (InfluxDB `readings`, the TELEMETRY stream, ALERTS and SESSIONS), reading by reading. Pure: the
 * scenario collects (read.ts), this compares. Zero of everything is the pass, unless a scenario
 * states a counted drop or a window nobody could read (an agent that was dead).
 */
import type { AlertEvent, Envelope, SessionSummary } from '@fieldline/contract';

export interface SentReading {
  device: string;
  sensor: string;
  ts: number;
  value: number;
}

export interface StoredReading {
  device: string;
  sensor: string;
  /** InfluxDB time, integer microseconds. */
  tsUs: number;
  value: number;
  quality?: string;
  clock?: string;
}

/** One envelope of the TELEMETRY log (a bundle's one by one, contract bundle.ts). */
export interface TelemetryMessage {
  /** Stream sequence. */
  seq: number;
  msgId: string;
  env: Envelope;
  /** It came in a bundle. @default false */
  bundled?: boolean;
}

/** An alert the scenario's ground truth calls for: `firing` with `start` in `[from, to]`. */
export interface ExpectedAlert {
  device: string;
  sensor: string;
  rule: string;
  from: number;
  to: number;
  /** It must also resolve. @default true */
  resolves?: boolean;
}

export interface LedgerOptions {
  /** Readings nobody could read (the agent was dead): those missing with `ts` in a window are tolerated, and counted. */
  unobservable?: { device: string; from: number; to: number }[];
  /**
   * The stated drops of the edge's queue policy: `dropped` readings reported (counter and status
   * message), of which `inDoubt` had been sent before and may have arrived. Lost must be at least
   * `dropped - inDoubt` and at most `dropped` (exactly `dropped` when none was in doubt).
   */
  counted?: { device: string; dropped: number; inDoubt: number }[];
  /** The edge's rule for a time that does not increase per sensor (edge/src/clock.ts): previous + 1 µs across a step back of up to a minute. */
  edgeStamps?: boolean;
  /** How a reading must be marked in InfluxDB (a synced clock at 1970: uncertain, before_earliest); undefined = unmarked. */
  mark?: (r: SentReading) => { quality: string; clock?: string } | undefined;
  /** Alert rules the ledger judges (alerts of other rules are ignored), and the alerts the ground truth calls for. */
  alerts?: { rules: readonly string[]; expected: ExpectedAlert[] };
  /** Details kept in the report. @default 20 */
  maxProblems?: number;
}

export interface LedgerReport {
  sent: number;
  stored: number;
  lost: number;
  /** Missing but allowed: unobservable windows, counted drops. */
  tolerated: number;
  /** A reading in more than one TELEMETRY message, an alert transition or session published twice. */
  duplicated: number;
  /**
   * Batches in TELEMETRY again because a bundle was re-sent cut differently (after a gateway
   * crash or a switch): JetStream's dedup cannot see them, the processor drops them by batch id.
   * Not a fault of the log; the results (`stored`, alerts) must still hold each reading once.
   */
  rebundled: number;
  /** Stored with another value or marking than sent, or stored and never sent. */
  altered: number;
  /** A reading in TELEMETRY after one of its sensor that was sent later, or a batch after a later batch of its device. */
  outOfOrder: number;
  alerts: { expected: number; missing: number; unexpected: number; duplicated: number };
  problems: string[];
}

const us = (ts: number): number => Math.round(ts * 1000);
const key = (device: string, sensor: string, tsUs: number): string => `${device}\u0000${sensor}\u0000${tsUs}`;
const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The times the edge stamps (edge/src/clock.ts): per sensor in order sent, a time at or up to a
 * minute before the previous one becomes previous + 1 µs; a bigger step back is kept.
 */
export function edgeStamped(sent: readonly SentReading[]): SentReading[] {
  const last = new Map<string, number>();
  return sent.map((r) => {
    const k = `${r.device}\u0000${r.sensor}`;
    const prev = last.get(k);
    let t = us(r.ts);
    if (prev !== undefined && t <= prev && prev - t <= 60_000_000) t = prev + 1;
    last.set(k, t);
    return { ...r, ts: t / 1000 };
  });
}

export function checkLedger(
  input: { sent: readonly SentReading[]; stored: readonly StoredReading[]; telemetry: readonly TelemetryMessage[]; alerts?: readonly AlertEvent[]; sessions?: readonly SessionSummary[] },
  opts: LedgerOptions = {},
): LedgerReport {
  const maxProblems = opts.maxProblems ?? 20;
  const problems: string[] = [];
  const note = (p: string): void => void (problems.length < maxProblems && problems.push(p));
  const sent = opts.edgeStamps ? edgeStamped(input.sent) : input.sent;
  const devices = new Set(sent.map((r) => r.device));
  const expected = new Map<string, SentReading>();
  for (const r of sent) expected.set(key(r.device, r.sensor, us(r.ts)), r);

  let altered = 0;
  const stored = new Map<string, StoredReading>();
  for (const s of input.stored) {
    if (!devices.has(s.device)) continue;
    const k = key(s.device, s.sensor, s.tsUs);
    stored.set(k, s);
    const want = expected.get(k);
    if (!want) {
      altered++;
      note(`stored but never sent: ${s.device}/${s.sensor} at ${iso(s.tsUs / 1000)} value ${s.value}`);
      continue;
    }
    const mark = opts.mark?.(want);
    if (s.value !== want.value || (s.quality ?? undefined) !== mark?.quality || (s.clock ?? undefined) !== mark?.clock) {
      altered++;
      note(`altered: ${s.device}/${s.sensor} at ${iso(want.ts)}: sent ${want.value}${mark ? ` (${JSON.stringify(mark)})` : ''}, stored ${s.value} quality ${s.quality ?? '-'} clock ${s.clock ?? '-'}`);
    }
  }

  // Missing readings, less what the scenario allows.
  const lostPerDevice = new Map<string, SentReading[]>();
  for (const [k, r] of expected) {
    if (stored.has(k)) continue;
    let list = lostPerDevice.get(r.device);
    if (!list) lostPerDevice.set(r.device, (list = []));
    list.push(r);
  }
  // Where a lost reading got to: in TELEMETRY (lost after the gateway) or not (before it).
  const logged = new Map<string, TelemetryMessage>();
  if (lostPerDevice.size) for (const m of input.telemetry) for (const r of m.env.readings) logged.set(key(m.env.device, r.sensor, us(r.ts)), m);
  const where = (r: SentReading): string => {
    const m = logged.get(key(r.device, r.sensor, us(r.ts)));
    return m ? `in TELEMETRY (stream seq ${m.seq}, batch ${m.msgId}), not stored` : 'not in TELEMETRY';
  };
  let lost = 0;
  let tolerated = 0;
  for (const [device, list] of lostPerDevice) {
    const windows = (opts.unobservable ?? []).filter((w) => w.device === device);
    const left = list.filter((r) => !windows.some((w) => r.ts >= w.from && r.ts <= w.to));
    tolerated += list.length - left.length;
    const counted = opts.counted?.find((c) => c.device === device);
    if (counted && left.length >= counted.dropped - counted.inDoubt && left.length <= counted.dropped) {
      tolerated += left.length;
      continue;
    }
    if (counted) note(`${device}: ${left.length} readings missing, but the edge reported ${counted.dropped} dropped (${counted.inDoubt} of them sent before)`);
    lost += left.length;
    if (left.length) note(`${device}: ${left.length} readings lost`);
    for (const r of left.slice(0, 3)) note(`lost: ${r.device}/${r.sensor} at ${iso(r.ts)} value ${r.value}: ${where(r)}`);
  }
  for (const c of opts.counted ?? []) {
    if (!lostPerDevice.has(c.device) && c.dropped - c.inDoubt > 0) {
      lost += c.dropped - c.inDoubt;
      note(`${c.device}: the edge reported ${c.dropped} readings dropped, but none is missing`);
    }
  }

  // The log: each reading once, each sensor's readings and each device's batches in order.
  let duplicated = 0;
  let rebundled = 0;
  let outOfOrder = 0;
  const seen = new Set<string>();
  // Batches stored before, and whether a copy came in a bundle: a repeat is explained when one did.
  const batches = new Map<string, boolean>();
  // Order is the order sent (a board clock that jumps back sends older times later, in order).
  const order = new Map<string, number>();
  sent.forEach((r, i) => order.set(key(r.device, r.sensor, us(r.ts)), i));
  const newest = new Map<string, number>();
  const lastBatch = new Map<string, number>();
  for (const m of input.telemetry) {
    const env = m.env;
    if (!devices.has(env.device)) continue;
    const stream = `${env.device}:${env.epoch}`;
    const id = `${stream}:${env.seq}`;
    const before = batches.get(id);
    batches.set(id, (before ?? false) || !!m.bundled);
    if (before !== undefined && (before || m.bundled)) {
      rebundled++;
      continue;
    }
    if (env.readings.length > 0) {
      const prev = lastBatch.get(stream) ?? 0;
      if (env.seq <= prev) {
        outOfOrder++;
        note(`batch ${env.device}:${env.epoch}:${env.seq} stored after batch ${prev} (stream seq ${m.seq})`);
      }
      lastBatch.set(stream, Math.max(prev, env.seq));
    }
    for (const r of env.readings) {
      const k = key(env.device, r.sensor, us(r.ts));
      if (seen.has(k)) {
        duplicated++;
        note(`in TELEMETRY twice: ${env.device}/${r.sensor} at ${iso(r.ts)} (again in ${m.msgId})`);
        continue;
      }
      seen.add(k);
      const sk = `${env.device}\u0000${r.sensor}`;
      const at = order.get(k);
      if (at === undefined) continue;
      const n = newest.get(sk) ?? -1;
      if (at <= n) {
        outOfOrder++;
        note(`out of order: ${env.device}/${r.sensor} at ${iso(r.ts)} stored after a reading sent later (in ${m.msgId})`);
      } else newest.set(sk, at);
    }
  }

  // Outputs: each alert transition and each session published once.
  const transitions = new Map<string, number>();
  for (const a of input.alerts ?? []) {
    if (!devices.has(a.device)) continue;
    const k = `${a.id}:${a.state}`;
    transitions.set(k, (transitions.get(k) ?? 0) + 1);
  }
  let alertDuplicates = 0;
  for (const [k, n] of transitions) {
    if (n > 1) {
      alertDuplicates += n - 1;
      note(`alert transition published ${n} times: ${k}`);
    }
  }
  const sessionKeys = new Map<string, SessionSummary[]>();
  for (const s of input.sessions ?? []) {
    if (!devices.has(s.device)) continue;
    const k = `${s.device}\u0000${s.sensor}`;
    let list = sessionKeys.get(k);
    if (!list) sessionKeys.set(k, (list = []));
    list.push(s);
  }
  for (const list of sessionKeys.values()) {
    const sorted = [...list].sort((a, b) => a.start - b.start || a.end - b.end);
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1]!;
      const b = sorted[i]!;
      if (b.start <= a.end) {
        duplicated++;
        note(`session ${b.device}/${b.sensor} ${iso(b.start)}..${iso(b.end)} overlaps ${iso(a.start)}..${iso(a.end)} (published twice?)`);
      }
    }
  }
  duplicated += alertDuplicates;

  // Alerts against the ground truth.
  let missing = 0;
  let unexpected = 0;
  const judged = opts.alerts;
  if (judged) {
    const firing = (input.alerts ?? []).filter((a) => devices.has(a.device) && judged.rules.includes(a.rule) && a.state === 'firing');
    const ids = new Map<string, AlertEvent>();
    for (const a of firing) ids.set(a.id, a);
    const matched = new Set<string>();
    for (const e of judged.expected) {
      const hit = [...ids.values()].find((a) => a.device === e.device && a.sensor === e.sensor && a.rule === e.rule && a.start >= e.from && a.start <= e.to && !matched.has(a.id));
      if (!hit) {
        missing++;
        note(`alert missing: ${e.rule} on ${e.device}/${e.sensor} starting in ${iso(e.from)}..${iso(e.to)}`);
        continue;
      }
      matched.add(hit.id);
      if ((e.resolves ?? true) && !(input.alerts ?? []).some((a) => a.id === hit.id && a.state === 'resolved')) {
        missing++;
        note(`alert never resolved: ${hit.id}`);
      }
    }
    for (const id of ids.keys()) {
      if (matched.has(id)) continue;
      unexpected++;
      note(`alert not in the ground truth: ${id}`);
    }
  }

  return {
    sent: sent.length,
    stored: [...stored.keys()].filter((k) => expected.has(k)).length,
    lost,
    tolerated,
    duplicated,
    rebundled,
    altered,
    outOfOrder,
    alerts: { expected: judged?.expected.length ?? 0, missing, unexpected, duplicated: alertDuplicates },
    problems,
  };
}

/** True when the ledger is exact: nothing lost beyond what is tolerated, duplicated, altered or out of order, and alerts as the ground truth says. */
export function isExact(r: LedgerReport): boolean {
  return r.lost === 0 && r.duplicated === 0 && r.altered === 0 && r.outOfOrder === 0 && r.alerts.missing === 0 && r.alerts.unexpected === 0;
}
