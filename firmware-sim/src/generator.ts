import { planScenario, type GroundTruthRecord } from './plan.js';
import type { Scenario } from './scenario.js';

/** One reading as a sensor produced it (event time `ts`, epoch ms). */
export interface Sample {
  device: string;
  /** The channel name, used as the sensor id. */
  sensor: string;
  ts: number;
  value: number;
  unit: string;
}

export interface GenerateOptions {
  /** Same scenario + seed = same samples. */
  seed: number;
  /** Virtual start of the window (epoch ms, inclusive). @default scenario.start */
  from?: number;
  /** Virtual end of the window (epoch ms, exclusive). @default scenario.start + scenario.duration */
  until?: number;
}

/** The samples (iterate them: time order) and the ground truth of anomalies overlapping the window. */
export interface SampleRun extends Iterable<Sample> {
  groundTruth: GroundTruthRecord[];
}

/**
 * Pure generator, no ptys: every sample the scenario's boards would send in `[from, until)`, in
 * order of schedule time (ties: file order of boards, then channels), with dropouts left out.
 * Replay channels keep their file's timestamps as `ts` (their schedule time is the file time
 * relative to its first row, divided by `speed`, from the scenario start).
 *
 * ```ts
 * const run = generateSamples(loadScenario('greenhouse.yaml'), { seed: 1, until: start + 60_000 });
 * for (const s of run) publish(s);   // {device, sensor, ts, value, unit}
 * run.groundTruth;                   // [{device, sensor, kind, start, end}]
 * ```
 */
export function generateSamples(scenario: Scenario, opts: GenerateOptions): SampleRun {
  const from = opts.from ?? scenario.start;
  const until = opts.until ?? (scenario.duration !== undefined ? scenario.start + scenario.duration : undefined);
  if (until === undefined) throw new RangeError('generateSamples: give `until` (the scenario has no duration)');
  const plans = planScenario(scenario, opts.seed);
  const groundTruth = plans.flatMap((p) => p.groundTruth).filter((g) => g.end > from && g.start < until);
  function* iterate(): Generator<Sample> {
    const next = plans.map((p) => p.firstTickAtOrAfter(from));
    for (;;) {
      let best = -1;
      let bestAt = until!;
      plans.forEach((p, i) => {
        const k = next[i]!;
        if (k >= p.tickCount) return;
        const at = p.scheduleAt(k);
        if (at < bestAt) {
          best = i;
          bestAt = at;
        }
      });
      if (best < 0) return;
      const plan = plans[best]!;
      const k = next[best]!++;
      const ts = plan.eventTs(k);
      const values = plan.values(k);
      for (let ci = 0; ci < values.length; ci++) {
        const value = values[ci];
        if (value === null || value === undefined) continue;
        const cp = plan.channels[ci]!;
        yield { device: plan.device, sensor: cp.channel.name, ts, value, unit: cp.params.unit };
      }
    }
  }
  return { groundTruth, [Symbol.iterator]: iterate };
}
