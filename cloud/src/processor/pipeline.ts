import type { AlertEvent, Envelope, Reading, SessionSummary } from '@fieldline/contract';
import { AlertState, alertEvent, stepAlert, type AlertTransition, type ClearPolicy } from '../alerts/alert-state.js';
import type { DetectorResult } from '../detectors/types.js';
import { DetectorResolver, type BoundDetector, type DetectorEntry } from '../detectors/config.js';
import type { Session, CloseReason } from '../windows/session.js';
import { SessionWindows, type WindowConfig, type WindowKey } from '../windows/session-windows.js';
import { Points, readingSeries, type ReadingSeries } from '../influx/points.js';
import type { TiersConfig } from '../influx/tiers.js';
import type { RollupKey } from '../rollups/rollup-windows.js';
import { WindowedOutputs } from '../rollups/outputs.js';
import { SeqWindow } from './seq-window.js';
import { CLOCK_RULE, clockMessage, clockProblem, DEFAULT_CLOCK_LIMITS, plausibleWindow, type ClockLimits, type ClockProblem } from './clock-check.js';

export interface PipelineConfig {
  windows: WindowConfig & { deviceSilenceMs: number };
  detectors: readonly DetectorEntry[];
  alerts: { anomalyScore: number } & ClearPolicy;
  /** Rollup tiers (none when unset). */
  tiers?: Pick<TiersConfig, 'rollups'>;
  /** Which device times are believed (clock-check.ts). @default DEFAULT_CLOCK_LIMITS */
  clock?: ClockLimits;
}

/** Everything one or more envelopes caused; written and published before their messages are acked. */
export class Effects {
  /** InfluxDB points, encoded by the InfluxDB module as they are emitted. */
  points = new Points();
  alerts: AlertEvent[] = [];
  sessions: SessionSummary[] = [];
  readings = 0;
  late = 0;
  duplicates = 0;
  /** Readings whose time cannot be right (clock-check.ts): stored, flagged, not windowed. */
  implausible = 0;
  /** When set (evaluation), each reading's score in order; NaN for a late (unscored) reading. */
  scores?: number[];

  clear(): void {
    this.points = new Points();
    this.alerts = [];
    this.sessions = [];
    this.readings = this.late = this.duplicates = this.implausible = 0;
  }
}

/** Per sensor (exported for checkpoints: pipeline-state.ts reads and rebuilds it). */
export class SensorState implements WindowKey, ReadingSeries {
  sessions: Session[] = [];
  maxTs = -Infinity;
  gapMs: number | undefined = undefined;
  /** Typical sample interval: EWMA of Δt over in-order readings, each step clipped to [÷e, ×e]. */
  interval = NaN;
  /** `maxTs` when this sensor's silence was last reported (one dropout per silence). */
  silencedAt = -Infinity;
  /** Start of this sensor's open `clock` alert (clock-check.ts); NaN when none is open. */
  clockSince = NaN;
  /** Envelope (pipeline-local number) and unit of this sensor's previous reading: `unit` is written once per envelope. */
  unitMark = 0;
  lastUnit: string | undefined;
  /** Rollup windows (rollups/outputs.ts). */
  windowed: RollupKey | undefined = undefined;
  // The sensor is its own line series (ReadingSeries): no object of its own per sensor.
  readonly prefix: string;
  readonly tags: string;
  readonly states: unknown[];
  /**
   * Per detector, its alert's lifecycle; undefined while it has never fired (most sensors, most
   * detectors: five idle states were ~400 B of a sensor's ~2.1 KB). `stepAlert` on an idle state
   * with a clear condition changes nothing, so a state is made when its condition first holds.
   */
  readonly alerts: (AlertState | undefined)[];
  /** `unit`: of the sensor's first reading, which chose its detectors. `states`: restored ones (checkpoints), else fresh. */
  constructor(readonly device: string, readonly id: string, readonly detectors: readonly BoundDetector[], readonly unit: string | undefined, states?: unknown[], alerts?: (AlertState | undefined)[]) {
    const series = readingSeries(device, id);
    this.prefix = series.prefix;
    this.tags = series.tags;
    this.states = states ?? detectors.map((d) => d.detector.init());
    this.alerts = alerts ?? detectors.map((): AlertState | undefined => undefined);
  }

  get sensor(): string {
    return this.id;
  }
}

/** Per device (exported for checkpoints). */
export class DeviceState {
  /** Device event time: newest reading or synced heartbeat clock. */
  time = -Infinity;
  /** How often its event time moves on (EWMA of the steps, each clipped to [÷e, ×e]). */
  interval = NaN;
  silent = false;
  readonly seqs = new SeqWindow();
  readonly sensors = new Map<string, SensorState>();
  constructor(readonly id: string) {}
}

/**
 * The processing of one partition: a pure function of its envelopes in stream order (no clock,
 * no randomness, no timing), so a replay gives the same effects as the live run.
 */
export class PartitionPipeline {
  /** State below is public only for checkpoints (pipeline-state.ts); nothing else touches it. */
  readonly devices = new Map<string, DeviceState>();
  private readonly windows: SessionWindows;
  private readonly resolver: DetectorResolver;
  /** Rollup windows; public for checkpoints (`outputs.snapshot`/`restore` per sensor). */
  readonly outputs: WindowedOutputs;
  /**
   * Partition event time, against which silent devices are judged: the newest device event time
   * seen here, each device's counted at most up to the time its message was stored, so that no
   * device's claims move it past what the stream itself has seen.
   */
  time = -Infinity;
  lastSilenceCheck = -Infinity;
  /**
   * Called before a device's state changes, while a checkpoint is being written beside the
   * processing (pipeline-state.ts `SnapshotCut`: it writes the device first). Unset otherwise.
   */
  beforeChange: ((d: DeviceState) => void) | undefined = undefined;
  /** Numbers the envelopes processed, only to tell "first reading of a sensor in this envelope". */
  private mark = 0;

  // What `onClosed` closes for: set before each `collect` (one callback made once, not a closure
  // per sensor and message).
  private readonly closing: { d: DeviceState | undefined; s: SensorState | undefined; fx: Effects | undefined } = { d: undefined, s: undefined, fx: undefined };
  private readonly onClosed = (session: Session, why: CloseReason): void => this.closed(this.closing.d!, this.closing.s!, session, why, this.closing.fx!);

  constructor(readonly cfg: PipelineConfig) {
    this.windows = new SessionWindows(cfg.windows);
    this.resolver = new DetectorResolver(cfg.detectors);
    this.outputs = new WindowedOutputs(cfg.tiers, cfg.windows.allowedLatenessMs);
  }

  /** The detectors a sensor gets (the unit of its first reading decides). */
  detectorsFor(device: string, sensor: string, unit: string | undefined): readonly BoundDetector[] {
    return this.resolver.resolve(device, sensor, unit);
  }

  get openSessions(): number {
    let n = 0;
    for (const d of this.devices.values()) for (const s of d.sensors.values()) n += s.sessions.length;
    return n;
  }

  get sensorCount(): number {
    let n = 0;
    for (const d of this.devices.values()) n += d.sensors.size;
    return n;
  }

  /**
   * `valueTexts`: the JSON text of each reading's value, if known (see value-texts.ts).
   * `storedMs`: when JetStream stored the message (its `info.timestampNanos`); the device's times
   * are checked against it (clock-check.ts). Undefined (evaluate's recorded series): not checked.
   */
  process(env: Envelope, fx: Effects, valueTexts?: readonly (string | undefined)[], storedMs?: number): void {
    let d = this.devices.get(env.device);
    if (!d) this.devices.set(env.device, (d = new DeviceState(env.device)));
    else if (this.beforeChange) this.beforeChange(d);
    // A batch already processed (edge retry, JetStream redelivery) changes nothing (guarantee 2).
    if (!d.seqs.accept(env.epoch, env.seq)) {
      fx.duplicates++;
      return;
    }
    d.silent = false;
    const before = d.time;
    let newest = before;
    const mark = ++this.mark;
    const readings = env.readings;
    const plausible = plausibleWindow(this.cfg.clock ?? DEFAULT_CLOCK_LIMITS, storedMs, env.clock.synced);
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      const problem = clockProblem(r.ts, plausible);
      if (problem) {
        this.implausible(d, r, valueTexts?.[i], mark, problem, storedMs!, fx);
        continue;
      }
      if (r.ts > newest) newest = r.ts;
      this.reading(d, r, valueTexts?.[i], before, mark, fx);
    }
    if (env.readings.length === 0 && env.clock.synced && env.clock.now > newest && !clockProblem(env.clock.now, plausible)) newest = env.clock.now;
    if (newest > before) {
      if (before > -Infinity) {
        const step = newest - before;
        const iv = d.interval;
        d.interval = Number.isNaN(iv) ? step : iv + 0.05 * ((step > iv * Math.E ? iv * Math.E : step < iv / Math.E ? iv / Math.E : step) - iv);
      }
      d.time = newest;
      const wm = this.windows.watermark(newest);
      this.closing.d = d;
      this.closing.fx = fx;
      for (const s of d.sensors.values()) {
        this.closing.s = s;
        this.windows.collect(s, newest, this.onClosed);
        this.outputs.advance(s, newest, fx);
        // A session cut at maxLengthMs closes as max_length, not dropout: if the sensor then
        // stays silent there is no session left to say so, so the silence is judged here.
        if (s.sessions.length === 0 && s.silencedAt !== s.maxTs && wm >= s.maxTs + this.gapOf(s)) this.silent(d, s, s.maxTs + this.gapOf(s), fx);
      }
      const upTo = storedMs !== undefined && storedMs < newest ? storedMs : newest;
      if (upTo > this.time) this.time = upTo;
      this.checkSilence(fx);
    }
  }

  private sensor(d: DeviceState, r: Reading): SensorState {
    let s = d.sensors.get(r.sensor);
    if (!s) d.sensors.set(r.sensor, (s = new SensorState(d.id, r.sensor, this.resolver.resolve(d.id, r.sensor, r.unit), r.unit)));
    return s;
  }

  /** The unit goes on the sensor's first reading of the envelope (and wherever it changes within it): a function of the message alone. */
  private withUnit(s: SensorState, r: Reading, mark: number): boolean {
    const withUnit = s.unitMark !== mark || s.lastUnit !== r.unit;
    s.unitMark = mark;
    s.lastUnit = r.unit;
    return withUnit;
  }

  private reading(d: DeviceState, r: Reading, valueText: string | undefined, deviceTime: number, mark: number, fx: Effects): void {
    fx.readings++;
    const s = this.sensor(d, r);
    const withUnit = this.withUnit(s, r, mark);
    if (!Number.isNaN(s.clockSince)) {
      const start = s.clockSince;
      s.clockSince = NaN;
      this.alert(this.clockAlert(d, s, { state: 'resolved', start, end: r.ts }, r.value, `clock right again: reading stamped ${new Date(r.ts).toISOString()}`), fx);
    }
    // Rollups see every reading, late ones too: the raw points hold them all (not implausible ones: their times are not believed).
    this.outputs.reading(s, r.ts, r.value, deviceTime, fx);
    if (this.windows.isLate(r.ts, deviceTime)) {
      // Side output: counted and stored, never silently dropped; not windowed or scored.
      fx.late++;
      fx.scores?.push(NaN);
      fx.points.late(s, r, deviceTime - r.ts, withUnit, valueText);
      return;
    }
    let score = 0;
    const dets = s.detectors;
    for (let i = 0; i < dets.length; i++) {
      const b = dets[i]!;
      const st = s.states[i];
      const res = b.detector.update(st, r.ts, r.value);
      if (res.score > score) score = res.score;
      const t = this.stepAlertOf(s, i, res.at ?? r.ts, res);
      if (t) this.alert(alertEvent({ device: d.id, sensor: s.id, rule: b.rule, severity: b.severity }, t, r.value, res.score, b.detector.describe(st, r.value)), fx);
    }
    const dt = r.ts - s.maxTs;
    if (dt > 0 && dt < Infinity) {
      const iv = s.interval;
      s.interval = Number.isNaN(iv) ? dt : iv + 0.05 * ((dt > iv * Math.E ? iv * Math.E : dt < iv / Math.E ? iv / Math.E : dt) - iv);
      s.gapMs = this.windows.gapFor(s.interval);
    }
    this.windows.add(s, r.ts, r.value, score >= this.cfg.alerts.anomalyScore);
    fx.scores?.push(score);
    fx.points.reading(s, r, score, withUnit, valueText);
  }

  /**
   * A reading whose time cannot be right (clock-check.ts): stored in `readings` with quality
   * uncertain and the reason, counted, and flagged once per episode by a `clock` alert starting
   * when its message was stored; not windowed, scored, or allowed to move event time.
   */
  private implausible(d: DeviceState, r: Reading, valueText: string | undefined, mark: number, problem: ClockProblem, storedMs: number, fx: Effects): void {
    fx.readings++;
    fx.implausible++;
    const s = this.sensor(d, r);
    fx.scores?.push(NaN);
    fx.points.implausible(s, r, problem, this.withUnit(s, r, mark), valueText);
    if (!Number.isNaN(s.clockSince)) return;
    s.clockSince = storedMs;
    this.alert(this.clockAlert(d, s, { state: 'firing', start: storedMs }, r.value, clockMessage(problem, r.ts, storedMs, this.cfg.clock ?? DEFAULT_CLOCK_LIMITS)), fx);
  }

  /** Detector `i`'s alert transition at `ts`, if any; its state is made when its condition first holds (`SensorState.alerts`). */
  private stepAlertOf(s: SensorState, i: number, ts: number, res: DetectorResult): AlertTransition | null | undefined {
    const a = s.alerts[i] ?? (res.active ? (s.alerts[i] = new AlertState()) : undefined);
    return a && stepAlert(a, ts, res, this.cfg.alerts);
  }

  private clockAlert(d: DeviceState, s: SensorState, t: AlertTransition, value: number, message: string): AlertEvent {
    return alertEvent({ device: d.id, sensor: s.id, rule: CLOCK_RULE, severity: 'warning' }, t, value, 1, message);
  }

  private alert(a: AlertEvent, fx: Effects): void {
    fx.alerts.push(a);
    fx.points.alert(a);
  }

  private closed(d: DeviceState, s: SensorState, session: Session, closedBy: CloseReason, fx: Effects): void {
    const summary: SessionSummary = {
      v: 1,
      device: d.id,
      sensor: s.id,
      start: session.start,
      end: session.end,
      count: session.count,
      min: session.min,
      max: session.max,
      mean: session.mean,
      stddev: session.stddev,
      anomalies: session.anomalies,
      closedBy,
    };
    fx.sessions.push(summary);
    fx.points.session(summary, s);
    if (closedBy === 'dropout' && s.silencedAt !== s.maxTs) this.silent(d, s, session.end + this.gapOf(s), fx);
  }

  private gapOf(s: SensorState): number {
    return s.gapMs ?? this.cfg.windows.gapMs;
  }

  /** The sensor fell silent at `silentAt` (event time): the detectors' `onSilence`. */
  private silent(d: DeviceState, s: SensorState, silentAt: number, fx: Effects): void {
    s.silencedAt = s.maxTs;
    // One reading says nothing of how often the sensor reports: its silence is not yet a dropout
    // (a slow sensor would be "silent" for the default gap after its first reading).
    if (Number.isNaN(s.interval)) return;
    s.detectors.forEach((b, i) => {
      const st = s.states[i];
      const res = b.detector.onSilence?.(st, silentAt);
      if (!res) return;
      const t = this.stepAlertOf(s, i, res.at ?? silentAt, res);
      // No reading to quote: the value of a silence is 0.
      if (t) this.alert(alertEvent({ device: d.id, sensor: s.id, rule: b.rule, severity: b.severity }, t, 0, res.score, b.detector.describe(st, 0)), fx);
    });
  }

  /** A device silent altogether: judged against the partition's event time, in steps so it stays cheap. */
  private checkSilence(fx: Effects): void {
    const limit = this.cfg.windows.deviceSilenceMs;
    if (this.time - this.lastSilenceCheck < limit / 4) return;
    this.lastSilenceCheck = this.time;
    // A device that reports every 5 minutes is not silent after 2: its limit is at least
    // gapReadings of its own intervals (as a sensor's gap), capped at maxLengthMs. One message
    // says nothing of how often it reports, so a device needs two before it can fall silent.
    const k = this.cfg.windows.gapReadings ?? 0;
    for (const d of this.devices.values()) {
      if (d.silent || Number.isNaN(d.interval)) continue;
      const own = Math.min(k * d.interval, this.cfg.windows.maxLengthMs);
      if (this.time - d.time < (own > limit ? own : limit)) continue;
      // Only the devices it changes are written first: writing them all (one 3.7-6.8 MB state of
      // the bench in one piece) held every partition for 20-240 ms when the check fell in a cut.
      if (this.beforeChange) this.beforeChange(d);
      d.silent = true;
      for (const s of d.sensors.values()) {
        this.windows.closeAll(s, (session, why) => this.closed(d, s, session, why, fx));
        if (s.silencedAt !== s.maxTs) this.silent(d, s, s.maxTs + this.gapOf(s), fx);
      }
    }
  }
}
