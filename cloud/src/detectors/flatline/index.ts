import { z } from 'zod';
import { CAL_SLOTS, initCalibrator, learn, tailOf, type CalibratorOptions } from '../anomaly/calibrator.js';
import { registerDetector } from '../registry.js';
import { plainState } from '../state-codec.js';
import type { Detector } from '../types.js';

export const flatlineParams = z
  .object({
    /** A stuck run has at least this many readings… @default 10 */
    minReadings: z.number().int().min(2).max(1_000_000).default(10),
    /** …lasts at least this much event time (ms)… @default 0 */
    forMs: z.number().int().nonnegative().default(0),
    /** …and a run this long is rarer, for this sensor, than one in this many runs. @default 1000000 */
    rareRuns: z.number().int().min(10).max(1e12).default(1_000_000),
    /** Changes up to this are "no change". @default 0 */
    epsilon: z.number().nonnegative().default(0),
    /** Changes the sensor must have shown before it can be stuck (a sensor constant from the start is not). @default 10 */
    minChanges: z.number().int().min(1).default(10),
    /** Half-life of the run-length history, in runs. @default 1024 */
    memory: z.number().int().min(16).default(1024),
  })
  .strict();

type Params = z.infer<typeof flatlineParams>;

interface State {
  value: number;
  /** Event time and count of the current run of unchanged readings. */
  since: number;
  run: number;
  last: number;
  changes: number;
  active: boolean;
  /** Calibration of this sensor's run lengths (see anomaly/calibrator.ts). */
  cal: Float64Array;
}

/**
 * Stuck sensor: the value stopped changing for longer than this sensor's own runs make likely.
 * Run lengths (in readings, so the rule means the same at 10 Hz and at one reading an hour) are
 * calibrated like the anomaly detector's surprises: a noisy sensor, whose value almost never
 * repeats, is stuck after `minReadings`; one that repeats small integers or holds plateaus has a
 * long-tailed run length, and only a run far out in that tail is stuck. The score is 1 at the
 * reading where the run becomes stuck and 0 after it: the score marks the news, the open alert
 * (`active`) carries the episode.
 */
function create(p: Params): Detector<State> {
  const cal: CalibratorOptions = { memory: p.memory, thresholdSd: 2 };
  const init = (): State => {
    const s: State = { value: NaN, since: NaN, run: 0, last: NaN, changes: 0, active: false, cal: new Float64Array(CAL_SLOTS) };
    // Before any history: runs of one reading (a value that always changes).
    initCalibrator(s.cal, 0, 0, 0.05, 1);
    return s;
  };
  const fields = plainState('flatline', 1, init, ['value', 'since', 'run', 'last', 'changes', 'active']);
  // One result object, refilled per reading: the pipeline reads it before the next update.
  const result = { score: 0, active: false };
  return {
    init,
    snapshot(s, w) {
      fields.snapshot(s, w);
      w.f64s(s.cal);
    },
    restore(r) {
      const s = fields.restore(r);
      r.f64s(s.cal, 'flatline.cal');
      return s;
    },
    update(s, ts, v) {
      if (s.run === 0 || Math.abs(v - s.value) > p.epsilon) {
        if (s.run > 0) {
          s.changes++;
          learn(s.cal, 0, s.run - 1, cal);
        }
        s.value = v;
        s.since = ts;
        s.run = 1;
      } else s.run++;
      s.last = ts;
      const stuck = s.changes >= p.minChanges && s.run >= p.minReadings && ts - s.since >= p.forMs && (s.active || tailOf(s.cal, 0, s.run - 1, cal) * p.rareRuns < 1);
      const onset = stuck && !s.active;
      s.active = stuck;
      result.score = onset ? 1 : 0;
      result.active = stuck;
      return result;
    },
    describe: (s, v) => (s.active ? `value ${s.value} unchanged for ${s.run} readings (${s.last - s.since} ms), longer than this sensor holds still` : `value ${v} changing again`),
  };
}

registerDetector({ type: 'flatline', params: flatlineParams, create });
