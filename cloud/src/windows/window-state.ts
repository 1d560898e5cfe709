/**
 * Window state as numbers, for checkpoints (issue 12): what a key of each window kind holds,
 * written so that a restored key computes bit for bit what the original would have (running sums
 * and queue positions are kept as they are, not recomputed). The writer and reader are structural:
 * the checkpoint codec (`StateWriter`/`StateReader`) fits them, and `windows/` imports nothing of
 * the detectors or the processor.
 */
import { WindowAggregate } from './aggregate.js';
import type { CountWindowsKey } from './count.js';
import type { SlidingKey } from './sliding.js';
import type { Pane, TimeWindowsKey } from './time-windows.js';

export interface StateOut {
  u8(x: number): unknown;
  u32(x: number): unknown;
  f64(x: number): unknown;
}

export interface StateIn {
  u8(what?: string): number;
  /** A count of items of at least `itemBytes` bytes each, refused when it cannot fit in what is left. */
  count(what: string, itemBytes: number): number;
  f64(what?: string): number;
}

/** Bytes of one aggregate (8 float64s). */
const AGG_BYTES = 64;

export function writeAggregate(w: StateOut, a: WindowAggregate): void {
  w.f64(a.count);
  w.f64(a.sum);
  w.f64(a.min);
  w.f64(a.max);
  w.f64(a.first);
  w.f64(a.firstTs);
  w.f64(a.last);
  w.f64(a.lastTs);
}

export function readAggregate(r: StateIn, into = new WindowAggregate()): WindowAggregate {
  into.count = r.f64('aggregate count');
  into.sum = r.f64('aggregate sum');
  into.min = r.f64('aggregate min');
  into.max = r.f64('aggregate max');
  into.first = r.f64('aggregate first');
  into.firstTs = r.f64('aggregate firstTs');
  into.last = r.f64('aggregate last');
  into.lastTs = r.f64('aggregate lastTs');
  return into;
}

/** Tumbling/hopping: the event time, the next due end and the open panes. */
export function writeTimeWindowsKey(w: StateOut, k: TimeWindowsKey): void {
  w.f64(k.time);
  w.f64(k.due);
  w.u32(k.panes.length);
  for (const p of k.panes) {
    w.f64(p.start);
    writeAggregate(w, p.agg);
  }
}

export function readTimeWindowsKey(r: StateIn): TimeWindowsKey {
  const time = r.f64('window time');
  const due = r.f64('window due');
  const n = r.count('window panes', 8 + AGG_BYTES);
  const panes: Pane[] = [];
  for (let i = 0; i < n; i++) panes.push({ start: r.f64('pane start'), agg: readAggregate(r) });
  return { panes, time, due };
}

function writeNumbers(w: StateOut, xs: readonly number[]): void {
  w.u32(xs.length);
  for (const x of xs) w.f64(x);
}

function readNumbers(r: StateIn, what: string): number[] {
  const n = r.count(what, 8);
  const xs = new Array<number>(n);
  for (let i = 0; i < n; i++) xs[i] = r.f64(what);
  return xs;
}

/** Sliding: the arrays whole, with their heads (compaction and the running sum then happen as they would have). */
export function writeSlidingKey(w: StateOut, k: SlidingKey): void {
  writeNumbers(w, k.ts);
  writeNumbers(w, k.v);
  w.f64(k.head);
  w.f64(k.sum);
  writeNumbers(w, k.minQ);
  writeNumbers(w, k.maxQ);
  w.f64(k.minHead);
  w.f64(k.maxHead);
}

export function readSlidingKey(r: StateIn): SlidingKey {
  const ts = readNumbers(r, 'sliding ts');
  const v = readNumbers(r, 'sliding values');
  const head = r.f64('sliding head');
  const sum = r.f64('sliding sum');
  const minQ = readNumbers(r, 'sliding minQ');
  const maxQ = readNumbers(r, 'sliding maxQ');
  const minHead = r.f64('sliding minHead');
  const maxHead = r.f64('sliding maxHead');
  const index = (i: number): boolean => Number.isSafeInteger(i) && i >= 0 && i < ts.length;
  // Indices point into the arrays, or the restored key would read past them.
  if (ts.length !== v.length || !(index(head) || head === ts.length) || ![...minQ, ...maxQ].every(index) || minHead > minQ.length || maxHead > maxQ.length) {
    throw new RangeError('sliding window state does not hold together (lengths or indices)');
  }
  return { ts, v, head, sum, minQ, maxQ, minHead, maxHead };
}

/** Count windows: the readings waiting for their place, how many were placed, the window being filled. */
export function writeCountKey(w: StateOut, k: CountWindowsKey): void {
  writeNumbers(w, k.pending);
  w.f64(k.placed);
  writeAggregate(w, k.current);
}

export function readCountKey(r: StateIn): CountWindowsKey {
  const pending = readNumbers(r, 'count pending');
  if (pending.length % 2 !== 0) throw new RangeError('count window state: pending is not (ts, value) pairs');
  return { pending, placed: r.f64('count placed'), current: readAggregate(r) };
}
