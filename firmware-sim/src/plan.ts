import { normalAt, deriveSeed } from './prng.js';
import { readReplayCsv, type ReplayRow } from './replay.js';
import type { AnomalyKind, Board, Channel, Scenario } from './scenario.js';
import { cleanValue, quantise, signalParams, type SignalParams } from './signals.js';

/** One labelled anomaly: `[start, end)` in event time (epoch ms). Detector quality is scored against these. */
export interface GroundTruthRecord {
  device: string;
  /** The channel name (the edge maps a channel to the same sensor id by default). */
  sensor: string;
  kind: AnomalyKind;
  start: number;
  end: number;
}

interface ActiveAnomaly {
  kind: AnomalyKind;
  start: number;
  end: number;
  magnitude: number;
  seed: number;
  /** stuck: the value held. */
  held: number;
}

/** A channel with its model resolved and its anomalies placed in event time. */
export interface ChannelPlan {
  channel: Channel;
  params: SignalParams;
  seed: number;
  anomalies: ActiveAnomaly[];
  replay?: ReplayRow[];
}

/**
 * A board compiled from the scenario: tick k's virtual schedule time, event time, board clock and
 * values. Pure functions of (scenario, seed, k), shared by the generator and the serial boards,
 * so both produce the same values.
 */
export class BoardPlan {
  readonly channels: ChannelPlan[];
  readonly groundTruth: GroundTruthRecord[] = [];
  /** Ticks in the plan (finite only for replay). */
  readonly tickCount: number;
  private readonly periodMs: number;
  private readonly replay: ReplayRow[] | undefined;

  constructor(
    readonly scenario: Scenario,
    readonly device: string,
    readonly board: Board,
    seed: number,
  ) {
    const start = scenario.start;
    this.periodMs = 1000 / board.hz;
    this.channels = board.channels.map((channel) => ({
      channel,
      params: signalParams(channel),
      seed: deriveSeed(seed, device, board.id, channel.name),
      anomalies: [],
      ...(channel.model === 'replay' ? { replay: readReplayCsv(channel.file!, scenario.baseDir) } : {}),
    }));
    this.replay = this.channels[0]?.replay;
    this.tickCount = this.replay ? this.replay.length : Infinity;
    board.anomalies.forEach((a, ai) => {
      for (let n = 0; n < a.count; n++) {
        for (const cp of this.channels) {
          if (a.channel !== undefined && a.channel !== cp.channel.name) continue;
          const s = start + a.at + n * (a.every ?? 0);
          const e = s + a.duration;
          const held = quantise(cp.params, cleanValue(cp.params, s, start));
          // The first occurrence keeps the seed it had before repeats existed (same output).
          const seed = n === 0 ? deriveSeed(cp.seed, 'anomaly', ai) : deriveSeed(cp.seed, 'anomaly', ai, n);
          cp.anomalies.push({ kind: a.kind, start: s, end: e, magnitude: a.magnitude ?? 0, seed, held });
          this.groundTruth.push({ device, sensor: cp.channel.name, kind: a.kind, start: s, end: e });
        }
      }
    });
  }

  /** Virtual time at which tick k is due (drives pacing and ordering). */
  scheduleAt(k: number): number {
    if (this.replay) {
      const first = this.replay[0]!.ts;
      return this.scenario.start + Math.round((this.replay[k]!.ts - first) / this.channels[0]!.channel.speed);
    }
    return this.scenario.start + Math.round(k * this.periodMs);
  }

  /** Event time of tick k: the schedule time, or the file's timestamp for replay. */
  eventTs(k: number): number {
    return this.replay ? this.replay[k]!.ts : this.scheduleAt(k);
  }

  /** First tick whose schedule time is at or after `t`. */
  firstTickAtOrAfter(t: number): number {
    if (this.replay) {
      let k = 0;
      while (k < this.tickCount && this.scheduleAt(k) < t) k++;
      return k;
    }
    let k = Math.max(0, Math.ceil(((t - this.scenario.start) * this.board.hz) / 1000) - 1);
    while (this.scheduleAt(k) < t) k++;
    return k;
  }

  /** What the board's own clock says at tick k (no RTC: may start at 1970 or jump back). */
  boardTs(k: number): number {
    const ts = this.eventTs(k);
    const start = this.scenario.start;
    const { bootAt1970, jumpBack, jumpAhead } = this.board.clock;
    if (bootAt1970 && ts < start + bootAt1970.syncAfter) return ts - start;
    if (jumpBack && ts >= start + jumpBack.at && ts < start + jumpBack.at + jumpBack.correctedAfter) return ts - jumpBack.by;
    if (jumpAhead && ts >= start + jumpAhead.at && ts < start + jumpAhead.at + jumpAhead.correctedAfter) return ts + jumpAhead.by;
    return ts;
  }

  /** Channel values at tick k, `null` where the channel is in a dropout. */
  values(k: number): (number | null)[] {
    const ts = this.eventTs(k);
    return this.channels.map((cp) => (cp.replay ? cp.replay[k]!.value : channelValue(cp, k, ts, this.scenario.start)));
  }

  /** The value as the board prints it (fixed decimals of the quantum; replay: the file's text). */
  format(ci: number, k: number, value: number): string {
    const cp = this.channels[ci]!;
    return cp.replay ? cp.replay[k]!.text : value.toFixed(cp.params.decimals);
  }
}

function channelValue(cp: ChannelPlan, k: number, ts: number, start: number): number | null {
  const p = cp.params;
  let v = cleanValue(p, ts, start) + p.noise * normalAt(cp.seed, k);
  for (const a of cp.anomalies) {
    if (ts < a.start || ts >= a.end) continue;
    switch (a.kind) {
      case 'dropout':
        return null;
      case 'stuck':
        return a.held;
      case 'spike':
      case 'level_shift':
        v += a.magnitude;
        break;
      case 'drift':
        v += (a.magnitude * (ts - a.start)) / (a.end - a.start);
        break;
      case 'noise_burst':
        v += a.magnitude * normalAt(a.seed, k);
        break;
    }
  }
  return quantise(p, v);
}

/** Compiles every board of a scenario, in file order. */
export function planScenario(scenario: Scenario, seed: number): BoardPlan[] {
  return scenario.devices.flatMap((d) => d.boards.map((b) => new BoardPlan(scenario, d.id, b, seed)));
}
