import { mergeAggregates, WindowAggregate } from './aggregate.js';
import type { EventTimeTrigger } from './event-time-trigger.js';
import type { HoppingAssigner } from './hopping.js';

/** Spare panes kept per window definition (see `TimeWindows.free`). */
const FREE_PANES = 64;

/** One pane's aggregate (a tumbling window of the hop). */
export interface Pane {
  start: number;
  agg: WindowAggregate;
}

/** Per key (device + sensor): the panes of windows not yet final, and the event time they were advanced to. */
export interface TimeWindowsKey {
  /** Sorted by start. */
  panes: Pane[];
  /** The device event time of the last `advance`: every window with data ending at or before it has been emitted. */
  time: number;
  /** End of the next window with data to emit (Infinity: none): `advance` before it only moves the time. */
  due: number;
}

/**
 * `late` is false for the on-time emission, true when a late reading re-emits a window. The
 * aggregate is only valid during the call (a hopping window's is a reused scratch merge).
 */
export type WindowEmit = (start: number, end: number, agg: WindowAggregate, late: boolean) => void;

/**
 * Event-time tumbling and hopping windows for keys that share a device clock: the assigner says
 * which panes and windows hold a reading, the trigger when a window is emitted and when it is
 * final. Pure: the same readings and device times in the same order give the same emissions, and
 * any order of readings within the allowed lateness gives the same final windows.
 */
export class TimeWindows {
  private readonly scratch = new WindowAggregate();
  /**
   * Panes of final windows, for the next new pane of any key: a sensor slower than the window
   * size (a 1 m rollup of a 5-minute sensor) opens and drops a pane per reading, and a pane made
   * anew each time is garbage for the collector (and an old-to-new pointer in the key). Bounded.
   */
  private readonly free: Pane[] = [];

  constructor(
    readonly assigner: HoppingAssigner,
    readonly trigger: EventTimeTrigger,
  ) {}

  static newKey(): TimeWindowsKey {
    return { panes: [], time: -Infinity, due: Infinity };
  }

  /**
   * Adds a reading; `deviceTime` is its device's event time before the reading's message (as for
   * sessions). Windows it updates that were already emitted are emitted again (`late`). Returns how
   * many of the windows holding `ts` were already final and so miss it: `size / hop` of them
   * means the reading is late for every window (side output).
   */
  add(key: TimeWindowsKey, ts: number, value: number, deviceTime: number, emit: WindowEmit): number {
    const a = this.assigner;
    if (a.span === 1) {
      // Tumbling (every rollup tier): one window, one pane.
      const start = a.paneOf(ts);
      const end = start + a.size;
      if (this.trigger.isFinal(end, deviceTime)) return 1;
      const panes = key.panes;
      const last = panes[panes.length - 1];
      const p = last !== undefined && last.start === start ? last : this.pane(key, start);
      p.agg.add(ts, value);
      if (end <= key.time) emit(start, end, p.agg, true);
      return 0;
    }
    const first = a.firstStartOf(ts);
    const paneStart = first + (a.span - 1) * a.hop;
    // Window s is final when s + size <= watermark; starts ascend, so the final ones come first
    // (none at all unless the oldest one, ending a hop after the pane's start, is).
    const wm = this.trigger.watermark(deviceTime);
    let missed = 0;
    if (paneStart + a.hop <= wm) {
      while (missed < a.span && first + missed * a.hop + a.size <= wm) missed++;
      if (missed === a.span) return missed;
    }
    const panes = key.panes;
    const last = panes[panes.length - 1];
    (last !== undefined && last.start === paneStart ? last : this.pane(key, paneStart)).agg.add(ts, value);
    // Emitted already (late): the windows holding it that ended by the key's time.
    if (paneStart + a.hop <= key.time) {
      for (let s = first + missed * a.hop; s <= paneStart; s += a.hop) {
        const end = s + a.size;
        if (end <= key.time) emit(s, end, this.aggregate(key, s), true);
      }
    }
    return missed;
  }

  /** Moves the key to its device's event time: emits the windows that came due (in start order), drops the final ones. */
  advance(key: TimeWindowsKey, deviceTime: number, emit: WindowEmit): void {
    const prev = key.time;
    if (!(deviceTime > prev)) return;
    key.time = deviceTime;
    const a = this.assigner;
    const panes = key.panes;
    // The common case, once per message and sensor: nothing due, nothing final.
    if (deviceTime < key.due && (panes.length === 0 || !this.trigger.isFinal(panes[0]!.start + a.size, deviceTime))) return;
    if (a.span === 1) {
      this.advanceTumbling(key, prev, deviceTime, emit);
      return;
    }
    // Due now: windows with prev < end <= deviceTime that hold at least one pane.
    const lastDue = deviceTime - a.size;
    const firstDue = prev === -Infinity ? -Infinity : a.paneOf(prev - a.size) + a.hop;
    let next = -Infinity;
    for (let i = 0; i < panes.length; i++) {
      const p = panes[i]!;
      let s = p.start - a.size + a.hop;
      if (s > lastDue) break;
      if (s < firstDue) s = firstDue;
      if (s < next) s = next;
      for (; s <= p.start && s <= lastDue; s += a.hop) emit(s, s + a.size, this.aggregate(key, s), false);
      next = s;
    }
    // A pane is dropped once the last window holding it (the one starting at it) is final.
    let drop = 0;
    while (drop < panes.length && this.trigger.isFinal(panes[drop]!.start + a.size, deviceTime)) drop++;
    this.dropFinal(panes, drop);
    key.due = Infinity;
    for (const p of panes) this.dueFor(key, p);
  }

  /** Drops the first `n` panes (final), keeping them as spares for new panes. */
  private dropFinal(panes: Pane[], n: number): void {
    if (n === 0) return;
    for (let i = 0; i < n && this.free.length < FREE_PANES; i++) this.free.push(panes[i]!);
    // The common cases without splice (~70 ns against ~15 for shift, measured): a tumbling key
    // drops its oldest pane as the next opens, or its only one.
    if (n === panes.length) panes.length = 0;
    else if (n === 1) panes.shift();
    else panes.splice(0, n);
  }

  /** `advance` for tumbling windows (every rollup tier): a window is its one pane. */
  private advanceTumbling(key: TimeWindowsKey, prev: number, deviceTime: number, emit: WindowEmit): void {
    const size = this.assigner.size;
    const panes = key.panes;
    let drop = 0;
    let due = Infinity;
    for (let i = 0; i < panes.length; i++) {
      const p = panes[i]!;
      const end = p.start + size;
      if (end > deviceTime) {
        // Sorted by start: the first pane not yet due is the next due.
        due = end;
        break;
      }
      if (end > prev) emit(p.start, end, p.agg, false);
      if (drop === i && this.trigger.isFinal(end, deviceTime)) drop++;
    }
    this.dropFinal(panes, drop);
    key.due = due;
  }

  /** Lowers `key.due` to the next end, after `key.time`, of a window holding pane `p` (none once all of them were emitted). */
  private dueFor(key: TimeWindowsKey, p: Pane): void {
    const a = this.assigner;
    let end = p.start + a.hop;
    // Ends are on the pane grid (starts are, and size is a multiple of the hop).
    if (end <= key.time) end = a.paneOf(key.time) + a.hop;
    if (end <= p.start + a.size && end < key.due) key.due = end;
  }

  /** Open windows' readings, for status and memory figures. */
  static readings(key: TimeWindowsKey): number {
    let n = 0;
    for (const p of key.panes) n += p.agg.count;
    return n;
  }

  private pane(key: TimeWindowsKey, start: number): Pane {
    const panes = key.panes;
    let i = panes.length;
    while (i > 0 && panes[i - 1]!.start > start) i--;
    if (i > 0 && panes[i - 1]!.start === start) return panes[i - 1]!;
    const spare = this.free.pop();
    const p: Pane = spare ?? { start, agg: new WindowAggregate() };
    if (spare) {
      spare.start = start;
      spare.agg.reset();
    }
    // A literal for the first pane: an array grown by push or splice reserves 16 slots, and most
    // keys (every rollup tier) hold one pane at a time.
    if (panes.length === 0) key.panes = [p];
    else if (i === panes.length) panes.push(p);
    else panes.splice(i, 0, p);
    this.dueFor(key, p);
    return p;
  }

  /** The window starting at `start`: its one pane (tumbling), or the merge of its panes. */
  private aggregate(key: TimeWindowsKey, start: number): WindowAggregate {
    const a = this.assigner;
    const end = start + a.size;
    const panes = key.panes;
    if (a.span === 1) {
      for (let i = panes.length - 1; i >= 0; i--) if (panes[i]!.start === start) return panes[i]!.agg;
      return this.scratch.reset();
    }
    const m = this.scratch.reset();
    for (const p of panes) if (p.start >= start && p.start < end) mergeAggregates(m, p.agg);
    return m;
  }
}
