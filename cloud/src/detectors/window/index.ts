import { z } from 'zod';
import { durationMs, formatDurationMs } from '../../units/duration.js';
import { WindowAggregate } from '../../windows/aggregate.js';
import { EventTimeTrigger } from '../../windows/event-time-trigger.js';
import { HoppingAssigner } from '../../windows/hopping.js';
import { SlidingWindows, type SlidingKey } from '../../windows/sliding.js';
import { TimeWindows, type TimeWindowsKey } from '../../windows/time-windows.js';
import { readSlidingKey, readTimeWindowsKey, writeSlidingKey, writeTimeWindowsKey, type StateIn, type StateOut } from '../../windows/window-state.js';
import { registerDetector } from '../registry.js';
import type { Detector, DetectorResult } from '../types.js';

export const AGGREGATES = ['mean', 'min', 'max', 'count', 'spread', 'rate'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

export const windowParams = z
  .object({
    /** `tumbling` (back to back), `hopping` (`size` every `hop`), `sliding` (the last `size`, judged at every reading). */
    window: z
      .object({
        kind: z.enum(['tumbling', 'hopping', 'sliding']),
        /** A duration: `5m`, `10s`, or ms. */
        size: durationMs,
        /** hopping only: how often a window starts; `size` must be a multiple of it. */
        hop: durationMs.optional(),
      })
      .strict(),
    /** What is judged: `spread` = max − min, `rate` = change of the value per second from the window's first reading to its last. */
    aggregate: z.enum(AGGREGATES),
    /** Fires when the aggregate goes above `above` or below `below`; clears once back inside by `hysteresis`. */
    condition: z
      .object({
        above: z.number().optional(),
        below: z.number().optional(),
        /** @default 0 */
        hysteresis: z.number().nonnegative().default(0),
      })
      .strict()
      .refine((c) => c.above !== undefined || c.below !== undefined, { message: 'needs above or below' }),
    /**
     * tumbling/hopping: how long after its end (in the sensor's event time) a window still takes an
     * out-of-order reading, and is judged again with it. @default 0
     */
    latenessMs: durationMs.default(0),
  })
  .strict()
  .superRefine((p, ctx) => {
    const w = p.window;
    if (!(w.size > 0)) ctx.addIssue({ code: 'custom', path: ['window', 'size'], message: 'must be more than 0' });
    if (w.kind === 'hopping') {
      if (w.hop === undefined) ctx.addIssue({ code: 'custom', path: ['window', 'hop'], message: 'required for a hopping window' });
      else if (!(w.hop > 0 && w.size % w.hop === 0)) ctx.addIssue({ code: 'custom', path: ['window', 'hop'], message: `must divide the size (${formatDurationMs(w.size)})` });
    } else if (w.hop !== undefined) ctx.addIssue({ code: 'custom', path: ['window', 'hop'], message: `only for a hopping window, not ${w.kind}` });
  });

type Params = z.infer<typeof windowParams>;

interface State {
  windows: TimeWindowsKey | SlidingKey;
  /** The sensor's newest event time. */
  time: number;
  active: boolean;
  /** Start of the last window judged (tumbling/hopping), to see windows that had no reading at all. */
  lastStart: number;
  /** The judgement the last result reported: its aggregate, window end and state (for the alert text). */
  value: number;
  end: number;
  reported: boolean;
}

/** The measure a window is judged by; NaN when the window cannot say (rate over one reading). */
function measure(a: Aggregate, agg: WindowAggregate): number {
  switch (a) {
    case 'mean':
      return agg.mean;
    case 'min':
      return agg.count ? agg.min : NaN;
    case 'max':
      return agg.count ? agg.max : NaN;
    case 'count':
      return agg.count;
    case 'spread':
      return agg.spread;
    case 'rate':
      return agg.rate;
  }
}

/** Version of the snapshot layout (the first byte). */
const STATE_VERSION = 1;

/**
 * Checkpoints (issue 12): the detector writes its state with the checkpoint codec, which fits
 * these structural types, and a restored state judges bit for bit what the original would have.
 */
export interface WindowDetector extends Detector<State> {
  snapshot(s: State, w: StateOut): void;
  restore(r: StateIn): State;
}

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(4).replace(/\.?0+$/, ''));

/**
 * A window rule (Kapacitor, eKuiper, Flink): an aggregate of a sensor's readings over a window
 * judged against a limit with hysteresis. Windows are those of `src/windows/`, on the sensor's
 * own event time: a tumbling or hopping window is judged once the sensor reports `latenessMs` past
 * its end (or falls silent), a sliding one at every reading. A window without any reading has
 * count 0, so "fewer than 50 readings a minute" fires on a gap too. Score: 0 on readings that
 * close no window; on a judgement, a logistic of the distance past the limit in units of the
 * hysteresis (or 10 % of the limit): 0.5 at the limit, near 0 well inside, at least 0.5 while
 * active. The alert starts and ends at window ends (`at`).
 */
function create(p: Params): WindowDetector {
  const w = p.window;
  const c = p.condition;
  const sliding = w.kind === 'sliding' ? new SlidingWindows(w.size) : undefined;
  const hop = w.kind === 'hopping' ? w.hop! : w.size;
  const timed = sliding ? undefined : new TimeWindows(new HoppingAssigner(w.size, hop), new EventTimeTrigger(p.latenessMs));
  const scaleOf = (limit: number): number => (c.hysteresis > 0 ? c.hysteresis : Math.max(Math.abs(limit) * 0.1, 1e-9));
  const scaleAbove = c.above === undefined ? 1 : scaleOf(c.above);
  const scaleBelow = c.below === undefined ? 1 : scaleOf(c.below);
  const label = `${formatDurationMs(w.size)}${w.kind === 'hopping' ? ` every ${formatDurationMs(hop)}` : ''} ${w.kind === 'sliding' ? 'sliding ' : ''}${p.aggregate}`;
  const scratch = new WindowAggregate();

  // Per update: the judgements made, folded into one result.
  let st: State;
  let judged = 0;
  let anyActive = false;
  let firstActiveAt = NaN;
  let firstActiveValue = NaN;
  let score = 0;
  let at = NaN;

  /** Distance past the limit in scale units (> 0 beyond it). */
  const distance = (x: number): number => Math.max(c.above === undefined ? -Infinity : (x - c.above) / scaleAbove, c.below === undefined ? -Infinity : (c.below - x) / scaleBelow);

  function judge(x: number, end: number): void {
    if (Number.isNaN(x)) return;
    const beyond = (c.above !== undefined && x > c.above) || (c.below !== undefined && x < c.below);
    const inside = (c.above === undefined || x <= c.above - c.hysteresis) && (c.below === undefined || x >= c.below + c.hysteresis);
    st.active = beyond || (st.active && !inside);
    const d = distance(x);
    const sc = 1 / (1 + Math.exp(-3 * d));
    const s = st.active ? Math.max(0.5, sc) : Math.min(0.49, sc);
    if (s > score) score = s;
    if (st.active && !anyActive) {
      anyActive = true;
      firstActiveAt = end;
      firstActiveValue = x;
    }
    judged++;
    at = end;
    st.value = x;
    st.end = end;
  }

  /** The first window after the last one judged holds no reading when it starts a hop later and ends by `before`: count 0. */
  const emptyWindow = (before: number): void => {
    const start = st.lastStart + hop;
    if (p.aggregate === 'count' && st.lastStart > -Infinity && start + w.size <= before) judge(0, start + w.size);
  };

  const onWindow = (start: number, end: number, agg: WindowAggregate): void => {
    // Windows are emitted one hop apart while readings come; a jump means windows with none.
    if (start > st.lastStart + hop) emptyWindow(start + w.size);
    if (start > st.lastStart) st.lastStart = start;
    judge(measure(p.aggregate, agg), end);
  };

  function begin(s: State): void {
    st = s;
    judged = 0;
    anyActive = false;
    firstActiveAt = NaN;
    score = 0;
    at = NaN;
  }

  function result(): DetectorResult {
    if (judged === 0) {
      st.reported = st.active;
      return { score: 0, active: st.active };
    }
    // Several windows judged at once (a jump in time): an episode among them opens its alert at
    // the end of its first window, even when a later one clears it already.
    if (anyActive) {
      st.value = firstActiveValue;
      st.end = firstActiveAt;
    }
    st.reported = anyActive || st.active;
    return { score, active: st.reported, at: anyActive ? firstActiveAt : at };
  }

  return {
    init: () => ({ windows: sliding ? SlidingWindows.newKey() : TimeWindows.newKey(), time: -Infinity, active: false, lastStart: -Infinity, value: NaN, end: NaN, reported: false }),
    update(s, ts, v) {
      begin(s);
      if (ts > s.time) s.time = ts;
      if (sliding) {
        sliding.add(s.windows as SlidingKey, ts, v);
        const agg = sliding.aggregate(s.windows as SlidingKey, scratch);
        judge(measure(p.aggregate, agg), agg.lastTs);
      } else {
        const k = s.windows as TimeWindowsKey;
        timed!.add(k, ts, v, s.time, onWindow);
        timed!.advance(k, s.time, onWindow);
      }
      return result();
    },
    onSilence(s, ts) {
      begin(s);
      if (sliding) {
        const agg = sliding.advanceTo(s.windows as SlidingKey, ts, scratch);
        judge(measure(p.aggregate, agg), ts);
      } else {
        timed!.advance(s.windows as TimeWindowsKey, ts, onWindow);
        emptyWindow(ts);
      }
      return result();
    },
    snapshot(s, out) {
      out.u8(STATE_VERSION);
      if (sliding) writeSlidingKey(out, s.windows as SlidingKey);
      else writeTimeWindowsKey(out, s.windows as TimeWindowsKey);
      for (const x of [s.time, s.lastStart, s.value, s.end]) out.f64(x);
      out.u8((s.active ? 1 : 0) | (s.reported ? 2 : 0));
    },
    restore(r) {
      const v = r.u8('window version');
      if (v !== STATE_VERSION) throw new RangeError(`window state version ${v} is unknown (this build writes ${STATE_VERSION})`);
      const windows = sliding ? readSlidingKey(r) : readTimeWindowsKey(r);
      const [time, lastStart, value, end] = [r.f64('window time'), r.f64('window lastStart'), r.f64('window value'), r.f64('window end')];
      const flags = r.u8('window flags');
      if (flags > 3) throw new RangeError(`window flags ${flags} are not active/reported bits`);
      return { windows, time, active: (flags & 1) !== 0, lastStart, value, end, reported: (flags & 2) !== 0 };
    },
    describe(s) {
      const limit = [c.above !== undefined ? `above ${c.above}` : '', c.below !== undefined ? `below ${c.below}` : ''].filter(Boolean).join(' or ');
      const when = Number.isNaN(s.end) ? '' : ` in the window ending ${new Date(s.end).toISOString()}`;
      return `${label} ${fmt(s.value)}${when} ${s.reported ? 'beyond' : 'back within'} limit (${limit})`;
    },
  };
}

registerDetector({ type: 'window', params: windowParams, create });
