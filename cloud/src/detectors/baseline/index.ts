import { z } from 'zod';
import { registerDetector } from '../registry.js';
import { ratioScore, type Detector } from '../types.js';

export const baselineParams = z
  .object({
    /** EWMA weight of a new reading. @default 0.05 */
    alpha: z.number().gt(0).lte(1).default(0.05),
    /** z-like score at which the rule fires. @default 4 */
    z: z.number().positive().default(4),
    /** Readings used to learn the baseline before scoring. @default 20 */
    warmup: z.number().int().min(1).default(20),
    /** Clears once z falls below z × (1 − hysteresis). @default 0.25 */
    hysteresis: z.number().min(0).lt(1).default(0.25),
    /** Floor of the robust spread, so a perfectly flat signal does not give infinite scores. @default 1e-6 */
    minSpread: z.number().positive().default(1e-6),
  })
  .strict();

type Params = z.infer<typeof baselineParams>;
interface State {
  n: number;
  mean: number;
  /** Exponentially weighted mean absolute deviation: a robust spread (≈ 0.8 σ for normal data). */
  mad: number;
  active: boolean;
}

// σ ≈ 1.2533 × mean absolute deviation for normally distributed data.
const MAD_TO_SIGMA = 1.2533;

function create(p: Params): Detector<State> {
  return {
    init: () => ({ n: 0, mean: 0, mad: 0, active: false }),
    update(s, _ts, v) {
      let score = 0;
      let z = 0;
      const sigma = Math.max(MAD_TO_SIGMA * s.mad, p.minSpread);
      if (s.n >= p.warmup) {
        z = Math.abs(v - s.mean) / sigma;
        s.active = s.active ? z >= p.z * (1 - p.hysteresis) : z >= p.z;
        score = ratioScore(z / p.z);
      }
      // Winsorize before learning, so an outlier cannot drag the baseline it is judged against.
      const limit = p.z * sigma;
      const x = s.n < p.warmup ? v : Math.min(s.mean + limit, Math.max(s.mean - limit, v));
      s.n++;
      const a = Math.max(p.alpha, 1 / s.n);
      s.mean += a * (x - s.mean);
      s.mad += a * (Math.abs(x - s.mean) - s.mad);
      return { score, active: s.active };
    },
    describe(s, v) {
      const z = Math.abs(v - s.mean) / Math.max(MAD_TO_SIGMA * s.mad, p.minSpread);
      return `value ${v} is ${z.toFixed(2)} robust sigmas from baseline ${s.mean.toPrecision(6)}`;
    },
  };
}

registerDetector({ type: 'baseline', params: baselineParams, create });
