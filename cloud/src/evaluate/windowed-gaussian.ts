import { z } from 'zod';
import { getDetectorPlugin, registerDetector } from '../detectors/registry.js';
import { plainState } from '../detectors/state-codec.js';
import type { Detector } from '../detectors/types.js';

/**
 * The windowed-Gaussian baseline of the NAB paper (Lavin & Ahmad, 2015), as a detector plugin so
 * that `evaluate` runs it through the same pipeline as the real detectors: the mean and standard
 * deviation of a window of the last `window` readings, refreshed every `step` readings; the score
 * of a reading is the Gaussian probability of a value at most as high (upper tail, as NAB's);
 * its alert opens at `threshold`.
 * For comparison only: its state is `window` numbers, so it is registered by `evaluate`, never by
 * the processor.
 */
export const windowedGaussianParams = z
  .object({
    /** @default 6400 */
    window: z.number().int().min(2).default(6400),
    /** @default 100 */
    step: z.number().int().min(1).default(100),
    /** The alert opens at this score (1e-4 upper tail, about 3.7 σ). @default 0.9999 */
    threshold: z.number().min(0).max(1).default(0.9999),
  })
  .strict();

type Params = z.infer<typeof windowedGaussianParams>;
interface State {
  values: Float64Array;
  count: number;
  at: number;
  pending: number;
  mean: number;
  std: number;
}

/** Φ(z) by the Abramowitz–Stegun 7.1.26 erf approximation (|error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

function refresh(s: State): void {
  let sum = 0;
  for (let i = 0; i < s.count; i++) sum += s.values[i]!;
  const mean = sum / s.count;
  let sq = 0;
  for (let i = 0; i < s.count; i++) sq += (s.values[i]! - mean) ** 2;
  s.mean = mean;
  s.std = s.count > 1 ? Math.sqrt(sq / (s.count - 1)) : 0;
  if (s.std === 0) s.std = 1e-6;
}

function create(p: Params): Detector<State> {
  const init = (): State => ({ values: new Float64Array(p.window), count: 0, at: 0, pending: 0, mean: 0, std: 1e-6 });
  const fields = plainState('windowed-gaussian', 1, init, ['count', 'at', 'pending', 'mean', 'std']);
  return {
    init,
    snapshot(s, w) {
      fields.snapshot(s, w);
      w.f64s(s.values);
    },
    restore(r) {
      const s = fields.restore(r);
      r.f64s(s.values, 'windowed-gaussian.values');
      return s;
    },
    update(s, _ts, v) {
      const score = s.count > 0 ? normalCdf((v - s.mean) / s.std) : 0;
      // The window fills first; then it slides by `step` readings at a time.
      s.values[s.at] = v;
      s.at = (s.at + 1) % p.window;
      if (s.count < p.window) {
        s.count++;
        refresh(s);
      } else if (++s.pending === p.step) {
        s.pending = 0;
        refresh(s);
      }
      return { score, active: score >= p.threshold };
    },
    describe: (s, v) => `value ${v} against a window mean of ${s.mean.toPrecision(6)}`,
  };
}

/** Registers the baseline (once) for an evaluation run. */
export function registerWindowedGaussian(): void {
  if (!getDetectorPlugin('windowed-gaussian')) registerDetector({ type: 'windowed-gaussian', params: windowedGaussianParams, create });
}
